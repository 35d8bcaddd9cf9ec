"""Installed as users install it: build the wheel, install it into a fresh virtual
environment, and use it from there (every module imports; the CLI runs; the data ships)."""
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import glassnet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the sources (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("build")
    shutil.copytree(os.path.join(ROOT, "glassnet"), work / "glassnet",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), work / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-w", str(work / "dist"), str(work)])
    (path,) = (work / "dist").glob("glassnet-*.whl")
    return path


def test_the_wheel_holds_every_module_and_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    source = {os.path.relpath(os.path.join(folder, f), ROOT).replace(os.sep, "/")
              for folder, _, files in os.walk(os.path.dirname(glassnet.__file__))
              for f in files if f.endswith(".py") and "__pycache__" not in folder}
    assert source and source <= names, sorted(source - names)
    assert "glassnet/data/digits.csv.gz" in names
    assert {f"glassnet/explore/static/{f}" for f in ("index.html", "app.js", "style.css")} \
        <= names                                    # the explorer's page ships too
    assert {f"glassnet/course/text/{f}.toml" for f in ("en", "ko", "glossary")} <= names


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python, cli = venv / "bin" / "python", venv / "bin" / "glassnet"
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          str(wheel)])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = _run([str(cli), "summary", "4-8:relu-8:relu-3:softmax", "--batch", "1"],
               cwd=tmp_path, env=env)
    assert "139" in out and "Dense(8, relu)" in out
    check = ("import importlib, os, pkgutil, glassnet\n"
             "root = os.path.dirname(glassnet.__file__)\n"
             "assert root.startswith(os.environ['VENV']), root\n"
             "names = [m.name for m in pkgutil.walk_packages([root], 'glassnet.')]\n"
             "for name in names:\n"
             "    if name != 'glassnet.__main__': importlib.import_module(name)\n"
             "X, y = glassnet.datasets.load_digits()\n"
             "print(len(names), X.shape)\n")
    out = _run([str(python), "-c", check], cwd=tmp_path, env={**env, "VENV": str(venv)})
    count, shape = out.split(" ", 1)
    assert int(count) >= 30 and shape.strip() == "(1797, 64)"
    missing = subprocess.run([str(cli), "explore", "--no-browser", "--port", "0"],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert missing.returncode != 0                  # no server without the extra, and a
    assert "pip install 'glassnet[explore]'" in missing.stderr   # line that names it
