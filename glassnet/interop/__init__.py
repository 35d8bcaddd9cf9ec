"""Take it anywhere: glassnet models to and from PyTorch, to ONNX, from Keras files, and
training on PyTorch's engine when a model or its data outgrows this one.

    gn.to_torch(model)            a torch.nn.Module with the same weights (and gradients)
    gn.torch_code(model)          readable PyTorch source for the same network
    gn.from_torch(module, shape)  a glassnet model from a PyTorch module
    gn.to_onnx(model, path)       an ONNX file (opset 17, IR 8) that ONNX Runtime runs
    gn.load_keras(path)           a glassnet model from a Keras 3 .keras file (compiled
                                  as it was; checked against Keras where it is installed)
    model.save("m.keras")         a Keras 3 .keras file that keras.saving.load_model reads
    gn.train_with_torch(model, X, y, ...)   PyTorch's loop (several processes or machines,
                                  CUDA): fit's History, the weights and the optimiser's
                                  state back in the glassnet model (docs/interop.md)

PyTorch, ONNX and Keras are optional: ``pip install 'glassnet[torch]'`` (or ``[onnx]``,
``[keras]``); without them these functions say which extra to install.
"""
from .. import io
from .common import emitter, requires  # noqa: F401  (gn.interop.requires)


def to_torch(model, logits=False):
    """A ``torch.nn.Module`` with the same weights (see ``glassnet.interop.torch_code``)."""
    from .torch_code import to_torch as convert
    return convert(model, logits)


def torch_code(model, weights_path=None, class_name="Net", logits=False):
    """Readable PyTorch source for the network (see ``glassnet.interop.torch_code``)."""
    from .torch_code import torch_code as generate
    return generate(model, weights_path, class_name, logits)


def from_torch(module, input_shape, dtype="float32", example=None, tolerance=None):
    """A glassnet model from a PyTorch module, checked against it on random inputs and
    ``example`` (see ``glassnet.interop.torch_import``)."""
    from .torch_import import TOLERANCE, from_torch as convert
    return convert(module, input_shape, dtype, example,
                   TOLERANCE if tolerance is None else tolerance)


def to_onnx(model, path):
    """The model as an ONNX file (see ``glassnet.interop.onnx_export``)."""
    from .onnx_export import to_onnx as export
    return export(model, path)


def load_keras(path, dtype="float32", **options):
    """A glassnet model from a Keras 3 .keras file (see ``glassnet.interop.keras_import``)."""
    from .keras_import import load_keras as read
    return read(path, dtype, **options)


def train_with_torch(model, x, y, **options):
    """Train on PyTorch's engine (see ``glassnet.interop.distributed``)."""
    from .distributed import train_with_torch as train
    return train(model, x, y, **options)


def save_keras(model, path):
    """Write ``model`` as a Keras 3 .keras file (see ``glassnet.interop.keras_export``);
    ``model.save("m.keras")`` comes here."""
    from .keras_export import save_keras as write
    return write(model, path)


def save_weights(model, path):
    """The weights alone as Keras 3 writes them (see ``keras_export.save_weights``)."""
    from .keras_export import save_weights as write
    return write(model, path)


def load_weights(model, path):
    """Keras 3 ``.weights.h5`` into ``model`` (see ``keras_import.load_weights``)."""
    from .keras_import import load_weights as read
    return read(model, path)


io.register_writer(".keras", save_keras)
io.register_weights(".weights.h5", save_weights, load_weights)
