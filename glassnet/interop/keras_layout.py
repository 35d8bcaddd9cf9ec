"""Keras 3's layout of a weights file, which its reader and its writer share: the
sub-layers Keras keeps a layer's arrays in, and the names its saver gives layers."""
from ..network.graph import snake

SUBLAYERS = {"MultiHeadAttention": ["query_dense", "key_dense", "value_dense",
                                    "output_dense"],
             "SimpleRNN": ["cell"], "LSTM": ["cell"], "GRU": ["cell"]}


def h5_names(kinds):
    """The names Keras's saver gives a model's layers in the weights file: the class name
    in snake case, numbered from the second of a kind ('dense', 'dense_1', ...)."""
    used, names = {}, []
    for kind in kinds:
        name = snake(kind)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        names.append(name)
    return names
