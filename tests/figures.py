"""Reading a picture by its artists (matplotlib), the checks every picture and every
frame of every animation must pass:

- each legend entry names a drawn artist of its kind, with something inside the axes;
- no legend or text covers the data of its axes (lines, points, bars), and no two
  texts overlap (texts on diagrams, whose axes are off, may sit on their edges);
- a colour scale to be read (a colour-mapped image or mesh) has a colour bar with
  its colour map and limits (greyscale pixels are photographs, not scales);
- points drawn in a plot span at least a third of its axes in each direction in
  which they vary (the axes frame their data: no blob, no speck);
- in Korean, every text is Korean: no English word outside the code identifiers and
  units in ``LATIN``;
- every number of a caption or title is one of the values the picture holds in
  ``Picture.data`` (or a structural constant the test names).

``checked_drawings`` runs the figure checks on every figure as matplotlib renders it
(``FigureCanvasAgg.draw``), so each frame of an animation is read while it is drawn."""
import contextlib
import re

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.container import BarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

GREY = {"gray", "gray_r", "Greys", "Greys_r", "binary", "binary_r"}
LATIN = {   # words that stay in Latin letters in Korean text: code, layer names, units
    "Dense", "Conv2D", "Conv", "ReLU", "relu", "tanh", "sigmoid", "softmax", "SGD", "Adam",
    "RMSprop", "Momentum", "MSE", "PCA", "det", "Keras", "NumPy", "Python", "MLP", "CNN",
    "VGG", "input_dim", "He", "Xavier", "lr", "log", "Dropout", "Flatten", "MaxPool2D",
    "BatchNorm", "fit", "dropout", "L2", "max", "sum", "exp", "softmax", "Layer", "Bias",
    "Shape", "dL", "dW", "dx", "dz", "df", "dq", "key_dim", "Wq", "Wk", "Wv", "ms", "µs",
    "Epoch", "SimpleRNN", "Embedding", "MultiHeadAttention", "GlobalAveragePooling1D",
    "d_k"}
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def _tick_labels(figure):
    """(every tick label matplotlib holds, the tick labels it draws): ticks outside the
    view keep their Text artists but are not drawn."""
    held, shown = set(), []
    for ax in figure.axes:
        for axis in ax._axis_map.values():
            drawn = axis._update_ticks()              # may make new Tick artists: first
            for tick in axis.majorTicks + axis.minorTicks:
                held.update((id(tick.label1), id(tick.label2)))
            if ax.get_visible() and ax.axison and axis.get_visible():
                shown += [label for tick in drawn for label in (tick.label1, tick.label2)
                          if label.get_visible() and label.get_text().strip()]
    return held, shown


def _texts(figure):
    """Every visible text with something written, once (tick labels only where drawn)."""
    held, shown = _tick_labels(figure)
    seen, out = set(held), list(shown)
    for text in figure.findobj(Text):
        if id(text) in seen or not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        seen.add(id(text))
        out.append(text)
    return out


def _display_points(ax, artist):
    """(N, 2) display coordinates of what a line, point set or bar draws in ``ax``,
    inside the axes (lines densified so that a straight segment counts everywhere)."""
    if isinstance(artist, Line2D):
        if artist.get_linestyle() in ("None", "", " ") and artist.get_marker() in ("None",
                                                                                  None, ""):
            return np.empty((0, 2))
        xy = np.asarray(artist.get_xydata(), float)
        xy = artist.get_transform().transform(xy)
        if artist.get_linestyle() not in ("None", "", " ") and len(xy) > 1:
            steps = np.linspace(0, 1, 25)[:, None, None]
            xy = (xy[:-1][None] * (1 - steps) + xy[1:][None] * steps).reshape(-1, 2)
    elif isinstance(artist, PathCollection):
        xy = artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), float))
    elif isinstance(artist, Patch):
        box = artist.get_window_extent()
        if box.width <= 0 or box.height <= 0:
            return np.empty((0, 2))
        gx, gy = np.meshgrid(np.linspace(box.x0, box.x1, 6), np.linspace(box.y0, box.y1, 6))
        xy = np.c_[gx.ravel(), gy.ravel()]
    else:
        return np.empty((0, 2))
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    box = ax.get_window_extent()
    inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0)
              & (xy[:, 1] <= box.y1))
    return xy[inside]


def _data_artists(ax):
    """The artists of a plot that carry data: lines, point sets, bars (not background
    shading spanning the axes, not images)."""
    out = [line for line in ax.lines if line.get_visible()]
    out += [c for c in ax.collections if isinstance(c, PathCollection) and c.get_visible()]
    for container in ax.containers:
        if isinstance(container, BarContainer):
            out += [p for p in container.patches if p.get_visible()]
    return out


