"""Documentation that must not drift: the API page, the README's two commands and its links."""
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))

import make_api  # noqa: E402


def test_api_reference_is_current():
    assert (REPO / "docs" / "api.md").read_text(encoding="utf-8") == make_api.build(), \
        "docs/api.md is stale: run python docs/make_api.py"


def test_readme_opens_with_the_two_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert block == ['python -m pip install . && act-pool run', 'python -m pip install ".[test]" && pytest']
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install . && cd" in ci and 'python -m pip install ".[test]" && pytest' in ci


def test_readme_links_resolve():
    text = (REPO / "README.md").read_text(encoding="utf-8") + (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)", text):
        path = REPO / target if target.startswith("docs/") else REPO / "docs" / target
        assert path.exists() or (REPO / target).exists(), target
