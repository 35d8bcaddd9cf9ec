"""The code stays clean: pyflakes and pycodestyle errors (ruff's E, F, W rules) are
refused, at the README's line length of 100."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                             "--line-length", "100", "--select", "E,F,W",
                             "glassnet", "tests", "benchmarks", "scripts"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
