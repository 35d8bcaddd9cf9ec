"""``glassnet tour``: a newcomer's walk through the five lectures, in their order.

The tour is the chapters of ``chapters.py`` run one after another on a ``Tour``: each
chapter builds the lectures' models, prints their summaries and traces, trains small
networks (with progress bars) and draws pictures from the engine's own values. The
words come from the language files (``text/en.toml``, ``text/ko.toml``); the tour
prints them and writes one self-contained HTML report (``page.py``) whose sections
follow the slides. ``write_notebook`` (``notebook.py``) writes the same chapters as a
Jupyter notebook instead."""
import os
import sys
import time

from ..network.callbacks import ProgressBar
from ..lectures import check_language, fill, text
from ..viz.picture import require_hangul
from .page import Page


class Tour:
    """What a chapter works with: ``lang``, ``seed``, ``quick``, the words of the
    language, and the calls that show things -- ``say`` (a paragraph), ``log`` (a
    line printed while it runs), ``block`` (a report or preformatted text),
    ``equation``, ``show`` (a picture) and ``train`` (fit with a progress bar). Models a
    later chapter needs are kept as attributes (``tour.digits``, ...).

    In the HTML tour everything goes to the page and the terminal; in a notebook
    (``notebook=True``) it is displayed under the cell that made it."""

    def __init__(self, lang="en", quick=False, seed=0, out_dir=None, file=None,
                 notebook=False):
        self.lang, self.quick, self.seed = check_language(lang, "Tour"), quick, seed
        if lang == "ko":
            require_hangul("the Korean tour (lang='ko')")
        self.words, self.out_dir, self.notebook = text(lang), out_dir, notebook
        self.file = file or sys.stdout
        self.page = Page(lang)
        self.chapter_name = None

    # --- what the chapters call ---------------------------------------------------------
    def pick(self, full, quick):
        """``full`` (epochs, sizes), or ``quick`` for a smoke test or a fast notebook."""
        return quick if self.quick else full

    def words_for(self, key, **values):
        """A sentence of the current chapter (``[chapters.<name>]`` in the language file),
        its places filled with ``values``."""
        chapter = self.words["chapters"][self.chapter_name]
        return fill(chapter[key], values, f"chapter {self.chapter_name}, {key!r}")

    def say(self, key, **values):
        """A paragraph of the chapter, with numbers the chapter computed."""
        sentence = self.words_for(key, **values)
        self.echo(sentence)
        if self.notebook:
            _display_markdown(sentence)
        else:
            self.page.add("p", sentence)
        return sentence

    def log(self, key, **values):
        """A line printed while the tour runs (not part of the report)."""
        self.echo(self.words_for(key, **values))

    def block(self, shown, title_key=None):
        """A report of glassnet.inspect (in the tour's language) or preformatted text,
        under an optional heading of the chapter."""
        title = self.words_for(title_key) if title_key else None
        if hasattr(shown, "to_html"):
            self.echo((f"{title}:\n" if title else "") + shown.to_text(lang=self.lang))
        else:
            self.echo(shown)
        if self.notebook:
            from IPython.display import HTML, display
            display(HTML(self.page.render_block(title, shown)))
        else:
            self.page.add("block", (title, shown))

    def equation(self, name):
        """One of the lectures' equations (``EQUATIONS`` in page.py), drawn."""
        if self.notebook:
            from IPython.display import Math, display

            from .page import EQUATIONS
            display(Math(EQUATIONS[name].replace("$", "")))
        else:
            self.page.add("equation", name)

    def show(self, picture, name):
        """A picture of glassnet.viz: saved as ``name``.png (and ``name``.gif for an
        animation) and put on the page, its caption from the language file where it has
        one (``[captions.<name>]``, numbers read from the picture's own data)."""
        from .captions import caption
        picture.caption = caption(name, picture, self.words) or picture.caption
        animated = bool(picture.frames)
        if self.notebook:
            from IPython.display import display
            display(picture)
            _display_markdown(f"**{picture.title}.** {picture.caption}")
            return picture
        if self.out_dir:
            for kind in ("png", "gif") if animated else ("png",):
                path = picture.save(os.path.join(self.out_dir, f"{name}.{kind}"))
                self.echo(f"  {self.words['page']['picture']}: {path}")
        self.page.add("picture", picture)
        return picture

    def train(self, model, X, y, epochs, every=1, **fit):
        """``model.fit`` with a progress bar printing every ``every``-th epoch (the tour's
        long runs of tiny epochs would otherwise print hundreds of lines)."""
        bar = ProgressBar(file=self.file, every=every)
        return model.fit(X, y, epochs=epochs, batch_size=32, verbose=0,
                         callbacks=[bar] + fit.pop("callbacks", []), **fit)

    # --- how the tour runs ----------------------------------------------------------------
    def begin(self, name):
        """Start the chapter ``name``: its title and introduction from the language file."""
        self.chapter_name = name
        if self.notebook:                  # the notebook's Markdown cell says it
            return
        words = self.words["chapters"][name]
        self.echo(f"\n{words['title']}\n{'-' * len(words['title'])}")
        self.echo(words["intro"])
        self.page.section(words["title"], words["intro"], words.get("slides", ()))

    def echo(self, line):
        print(line, file=self.file, flush=True)


def _display_markdown(sentence):
    from IPython.display import Markdown, display
    display(Markdown(sentence))


def run_tour(out_dir="glassnet-tour", quick=False, seed=0, file=None, lang="en"):
    """Run the whole tour; returns the path of the HTML report. ``quick`` trains for
    fewer epochs (a smoke test); every random choice follows ``seed``; ``lang`` is "en"
    (English) or "ko" (Korean)."""
    from .chapters import CHAPTERS
    check_language(lang, "run_tour")
    if lang == "ko":
        require_hangul("run_tour(lang='ko')")
    start = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    tour = Tour(lang, quick, seed, out_dir, file)
    tour.echo(tour.words["page"]["title"])
    for chapter in CHAPTERS:
        tour.begin(chapter.__name__)
        chapter(tour)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(tour.page.html())
    tour.echo(fill(tour.words["page"]["done"], {
        "seconds": time.perf_counter() - start, "path": os.path.abspath(path)}))
    return path
