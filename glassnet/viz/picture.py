"""A picture: a matplotlib figure (or animation frames) that knows how it was made.

Matplotlib lives only in glassnet.viz; figures use the Agg canvas directly (no pyplot
state, no display needed)."""
import base64
import html
import io
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..activations import softmax

CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def new_figure(width, height):
    figure = Figure(figsize=(width, height), dpi=80, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


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

    def __init__(self, title, figure=None, panels=1, frames=None, data=None, caption=""):
        self.title, self.figure, self.panels = title, figure, panels
        self.frames, self.data, self.caption = frames or [], data or {}, caption

    def pixels(self):
        """The rendered RGB pixels (rendered once: constrained layout moves on redraws)."""
        if self.figure is None:
            return self.frames[0]
        if getattr(self, "_pixels", None) is None:
            self._pixels = rgb(self.figure)
        return self._pixels

    def png(self):
        """PNG bytes: the figure, or an animation's last frame."""
        buffer = io.BytesIO()
        if self.figure is None:
            from PIL import Image
            Image.fromarray(self.frames[-1]).save(buffer, format="PNG")
        else:
            self.figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()

    def gif(self, duration_ms=120):
        from PIL import Image
        images = [Image.fromarray(frame) for frame in self.frames]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                       duration=duration_ms, loop=0)
        return buffer.getvalue()

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
        if suffix in (".svg", ".pdf"):
            self.figure.savefig(path, format=suffix[1:], metadata={"Creator": None}
                                if suffix == ".svg" else {"Creator": None, "Producer": None})
            return path
        data = self.gif() if suffix == ".gif" else self.png()
        with open(path, "wb") as f:
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
