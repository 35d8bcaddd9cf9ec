"""What every converter shares: optional back-ends imported with the extra named, and the
one table lookup from a layer to its converter."""
import importlib


def requires(module, extra):
    """Import an optional dependency, or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this needs {module}, which is not installed: "
                          f"pip install 'glassnet[{extra}]'.") from None


def emitter(emitters, layer, what, form):
    """The converter of ``layer`` from ``emitters`` (glassnet's layer type names -> the
    function that writes that layer): glassnet's own types only, by type, not by name (a
    layer of your own named "Dense" is not glassnet's Dense)."""
    from ..layers.registry import BUILT_IN
    name = type(layer).__name__
    if BUILT_IN.get(name) is not type(layer) or name not in emitters:
        raise TypeError(f"{what}: {layer!r} ({name}) has no {form} form. Layers that do: "
                        f"{', '.join(sorted(emitters))}.")
    return emitters[name]
