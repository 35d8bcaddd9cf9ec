"""The README's examples run as written."""
import doctest
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def _python_blocks():
    text = open(README).read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_the_two_commands():
    text = open(README).read()
    assert "bash scripts/demo" in text and "bash scripts/test" in text
    assert "bash scripts/test" in open(os.path.join(os.path.dirname(README), ".ci", "run")).read()


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_blocks_run(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    block = _python_blocks()[index]
    if block.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block, {"gn": __import__("glassnet")},
                                                   "README", README, 0)
        result = doctest.DocTestRunner().run(test)
        assert result.failed == 0 and result.attempted >= 2
    else:
        exec(compile(block, f"README block {index}", "exec"), {})
