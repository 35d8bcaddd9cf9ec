"""The README's and the docs' examples run as written; the layout page names every
module."""
import doctest
import pathlib
import re

import pytest

import glassnet

ROOT = pathlib.Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _python_blocks():
    """(page, index, code) for every ```python block of the README and the docs."""
    return [(page.relative_to(ROOT).as_posix(), i, block) for page in PAGES
            for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(),
                                                 flags=re.S))]


def test_readme_has_the_two_commands_and_links_every_page():
    text = (ROOT / "README.md").read_text()
    assert "bash scripts/demo" in text and "bash scripts/test" in text
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in text, f"the README does not link docs/{page.name}"
    assert len(text.splitlines()) <= 230, "the README is read to the end: keep it short"


@pytest.mark.slow
@pytest.mark.parametrize("page, index, block", _python_blocks(),
                         ids=[f"{p}:{i}" for p, i, _ in _python_blocks()])
def test_python_blocks_run(page, index, block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if block.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block, {"gn": glassnet}, page, page, 0)
        result = doctest.DocTestRunner().run(test)
        assert result.failed == 0 and result.attempted >= 2
    else:
        exec(compile(block, f"{page} block {index}", "exec"), {})


def test_the_layout_page_names_every_module():
    text = (ROOT / "docs" / "layout.md").read_text()
    package = pathlib.Path(glassnet.__file__).parent
    missing = []
    for path in sorted(package.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py") and path.parent != package:
            continue
        relative = path.relative_to(package).as_posix()
        if path.parent == package:
            named = f"`{relative}`" in text
        else:                        # a subpackage's module: `sub/` with it, or sub/name.py
            named = f"`{relative}`" in text or (f"`{path.parent.name}/`" in text and
                                                 f"`{path.name}`" in text)
        if not named:
            missing.append(relative)
    assert not missing, f"docs/layout.md does not name: {', '.join(missing)}"
