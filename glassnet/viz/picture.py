"""A picture: a matplotlib figure (or animation frames) that knows how it was made.

Matplotlib lives only in glassnet.viz; figures use the Agg canvas directly (no pyplot
state, no display needed)."""
import base64
import functools
import html
import io
import os

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..layers.activations import softmax
from ..errors import MissingFontError
from ..lectures import check_language

CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


DPI = 100          # pictures are at most 11 inches wide: 1,100 pixels, the report's width
TITLE, TEXT = 10, 9          # points: 14 and 12.5 pixels at 100 dpi, never smaller
HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "NanumBarunGothic",
                "Noto Sans CJK JP", "UnDotum", "Baekmuk Gulim")


def new_figure(width, height):
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


@functools.cache
def hangul_font():
    """The family name of an installed font with Hangul (registered with matplotlib), or
    None. Debian's fonts-nanum or fonts-noto-cjk provide one."""
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        name = os.path.basename(path).lower()
        hangul = ("nanum" in name or "cjk" in name or "notosanskr" in name
                  or "undotum" in name)
        if hangul and path not in known:              # every file of the family
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    families = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in HANGUL_FONTS if family in families), None)


def require_hangul(where):
    """Refuse to draw Korean text that would come out as empty boxes."""
    if hangul_font() is None:
        raise MissingFontError(f"{where}: drawing Korean text needs a font with Hangul, and "
                               f"none is installed. Install one (Debian/Ubuntu: sudo apt-get "
                               f"install fonts-nanum; elsewhere Noto Sans CJK), or use "
                               f"lang='en'.")


def drawn(function):
    """A picture function whose text falls back to a Hangul font for Korean letters
    (matplotlib's font fallback, set for this picture only: no global state changes).
    Checks ``lang`` and refuses Korean without a Hangul font."""
    @functools.wraps(function)
    def draw(*args, **kwargs):
        lang = kwargs.get("lang", "en")
        check_language(lang, function.__name__)
        if lang == "ko":
            require_hangul(function.__name__)
        font = hangul_font()
        families = ["DejaVu Sans"] + ([font] if font else [])
        with matplotlib.rc_context({"font.family": families, "font.size": TEXT,
                                    "axes.titlesize": TITLE, "legend.fontsize": TEXT,
                                    "xtick.labelsize": TEXT, "ytick.labelsize": TEXT}):
            return function(*args, **kwargs)
    return draw


def probabilities(out, activation):
    """Outputs of a final layer with this activation as class probabilities: softmax
    outputs as they are, one sigmoid unit as [1 - p, p], linear scores through softmax."""
    if out.shape[1] == 1:
        p = out if activation == "sigmoid" else 1 / (1 + np.exp(-out))
        return np.c_[1 - p, p]
    return out if activation == "softmax" else softmax(out)


def model_probabilities(model):
    """A function from points to the model's class probabilities (see ``probabilities``)."""
    activation = model.output_layer.output_activation or "linear"
    return lambda X: probabilities(model.predict(X, batch_size=4096, verbose=0), activation)


def confidence_image(predict, xlim, ylim, resolution=80):
    """An RGB image of the plane coloured by the predicted class, fading to white where the
    prediction is less sure: ``predict`` maps (N, 2) points to (N, classes) probabilities."""
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    P = predict(np.c_[gx.ravel(), gy.ravel()])
    label, confidence = P.argmax(axis=1), P.max(axis=1)[:, None]
    colours = np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in CLASS_COLOURS])
    image = colours[label % 10] * confidence + (1 - confidence)
    return image.reshape(resolution, resolution, 3)


def rgb(figure):
    """The rendered pixels of a figure, (height, width, 3) uint8."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


class Picture:
    """A finished picture: ``figure`` (matplotlib), ``panels`` (how many plots it holds),
    ``frames`` (RGB arrays, for animations), ``data`` (the numbers drawn), ``caption``."""

    def __init__(self, title, figure=None, panels=1, frames=None, data=None, caption="",
                 slide=None, frame_ms=120):
        self.title, self.figure, self.panels = title, figure, panels
        self.frames, self.data, self.caption = frames or [], data or {}, caption
        self.slide, self.frame_ms = slide, frame_ms

    def pixels(self):
        """The rendered RGB pixels (rendered once: constrained layout moves on redraws)."""
        if self.figure is None:
            return self.frames[0]
        if getattr(self, "_pixels", None) is None:
            self._pixels = rgb(self.figure)
        return self._pixels

    def png(self):
        """PNG bytes of the rendered pixels: the figure, or an animation's last frame
        (encoded once; a figure is drawn once)."""
        if getattr(self, "_png", None) is None:
            from PIL import Image
            buffer = io.BytesIO()
            Image.fromarray(self.frames[-1] if self.figure is None else self.pixels()).save(
                buffer, format="PNG")
            self._png = buffer.getvalue()
        return self._png

    def gif(self, duration_ms=None):
        """The frames as a looping GIF, ``duration_ms`` (default ``frame_ms``) each; the
        last frame stays four times as long, so the loop's end can be read."""
        from PIL import Image
        each = duration_ms or self.frame_ms
        if getattr(self, "_gif", (None, None))[0] != each:
            images = [Image.fromarray(frame) for frame in self.frames]
            buffer = io.BytesIO()
            images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                           duration=[each] * (len(images) - 1) + [4 * each], loop=0)
            self._gif = (each, buffer.getvalue())
        return self._gif[1]

    def save(self, path):
        """Write the picture: .png (a figure, or an animation's last frame), .svg or .pdf
        (a figure, as vectors) or .gif (an animation)."""
        suffix = os.path.splitext(str(path))[1].lower()
        if suffix == ".gif" and not self.frames:
            raise ValueError(f"Picture.save: {self.title!r} has no animation frames, so it "
                             f"cannot be a .gif; save it as .png, .svg or .pdf.")
        if suffix in (".svg", ".pdf") and self.figure is None:
            raise ValueError(f"Picture.save: {self.title!r} is an animation, so it has no "
                             f"vector form; save it as .gif (or .png for its last frame).")
        if suffix not in (".png", ".gif", ".svg", ".pdf"):
            raise ValueError(f"Picture.save: cannot write {suffix or 'a file without a suffix'}"
                             f" ({path}); use .png, .svg, .pdf or, for animations, .gif.")
        from ..files import open_for_writing
        data = {".gif": self.gif, ".png": self.png}.get(suffix, lambda: None)()
        with open_for_writing(path, "Picture.save", binary=True) as f:   # a regular file only
            if data is None:
                self.figure.savefig(f, format=suffix[1:], metadata={"Creator": None}
                                    if suffix == ".svg" else {"Creator": None,
                                                              "Producer": None})
            else:
                f.write(data)
        return path

    def data_uri(self, animated=None):
        """The picture inline: the animation (GIF) if it has frames and no figure, or
        if ``animated``; else the figure (PNG)."""
        animated = self.figure is None if animated is None else animated
        kind, data = ("gif", self.gif()) if animated else ("png", self.png())
        return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")

    def _repr_png_(self):
        return self.png()

    def _repr_html_(self):
        """Jupyter plays an animation as a GIF; figures fall back to PNG (None here)."""
        if self.figure is not None:
            return None
        return f'<img alt="{html.escape(self.title)}" src="{self.data_uri()}">'

    def __repr__(self):
        kind = f"{len(self.frames)} frames" if self.figure is None else f"{self.panels} panels"
        return f"Picture({self.title!r}, {kind})"
