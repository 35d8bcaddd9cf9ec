"""``glassnet tour --notebook``: the tour as a Jupyter notebook a learner runs top to
bottom and changes. Each chapter is a Markdown cell (its title, introduction and
lecture slides, from the language file) and a code cell: the body of the chapter's
function in ``chapters.py``, so the notebook runs exactly the tour's code and the
pictures are the library's calls, drawn when the cell runs."""
import inspect
import json
import textwrap

from ..lectures import check_language, slide, text
from . import chapters

NBFORMAT = 4


def _markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def _code(source):
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": source}


def chapter_code(chapter):
    """The body of a chapter function (its code, without the ``def`` line), dedented,
    with the line that names the chapter for ``tour``'s words first."""
    lines = inspect.getsource(chapter).splitlines()
    body = textwrap.dedent("\n".join(lines[1:])).strip()
    if body == "pass":
        body = ""
    return "\n".join([f"tour.begin({chapter.__name__!r})", body]).strip()


def imports():
    """The imports of chapters.py, as its first cell."""
    source = inspect.getsource(chapters)
    start = source.index("# --- imports")
    end = source.index("# --- end of imports")
    return "\n".join(source[start:end].splitlines()[1:]).strip()


def notebook(lang="en", quick=False, seed=0):
    """The notebook as a dict (nbformat 4)."""
    check_language(lang, "notebook")
    words = text(lang)
    cells = [_markdown(f"# {words['page']['title']}\n\n{words['notebook']['intro']}"),
             _code(imports() + "\nfrom glassnet.course import Tour\n\n"
                   f"tour = Tour(lang={lang!r}, quick={quick!r}, seed={seed!r}, "
                   "notebook=True)")]
    for chapter in chapters.CHAPTERS:
        chapter_words = words["chapters"][chapter.__name__]
        where = "\n".join(f"- {slide(key, lang)}" for key in chapter_words.get("slides", ()))
        cells.append(_markdown(f"## {chapter_words['title']}\n\n{chapter_words['intro']}"
                               + (f"\n\n{where}" if where else "")))
        code = chapter_code(chapter)
        if code != f"tour.begin({chapter.__name__!r})":
            cells.append(_code(code))
    return {"nbformat": NBFORMAT, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "language_info": {"name": "python"}}}


def write_notebook(path="tour.ipynb", lang="en", quick=False, seed=0):
    """Write the tour as a notebook to ``path``; returns the path."""
    book = notebook(lang, quick, seed)
    for k, cell in enumerate(book["cells"]):
        cell["id"] = f"cell-{k}"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(book, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return path
