"""The course: the tour through the five lectures, as an HTML report (``run_tour``) or a
notebook (``write_notebook``), one small function per chapter (``chapters.py``), the words
of every language as data (``text/*.toml``, with one glossary)."""
from .notebook import write_notebook
from .tour import Tour, run_tour

__all__ = ["Tour", "run_tour", "write_notebook"]
