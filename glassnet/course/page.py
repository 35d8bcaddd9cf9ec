"""The tour's HTML page: one self-contained file (pictures embedded, equations drawn by
matplotlib's mathtext) that reads on a phone and on a desktop -- long lines wrap, tables
and pictures fit the column, a note repeated by several reports is printed once, and an
animation plays once on the page with its still frame for readers who prefer no
motion."""
import base64
import html
import io

from ..inspect.report import Report, Section
from ..lectures import slide, text
from ..viz.picture import drawn, new_figure

EQUATIONS = {
    "affine": r"$y = x\,W + b,\quad x \in \mathbb{R}^{1 \times I},\ W \in \mathbb{R}^{I "
              r"\times O};\quad z = W^{T} x + b$",
    "batch": r"$Y = f(X W + b):\ (B, I) \times (I, O) = (B, O)$",
    "chain": r"$h_1 = f(x W_1 + b_1),\ h_2 = f(h_1 W_2 + b_2),\ y = g(h_2 W_3 + b_3)$",
    "softmax": r"$y_j = e^{z_j - \max z} / \sum_k e^{z_k - \max z}$",
    "backprop": r"$dW = X^T dZ,\quad db = \sum_{batch} dZ,\quad dX = dZ\, W^T$",
    "bias": r"$y = f(w x + b),\quad x = -b / w$",
    "losses": r"$MSE = (1-p)^2,\ \ CE = -\log p,\ \ FL = -\alpha (1-p)^\gamma \log p$",
    "sgd": r"$W \leftarrow W - \eta\, \partial L / \partial W$",
    "rnn": r"$h_t = \tanh(x_t W + h_{t-1} U + b)$",
    "attention": r"$A = softmax(Q K^T / \sqrt{d_k}),\quad out = A V$",
}


@drawn
def render_equation(tex, lang="en"):
    """An equation drawn by matplotlib's mathtext, as a PNG data URI (works offline)."""
    figure = new_figure(7.5, 0.5)
    figure.text(0.01, 0.5, tex, fontsize=14, va="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None}, bbox_inches="tight",
                   pad_inches=0.04)                   # as wide as the equation, no wider
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


STYLE = """
body{font-family:system-ui,"Noto Sans KR","NanumGothic",sans-serif;max-width:1000px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.6;font-size:16px}
h1{font-size:1.6em;line-height:1.3} h2{border-bottom:1px solid #ccc;margin-top:2em}
pre,.glassnet-report pre{background:#f6f6f6;padding:.6em;font-size:13px;
white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%;box-sizing:border-box}
.glassnet-report{font-size:13px;max-width:100%}
.glassnet-report table{width:100%;table-layout:auto;border-collapse:collapse}
.glassnet-report th,.glassnet-report td{padding:2px 6px!important;overflow-wrap:anywhere;
vertical-align:top}
figure{margin:1.2em 0} figure img{max-width:100%;height:auto;display:block}
figcaption{color:#333;font-size:15px;margin-top:.4em}
.slide{display:block;color:#666;font-size:13px;margin-top:.2em}
img.equation{max-width:100%;height:auto}
details{margin:.4em 0} summary{cursor:pointer;color:#444}
dl.glossary{display:grid;grid-template-columns:auto 1fr;gap:.1em 1em}
dl.glossary dd{margin:0;overflow-wrap:anywhere}
ul.toc{list-style:none;padding-left:1em}
@media (max-width:700px){body{font-size:15px;padding:0 .6em} pre{font-size:12px}
.glassnet-report thead{display:none}
.glassnet-report tr{display:block;border-top:1px solid #ddd;padding:3px 0}
.glassnet-report td{display:inline-block;padding:0 10px 0 0!important;text-align:left!important}
.glassnet-report td::before{content:attr(data-label) ": ";color:#777}
.glassnet-report td:empty{display:none}}
"""


class Page:
    """The sections of the tour as they are added, rendered by ``html()``."""

    def __init__(self, lang):
        self.lang, self.words = lang, text(lang)["page"]
        self.sections, self.seen = [], set()

    def section(self, title, intro, slides=()):
        self.sections.append({"title": title, "parts": [("p", intro)], "slides": slides})

    def add(self, kind, value):
        self.sections[-1]["parts"].append((kind, value))

    # --- parts ----------------------------------------------------------------------------
    def render_block(self, title, shown):
        """A report in the page's language, each note that an earlier report already
        printed left out (how MACs are counted, the units, the shape law), or text."""
        heading = f"<h3>{html.escape(title)}</h3>" if title else ""
        if not isinstance(shown, Report):
            return f"{heading}<pre>{html.escape(str(shown))}</pre>"
        sections = []
        for section in shown.sections:
            lines = [line for line in section.lines if line not in self.seen]
            self.seen.update(section.lines)
            sections.append(Section(section.title, section.columns, section.rows, lines,
                                    section.align))
        return heading + Report(shown.title, sections, shown.data).to_html(lang=self.lang)

    def _picture(self, picture):
        """A figure, or an animation once: the GIF, with its last frame as the still for
        readers who ask for reduced motion (and for print)."""
        title, caption = html.escape(picture.title), html.escape(picture.caption)
        where = html.escape(slide(picture.slide, self.lang)) if picture.slide else ""
        still = picture.data_uri(animated=False)
        if picture.frames:
            image = (f'<picture><source media="(prefers-reduced-motion: no-preference)" '
                     f'srcset="{picture.data_uri(animated=True)}"><img alt="{title}" '
                     f'src="{still}"></picture>')
        else:
            image = f'<img alt="{title}" src="{still}">'
        return (f'<figure>{image}<figcaption><b>{title}.</b> {caption}'
                f'<span class="slide">{where}</span></figcaption></figure>')

    def _glossary(self):
        from ..lectures import glossary
        other = "en" if self.lang == "ko" else "ko"
        rows = "".join(f"<dt>{html.escape(entry[self.lang])}</dt><dd lang=\"{other}\">"
                       f"{html.escape(entry[other])}</dd>" for entry in glossary())
        return f'<details><summary>{html.escape(self.words["glossary"])}</summary>' \
               f'<dl class="glossary">{rows}</dl></details>'

    # --- the page -------------------------------------------------------------------------
    def html(self):
        title = self.words["title"]
        out = ["<!DOCTYPE html>", f'<html lang="{self.lang}"><head><meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width, initial-scale=1">',
               f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
               f"<h1>{html.escape(title)}</h1>",
               '<nav><ul class="toc">' + "".join(
                   f'<li><a href="#s{k}">{html.escape(s["title"])}</a></li>'
                   for k, s in enumerate(self.sections)) + "</ul></nav>",
               self._glossary()]
        for k, section in enumerate(self.sections):
            out.append(f'<section id="s{k}"><h2>{html.escape(section["title"])}</h2>')
            for kind, value in section["parts"]:
                if kind == "p":
                    out.append(f"<p>{html.escape(value)}</p>")
                elif kind == "block":
                    out.append(self.render_block(*value))
                elif kind == "equation":
                    out.append(f'<p><img class="equation" alt="{html.escape(EQUATIONS[value])}" '
                               f'src="{render_equation(EQUATIONS[value], lang=self.lang)}"></p>')
                elif kind == "picture":
                    out.append(self._picture(value))
            for key in section["slides"]:
                out.append(f'<p class="slide">{html.escape(slide(key, self.lang))}</p>')
            out.append("</section>")
        out.append("</body></html>")
        return "\n".join(out)
