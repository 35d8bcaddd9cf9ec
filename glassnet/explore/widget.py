"""The explorer inline in a notebook (Jupyter, JupyterLab, VS Code, Colab): an anywidget
whose front end is the page's own JavaScript module (``static/app.js``), trained by this
kernel's engine on your arrays. No server, no port: the widget's messages go to the same
``protocol.answer`` the server uses.

    import glassnet as gn
    X, y = gn.datasets.make_moons(300, noise=0.2, seed=0)
    w = gn.explore(X, y, layers=[8, 8])     # shows itself as a cell's last value
    w.model                                 # the network the widget trains, as it is now
"""
import copy
import json
from importlib import resources

import numpy as np

from ..interop import requires
from . import protocol
from .session import Session
from .settings import DEFAULTS, SettingsError


def _static(name):
    return resources.files("glassnet.explore").joinpath("static", name).read_text("utf-8")


try:                                  # optional (glassnet[explore]): the module imports without it
    from anywidget import AnyWidget
except ImportError:
    AnyWidget = object


class Explorer(AnyWidget):
    """``Explorer(X, y, model=None, **settings)``: the explorer on your arrays (X: (samples,
    features); y: class labels 0, 1, ... or numbers), or on a built-in data set when X is
    None; ``model``: a glassnet Sequential of your own to train (Dense, BatchNorm and
    Dropout layers) to start from: its layers and weights (the widget trains its own copy,
    ``w.model``, and leaves yours as it was).
    Settings are the page's: ``layers`` (a list of widths, or of dicts {units,
    activation, dropout, batchnorm}), ``activation``, ``learning_rate``, ``optimizer``
    ('sgd', 'momentum', 'rmsprop', 'adam'), ``batch_size``, ``l2``, ``seed``, ``data``
    (a built-in set's name: circles, moons, spirals, xor, blobs, digits, plane, waves)."""

    _esm = _static("app.js")
    _css = _static("style.css")

    def __init__(self, X=None, y=None, model=None, **options):
        if AnyWidget is object:
            requires("anywidget", "explore")           # says which extra to install
        super().__init__()
        settings = _settings(options)
        if X is None:
            self.session = Session(settings)
        elif y is None:
            raise ValueError("explore: give the targets y with X (one per row).")
        else:
            self.session = Session(arrays=("your arrays", np.asarray(X), np.asarray(y)))
            self.session.configure(self.session.upload_settings(settings))
        if model is not None:
            self.session.adopt(model)
        self.on_msg(self._receive)

    @property
    def model(self):
        """The network the widget trains, as it is now."""
        return self.session.model

    def save_start(self, path):
        """Save the network as it was at its start (what the exported code reads when
        the widget trains a model of your own)."""
        from ..network.sequential import Sequential
        model = self.session.model
        start = Sequential.from_config(model.get_config())
        start.build((None, model.layers[0].params["W"].shape[0]))
        if self.session.from_adopted:
            start.set_weights(self.session.adopted[1])
        start.save(path)

    def code(self):
        """The script that replays this widget's training (see the page's download)."""
        return self.session.code()

    def answer(self, request):
        """The messages that answer one request from the front end (what the widget sends
        back; also handy to drive the widget from Python)."""
        return protocol.answer(self.session, request)

    def _receive(self, _, content, buffers):
        for reply in self.answer(content):
            self.send(json.loads(protocol.encode(reply)))


def _settings(options):
    """The page's settings from friendly keyword arguments."""
    s = copy.deepcopy(DEFAULTS)
    activation = options.pop("activation", "tanh")
    if "layers" in options:
        layers = options.pop("layers")
        if not isinstance(layers, (list, tuple)):
            raise SettingsError(f"explore: layers must be a list of widths such as [8, 8], "
                                f"got {layers!r}.")
        s["layers"] = [{"units": k, "activation": activation, "dropout": 0.0,
                        "batchnorm": False} if not isinstance(k, dict) else
                       {"activation": activation, "dropout": 0.0, "batchnorm": False, **k}
                       for k in layers]
    if "data" in options:
        s["data"]["name"] = options.pop("data")
        if s["data"]["name"] in ("plane", "waves"):
            s["problem"], s["loss"] = "regression", "mse"
    for key in list(options):
        if key not in s or key == "data":
            raise SettingsError(f"explore: unknown setting {key!r}; known: layers, "
                                f"activation, data, "
                                f"{', '.join(k for k in s if k not in ('data', 'layers'))}.")
        s[key] = options.pop(key)
    return s