def _name(ax):
    return repr(ax.get_title()[:40]) if ax is not None else "the figure"


def legend_problems(figure):
    out = []
    legends = [(ax, ax.get_legend()) for ax in figure.axes if ax.get_legend()]
    for ax, legend in legends:
        if not legend.get_visible():
            continue
        handles, labels = ax.get_legend_handles_labels()
        drawn = dict(zip(labels, handles))
        for shown, text in zip(legend.legend_handles, legend.texts):
            label = text.get_text()
            original = drawn.get(label)
            if original is None:
                out.append(f"legend of {_name(ax)}: {label!r} names no artist of its axes")
                continue
            if isinstance(original, BarContainer):
                original = original.patches[0] if original.patches else None
                kinds = Patch
            else:
                kinds = (Line2D if isinstance(original, Line2D) else
                         Patch if isinstance(original, Patch) else type(original))
            if original is None or not isinstance(shown, kinds):
                out.append(f"legend of {_name(ax)}: {label!r} is drawn as "
                           f"{type(shown).__name__}, its artist is {type(original).__name__}")
                continue
            if not original.get_visible() or not len(_display_points(ax, original)):
                out.append(f"legend of {_name(ax)}: {label!r} promises an artist that draws "
                           f"nothing inside the axes")
    return out


def _overlap(a, b, margin=1.0):
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > margin
            and min(a.y1, b.y1) - max(a.y0, b.y0) > margin)


def _corners(text, renderer):
    """The four display corners of a text's box, turned with the text (a turned text's
    window extent is the upright box around it, much larger than the text)."""
    box = text.get_window_extent(renderer)
    angle = np.radians(text.get_rotation())
    if angle % (np.pi / 2) == 0:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1],
                         [box.x0, box.y1]])
    rotation = text.get_rotation()
    text.set_rotation(0)
    upright = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    w, h = upright.width / 2, upright.height / 2
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]])
    return local @ turn.T + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def _texts_overlap(a, b, margin=1.0):
    """Whether two convex quadrilaterals overlap by more than ``margin`` pixels
    (separating axes)."""
    for quad in (a, b):
        for k in range(4):
            edge = quad[(k + 1) % 4] - quad[k]
            axis = np.array([-edge[1], edge[0]]) / np.hypot(*edge)
            pa, pb = a @ axis, b @ axis
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= margin:
                return False
    return True


def _inside(points, box, margin=1.0):
    return int(np.sum((points[:, 0] > box.x0 + margin) & (points[:, 0] < box.x1 - margin)
                      & (points[:, 1] > box.y0 + margin) & (points[:, 1] < box.y1 - margin)))


def overlap_problems(figure):
    out = []
    renderer = figure.canvas.get_renderer()
    legends = [(ax, ax.get_legend()) for ax in figure.axes if ax.get_legend()]
    legends = [(ax, legend) for ax, legend in legends if legend.get_visible()]
    legend_texts = {id(t) for _, legend in legends for t in legend.texts + [legend.get_title()]}
    texts = _texts(figure)
    for ax, legend in legends:
        box = legend.get_window_extent(renderer)
        for artist in _data_artists(ax):
            covered = _inside(_display_points(ax, artist), box)
            if covered:
                out.append(f"the legend of {_name(ax)} covers {covered} drawn points of "
                           f"{artist.get_label()!r}")
        for text in texts:
            if id(text) not in legend_texts and _overlap(box, text.get_window_extent(renderer)):
                out.append(f"the legend of {_name(ax)} covers the text {text.get_text()!r}")
    for ax in figure.axes:                          # texts written in a plot
        if not ax.axison or ax.name == "3d":
            continue
        points = [(a, _display_points(ax, a)) for a in _data_artists(ax)]
        for text in ax.texts:
            if not text.get_visible() or not text.get_text().strip():
                continue
            box = text.get_window_extent(renderer)
            for artist, xy in points:
                covered = _inside(xy, box)
                if covered:
                    out.append(f"the text {text.get_text()!r} in {_name(ax)} covers "
                               f"{covered} drawn points of {artist.get_label()!r}")
    boxes = [(text, _corners(text, renderer)) for text in texts
             if id(text) not in legend_texts]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if _texts_overlap(box_a, box_b):
                out.append(f"the texts {a.get_text()!r} and {b.get_text()!r} overlap")
    return out


def colour_bar_problems(figure):
    out = []
    every = figure.axes + [child for ax in figure.axes for child in ax.child_axes]
    bars = [ax._colorbar for ax in every if getattr(ax, "_colorbar", None)]
    for ax in every:
        if getattr(ax, "_colorbar", None):
            continue
        for image in ax.images + [c for c in ax.collections if isinstance(c, QuadMesh)]:
            array = image.get_array()
            if array is None or np.ndim(array) != 2 or image.get_cmap().name in GREY:
                continue
            norm = image.norm
            if not any(bar.mappable is image or (
                    bar.cmap.name == image.get_cmap().name
                    and np.isclose(bar.norm.vmin, norm.vmin)
                    and np.isclose(bar.norm.vmax, norm.vmax)) for bar in bars):
                out.append(f"{_name(ax)} maps values to colours ({image.get_cmap().name}) "
                           f"but has no colour bar to read them by")
    return out


