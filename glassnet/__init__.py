"""glassnet: a neural-network library in which nothing is hidden.

Forward propagation is matrix multiplication (Y = X @ W + b on the whole batch),
backpropagation is explicit matrix formulas written in each layer, and every
step can be inspected. The package is built in levels (docs/layout.md): ``layers``
(every layer, as ``keras.layers``), ``network`` (one graph engine, training written
once), ``inspect`` and ``viz`` (what you see), ``course`` (the tour), ``interop`` and
``explore``.
"""
from . import datasets, initializers, io, layers, losses, metrics, optimizers, regularizers
from . import schedules, utils
from .errors import ModelFileError, ShapeError
from .inspect.check import check_layer
from .interop import from_torch, load_keras, to_onnx, to_torch, torch_code, train_with_torch
from .io import load_model, save_model
from .layers import *  # noqa: F401,F403  every layer, as gn.Dense
from .layers import __all__ as _layer_names
from .layers import ops
from .layers.activations import softmax
from .limits import Limits
from .network import Input, Model, NonFiniteLossWarning, Residual, Sequential, callbacks
from .network.callbacks import (CSVLogger, EarlyStopping, History, LambdaCallback,
                                LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                                TerminateOnNaN)
from .utils import to_categorical

__version__ = "0.1.0"

__all__ = [
    *_layer_names, "softmax", "check_layer", "Limits",
    "to_torch", "to_onnx", "torch_code", "from_torch", "load_keras", "train_with_torch",
    "Sequential", "Model", "Input", "Residual", "load_model", "save_model",
    "ModelFileError", "ShapeError", "NonFiniteLossWarning", "EarlyStopping", "History",
    "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
    "TerminateOnNaN", "LambdaCallback", "to_categorical",
    "callbacks", "datasets", "initializers", "io", "layers", "losses", "metrics", "ops",
    "optimizers", "regularizers", "schedules", "utils",
]


def __getattr__(name):
    """``gn.explore(X, y)``: the explorer in a notebook, imported only when first used
    (the package ``glassnet.explore`` is itself callable)."""
    if name == "explore":
        import importlib
        return importlib.import_module(".explore", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
