"""The package list in pyproject.toml names every subpackage, so `pip install .` (not editable) ships them all."""
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "act_pool").rglob("__init__.py")}
    assert found - listed == set(), "subpackages missing from [tool.setuptools] packages"
    assert "act_pool.scenarios" in listed