def framing_problems(figure):
    """Points (scatter) spanning less than a third of their axes where they vary."""
    out = []
    for ax in figure.axes:
        for collection in ax.collections:
            if not isinstance(collection, PathCollection) or not collection.get_visible():
                continue
            if ax.name == "3d":
                points = np.c_[tuple(np.asarray(v, float) for v in collection._offsets3d)]
                limits = [ax.get_xlim(), ax.get_ylim(), ax.get_zlim()]
            else:
                points = np.asarray(collection.get_offsets(), float)
                limits = [ax.get_xlim(), ax.get_ylim()]
            points = points[np.all(np.isfinite(points), axis=1)]
            if len(points) < 10:
                continue
            spans = points.max(axis=0) - points.min(axis=0)
            for axis, span, (low, high) in zip("xyz", spans, limits):
                if span > 0.01 * spans.max() and span < abs(high - low) / 3:
                    out.append(f"{_name(ax)}: the points span {span:.3g} of the {axis} axis's "
                               f"{abs(high - low):.3g} (less than a third)")
    return out


def korean_problems(figure):
    out = []
    for text in _texts(figure):
        plain = re.sub(r"\\[A-Za-z]+", " ", text.get_text())     # mathtext commands
        words = re.findall(r"[A-Za-z][A-Za-z_0-9]*", plain)
        english = [w for w in words if sum(c.isalpha() for c in w) > 2 and w not in LATIN
                   and not ("_" in w and len(w.split("_")[0]) <= 2)]     # x_t, w_ij: maths
        if english:
            out.append(f"Korean picture, English text {text.get_text()!r}: {english}")
    return out


def figure_problems(figure, lang):
    """Everything the figure's artists show wrong (the figure already drawn)."""
    found = (legend_problems(figure) + overlap_problems(figure)
             + colour_bar_problems(figure) + framing_problems(figure))
    return found + (korean_problems(figure) if lang == "ko" else [])


@contextlib.contextmanager
def checked_drawings(monkeypatch, lang):
    """Within it, every figure rendered by the Agg canvas (each picture, each animation
    frame) is read right after it is drawn; yields the list of problems found."""
    found, original = [], FigureCanvasAgg.draw

    def draw(canvas, *args, **kwargs):
        result = original(canvas, *args, **kwargs)
        found.extend(figure_problems(canvas.figure, lang))
        return result
    monkeypatch.setattr(FigureCanvasAgg, "draw", draw)
    yield found
    monkeypatch.setattr(FigureCanvasAgg, "draw", original)


def _leaves(value):
    """Every number held in ``value`` (nested dicts, lists, tuples, arrays)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        yield len(value)
        if len(value) <= 64:
            for item in value:
                yield from _leaves(item)
    elif isinstance(value, np.ndarray):           # a summary, not a cloud of points:
        if value.dtype.kind in "fiub" and 0 < value.size <= 64:   # no chance matches
            yield from (float(v) for v in value.ravel())
        yield from value.shape
    elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        yield float(value)


def _matches(token, values):
    written = float(token.replace(",", ""))
    if "e" in token.lower():
        digits = len(token.lower().split("e")[0].split(".")[-1]) if "." in token else 0
        return any(np.isclose(written, v, rtol=0.6 * 10.0 ** -digits, atol=0) or
                   np.isclose(written, 100 * v, rtol=0.6 * 10.0 ** -digits, atol=0)
                   for v in values)
    digits = len(token.split(".")[1]) if "." in token else 0
    tolerance = 0.5 * 10.0 ** -digits + 1e-9
    return any(abs(written - v) <= tolerance or abs(written - 100 * v) <= tolerance
               for v in values)


def untraced_numbers(picture, allowed=()):
    """Numbers written in the picture's caption or titles that are none of the values
    in ``picture.data`` (at the precision written, or as a percentage) nor ``allowed``."""
    values = list(_leaves(picture.data)) + [float(a) for a in allowed]
    titles = [picture.caption]
    if picture.figure is not None:
        titles += [ax.get_title() for ax in picture.figure.axes]
        if picture.figure._suptitle is not None:
            titles.append(picture.figure._suptitle.get_text())
    out = []
    for text in titles:
        for token in NUMBER.findall(text):
            if not _matches(token, values):
                out.append(f"{token} in {text[:60]!r}")
    return out
