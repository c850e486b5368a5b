"""Seeded Monte Carlo of sales: ZEV and NZEV counts scaled by a mean-one lognormal factor.

Sample ``s`` of a sweep with seed ``k`` draws from ``numpy.random.default_rng(SeedSequence([k, s]))``,
so a sample is the same whichever worker computes it, in whatever order, and every grid point
sees the same samples (common random numbers: differences between grid points are the rules',
not the noise's).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from act_pool.sweep.spec import MonteCarlo

#: The columns whose vehicles form one total the sampling keeps (a row group).
GROUP_COLUMNS = ["manufacturer", "state", "model_year", "weight_class"]
_DRAW_KEYS = {"none": ["manufacturer", "state", "model_year", "weight_class", "powertrain", "aer_miles"],
              "manufacturer": ["manufacturer", "model_year"],
              "market": ["model_year"]}


def sales_factors(sales: pd.DataFrame, mc: MonteCarlo, sample: int) -> np.ndarray:
    """The factor each sales row's vehicles are multiplied by (1.0 for ICE rows).

    The factor is ``exp(sigma * z - sigma**2 / 2)`` with ``z`` standard normal, so its mean is 1:
    sales come in at plan on average. One ``z`` per key of ``mc.correlation`` (per sales row, per
    manufacturer and model year, or per model year), drawn in the keys' sorted order.
    """
    electric = sales["powertrain"].isin(["ZEV", "NZEV"]).to_numpy()
    columns = _DRAW_KEYS[mc.correlation]
    keys = sales.loc[electric, columns].astype(str)
    codes = keys.groupby(columns, sort=True, dropna=False).ngroup().to_numpy()
    rng = np.random.default_rng(np.random.SeedSequence([mc.seed, sample]))
    z = rng.standard_normal(int(codes.max()) + 1 if len(codes) else 0)
    sigma = float(mc.zev_sales_sigma)
    factors = np.ones(len(sales))
    factors[electric] = np.exp(sigma * z[codes] - sigma * sigma / 2)
    return factors


def sample_sales(sales: pd.DataFrame, mc: MonteCarlo, sample: int) -> pd.DataFrame:
    """One Monte Carlo sample of a scenario's sales table (columns of sales.csv).

    ZEV and NZEV vehicles are multiplied by :func:`sales_factors` and rounded half up to whole
    vehicles. Each row group (manufacturer x state x model year x weight class) keeps its total:
    the ICE row takes the rest (one is added where the group had none). Where the sampled ZEVs and
    NZEVs exceed the total, they are scaled down to it (rounded down), so ICE is never negative.
    """
    out = sales.copy()
    electric = out["powertrain"].isin(["ZEV", "NZEV"])
    scaled = np.floor(out["vehicles"].to_numpy() * sales_factors(out, mc, sample) + 0.5).astype(np.int64)
    out["vehicles"] = np.where(electric, scaled, out["vehicles"])
    total = sales.groupby(GROUP_COLUMNS, sort=False)["vehicles"].transform("sum")
    ev_total = _electric_total(out, electric)
    over = electric & (ev_total > total)
    out.loc[over, "vehicles"] = (out.loc[over, "vehicles"] * total[over]) // ev_total[over]
    ev_total = _electric_total(out, electric)
    rest = (total - ev_total).astype(np.int64)
    ice = out["powertrain"] == "ICE"
    out.loc[ice, "vehicles"] = rest[ice]
    has_ice = ice.groupby([out[c] for c in GROUP_COLUMNS], sort=False).transform("any")
    missing = out.loc[~has_ice, GROUP_COLUMNS].assign(rest=rest[~has_ice]).drop_duplicates(GROUP_COLUMNS)
    missing = missing[missing["rest"] > 0]
    added = missing.rename(columns={"rest": "vehicles"}).assign(powertrain="ICE", aer_miles=None)
    return pd.concat([out, added[out.columns]], ignore_index=True) if len(added) else out


def _electric_total(sales: pd.DataFrame, electric: pd.Series) -> pd.Series:
    """ZEV plus NZEV vehicles of each row's group, on every row."""
    ev = sales.assign(ev=sales["vehicles"].where(electric, 0))
    return ev.groupby(GROUP_COLUMNS, sort=False)["ev"].transform("sum")
