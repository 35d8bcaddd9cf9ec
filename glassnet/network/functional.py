"""The functional API: graphs of layers that are not a chain -- skip connections, several
inputs -- written as Keras writes them:

    x = gn.Input((784,))
    h = gn.Dense(256, activation="relu")(x)
    y = gn.Dense(10, activation="softmax")(gn.Add()([h, gn.Dense(256)(x)]) ...)
    model = gn.Model(x, y)

Calling a layer on a ``SymbolicTensor`` computes no numbers: it checks the shapes and
records the call. ``Model(inputs, outputs)`` collects the calls from the output back to
the inputs, in an order where every layer comes after the layers it reads; the graph
engine (``glassnet.network.graph.Network``) runs them forward in that order and backward in
reverse, adding up the gradients where a value feeds several layers (the multivariate
chain rule).
"""
from .. import limits as limits_module
from ..layers import registry
from ..layers.base import Input, InputLayer, SymbolicTensor, call_symbolic, is_symbolic  # noqa: F401
from .graph import Network


class Model(Network):
    """A model whose layers form a graph: ``gn.Model(inputs, outputs)`` (as Keras).

    ``inputs``: one ``gn.Input`` or a list of them; ``outputs``: the tensor the model
    computes (one output). It has everything a Sequential has -- compile, fit, evaluate,
    predict, summary and trace (with each layer's inputs), explain, get/set_weights,
    save and load. Data for several inputs is a list of arrays, in ``inputs``' order
    (or a dict by input name). A ``Model`` (or a ``Sequential``) can be called on
    tensors, as one layer of a bigger graph.

    Example (a skip connection, Y = X + f(X)):
        >>> import glassnet as gn
        >>> x = gn.Input((4,))
        >>> y = gn.Add()([x, gn.Dense(4, activation="tanh")(x)])
        >>> gn.Model(x, y).count_params()
        20
    """
    config_options = ("inputs", "nodes", "output", "seed", "dtype", "name", "trainable")

    def __init__(self, inputs, outputs, seed=0, dtype="float32", *, limits=None, name=None,
                 trainable=True):
        super().__init__(seed, dtype, "Model", limits, name=name)
        for layer in self.connect(inputs, outputs):
            self.layers.append(layer)
            self.name_layer(layer)
        for t in self.tensors:
            t.layer.position = t.layer.name
        if not trainable:
            self.trainable = False

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        return {"type": "Model",
                "inputs": [{"name": t.name, "shape": list(t.shape[1:])}
                           for t in self.input_tensors],
                "nodes": [{"layer": t.layer.get_config(), "inputs": [p.name for p in t.node[1]]}
                          for t in self.tensors],
                "output": self.output_tensor.name, "seed": self.seed, "dtype": self.dtype.name,
                **self.layer_options()}

    @classmethod
    def from_options(cls, config, build, limits):
        """The model from ``get_config()``: the same layers called in the same order."""
        if not isinstance(config.get("inputs"), list) or not isinstance(config.get("nodes"),
                                                                        list):
            raise ValueError("model config: expected 'inputs' and 'nodes' lists, as written "
                             "by Model.get_config().")
        limits_module.check_count("model config: the layers", len(config["nodes"]),
                                  (limits or limits_module.DEFAULT).max_layers, "max_layers")
        tensors, inputs = {}, []
        for spec in config["inputs"]:
            if not isinstance(spec, dict):
                raise ValueError(f"model config: bad input {spec!r}.")
            t = Input(spec.get("shape"), name=spec.get("name"))
            tensors[t.name] = t
            inputs.append(t)
        for i, node in enumerate(config["nodes"], 1):
            if not isinstance(node, dict) or not isinstance(node.get("inputs"), list):
                raise ValueError(f"model config: node {i} must have 'layer' and 'inputs'.")
            layer = build(node.get("layer"), f"node {i}")
            unknown = [n for n in node["inputs"] if not isinstance(n, str) or n not in tensors]
            if unknown or not node["inputs"]:
                raise ValueError(f"model config: node {i} reads {unknown or 'nothing'}, which "
                                 f"no earlier input or layer produces.")
            given = [tensors[n] for n in node["inputs"]]
            layer.name = layer.name or f"node_{i}"
            t = layer(given if layer.many_inputs else given[0])
            if t.name in tensors:
                raise ValueError(f"model config: two values are named {t.name!r}.")
            tensors[t.name] = t
        output = config.get("output")
        if output not in tensors:
            raise ValueError(f"model config: the output {output!r} is not produced.")
        return cls(inputs, tensors[output], seed=config.get("seed", 0),
                   dtype=config.get("dtype", "float32"), limits=limits,
                   name=config.get("name"), trainable=config.get("trainable", True))

    def __repr__(self):
        return (f"Model(inputs=[{', '.join(self.input_names())}], layers="
                f"{len(self.tensors)}, output={self.output_tensor.name})")


registry.BUILT_IN.update(Model=Model, InputLayer=InputLayer)
registry.LAYER_TYPES.update(Model=Model, InputLayer=InputLayer)
