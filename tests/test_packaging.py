"""The package list in pyproject.toml names every subpackage, so `pip install .` (not editable) ships them all."""
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "act_pool").rglob("__init__.py")}
    assert found - listed == set(), "subpackages missing from [tool.setuptools] packages"
    assert "act_pool.scenarios" in listed


def test_every_c_source_is_an_extension_of_setup_py():
    # setup.py names each compiled module's source; setuptools then builds it and ships it in the sdist.
    setup = (REPO / "setup.py").read_text()
    sources = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "act_pool").rglob("*.c"))
    assert sources == ["act_pool/solve/_mcf.c", "act_pool/solve/_walk.c"]
    for source in sources:
        module = source.removesuffix(".c").replace("/", ".")
        assert f'Extension("{module}", ["{source}"], optional=True)' in setup
