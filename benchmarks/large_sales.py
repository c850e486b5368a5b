"""A large sales table for timing input validation: the national scenario's rows, copied.

Each copy renames the manufacturers (``M000-01`` becomes ``M000-01-c07`` in copy 7), so the copies
are distinct rows and the duplicate-row check does real work. 33 copies of the 8x national scenario
make a sales file of about 200 MB (6.9 million rows).

Usage::

    python benchmarks/national.py --scale 8 --out /tmp/national-8x
    python benchmarks/large_sales.py /tmp/national-8x --copies 33 --out /tmp/sales-200mb
    /usr/bin/time -v act-pool validate /tmp/sales-200mb/scenario.toml
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def write_copies(source: Path, copies: int, out: Path) -> Path:
    """Write ``out``/sales.csv (``copies`` renamed copies of the source's rows), the source's bank and
    scenario files beside it; return the scenario path."""
    out.mkdir(parents=True, exist_ok=True)
    lines = (source / "sales.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    with open(out / "sales.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        for c in range(copies):
            suffix = f"-c{c:02d}"
            fh.write("".join(f"{m}{suffix},{rest}\n" for m, rest in (r.split(",", 1) for r in rows)))
    for name in ("scenario.toml", "bank.csv"):
        if (source / name).exists():
            shutil.copy(source / name, out / name)
    return out / "scenario.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a folder written by benchmarks/national.py")
    parser.add_argument("--copies", type=int, default=33)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    path = write_copies(args.source, args.copies, args.out)
    print(f"wrote {path} ({(args.out / 'sales.csv').stat().st_size / 1e6:.0f} MB of sales)")


if __name__ == "__main__":
    main()
