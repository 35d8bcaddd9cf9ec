"""One registry of layer cases, shared by the gradient checks, the PyTorch parity
tests and the shape tests. Sizes are distinct (batch 3, in 4, out 5) so that a
transposed formula fails loudly."""
import numpy as np

import glassnet as gn

ACTIVATIONS = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu"]

# name -> (factory, input shape, training flag)
LAYER_CASES = {f"dense_{a}": (lambda a=a: gn.Dense(5, activation=a), (3, 4), True)
               for a in ACTIVATIONS}
LAYER_CASES.update({
    "dense_no_bias": (lambda: gn.Dense(5, use_bias=False), (3, 4), True),
    "dense_sequence": (lambda: gn.Dense(5, activation="tanh"), (3, 2, 4), True),
    "dense_he_normal": (lambda: gn.Dense(5, activation="relu", kernel_initializer="he_normal"),
                        (3, 4), True),
    **{f"activation_{a}": (lambda a=a: gn.Activation(a), (3, 4), True) for a in ACTIVATIONS},
    "dropout": (lambda: gn.Dropout(0.4, seed=3), (3, 4), True),
    "batchnorm_train": (lambda: gn.BatchNorm(momentum=0.9), (6, 4), True),
    "batchnorm_infer": (lambda: gn.BatchNorm(), (6, 4), False),
    "flatten": (lambda: gn.Flatten(), (3, 2, 3), True),
    "permute": (lambda: gn.Permute((3, 1, 2)), (2, 3, 4, 5), True),
    # convolutions and pooling, channels last: (batch, height, width, channels)
    "conv2d_valid": (lambda: gn.Conv2D(3, 3, activation="relu"), (2, 5, 6, 2), True),
    "conv2d_same_stride2": (lambda: gn.Conv2D(4, 3, strides=2, padding="same"), (2, 7, 7, 2),
                            True),
    "conv2d_same_even_kernel": (lambda: gn.Conv2D(2, (2, 4), padding="same"), (2, 5, 6, 3),
                                True),
    "conv2d_dilation_padding": (lambda: gn.Conv2D(3, 3, dilation_rate=2, padding=1,
                                                  activation="tanh"), (2, 7, 6, 2), True),
    "conv2d_rect_stride": (lambda: gn.Conv2D(2, (3, 2), strides=(2, 1), use_bias=False),
                           (2, 7, 5, 3), True),
    "conv1d": (lambda: gn.Conv1D(4, 3, strides=2, activation="gelu"), (2, 9, 3), True),
    "conv1d_same_dilated": (lambda: gn.Conv1D(2, 3, padding="same", dilation_rate=2),
                            (3, 8, 2), True),
    "maxpool": (lambda: gn.MaxPool2D(2), (2, 4, 6, 3), True),
    "maxpool_overlap_same": (lambda: gn.MaxPool2D(3, strides=2, padding="same"), (2, 5, 5, 2),
                             True),
    "avgpool": (lambda: gn.AvgPool2D((2, 3)), (2, 4, 7, 2), True),
    "global_avgpool": (lambda: gn.GlobalAveragePooling2D(), (2, 3, 4, 5), True),
    # sequences: (batch, time, features)
    "simple_rnn": (lambda: gn.SimpleRNN(4), (2, 5, 3), True),
    "simple_rnn_sequences": (lambda: gn.SimpleRNN(4, return_sequences=True), (2, 5, 3), True),
    "lstm": (lambda: gn.LSTM(4), (2, 5, 3), True),
    "lstm_sequences": (lambda: gn.LSTM(3, return_sequences=True), (3, 4, 2), True),
    "gru": (lambda: gn.GRU(4), (2, 5, 3), True),
    "gru_sequences": (lambda: gn.GRU(3, return_sequences=True), (3, 4, 2), True),
    "embedding": (lambda: gn.Embedding(7, 4), (3, 5), True),
    "layernorm": (lambda: gn.LayerNorm(), (3, 6), True),
    "layernorm_sequence": (lambda: gn.LayerNorm(epsilon=1e-5), (2, 3, 5), True),
    "global_avgpool_1d": (lambda: gn.GlobalAveragePooling1D(), (2, 5, 3), True),
    # attention and composition
    "attention": (lambda: gn.MultiHeadAttention(2, 3), (2, 4, 5), True),
    "attention_causal": (lambda: gn.MultiHeadAttention(3, 2, value_dim=4, output_dim=3,
                                                       causal=True), (2, 5, 4), True),
    "residual_block": (lambda: gn.Residual([gn.LayerNorm(), gn.Dense(6, activation="tanh"),
                                            gn.Dense(4)]), (3, 2, 4), True),
})

INTEGER_INPUTS = {"embedding": 7}       # token ids below this; no dX


def built(name, seed=0):
    """A layer built in float64 with random (not default) parameters and state."""
    factory, in_shape, training = LAYER_CASES[name]
    layer = factory()
    rng = np.random.default_rng(seed)
    layer.build((None, *in_shape[1:]), rng, np.float64)
    for k in layer.params:
        layer.params[k][...] = rng.normal(size=layer.params[k].shape)
    if "running_var" in layer.state:
        layer.state["running_mean"][...] = rng.normal(size=in_shape[-1])
        layer.state["running_var"][...] = rng.uniform(0.5, 2.0, size=in_shape[-1])
    return layer, in_shape, training


def sample_input(name, in_shape, rng):
    """A random input for a case: token ids for embeddings, numbers away from kinks else."""
    if name in INTEGER_INPUTS:
        return rng.integers(0, INTEGER_INPUTS[name], size=in_shape)
    return away_from_kinks(rng.normal(size=in_shape))


def away_from_kinks(X):
    """Move inputs away from 0, where relu / leaky_relu have no derivative."""
    return np.where(np.abs(X) < 0.1, X + 0.3 * np.sign(X + 1e-12), X)

# Activations, layers and options added for PyTorch's and Keras's idioms (issue 21).
NEW_ACTIVATIONS = ["elu", "selu", "swish", "relu6", "log_softmax"]
NEW_LAYER_CASES = {
    **{f"activation_{a}": (lambda a=a: gn.Activation(a), (3, 4), True)
       for a in NEW_ACTIVATIONS},
    "activation_elu_alpha": (lambda: gn.ELU(alpha=0.7), (3, 4), True),
    "activation_gelu_tanh": (lambda: gn.GELU(approximate=True), (3, 4), True),
    "dense_silu": (lambda: gn.Dense(5, activation="silu"), (3, 4), True),
    "conv2d_groups": (lambda: gn.Conv2D(6, 3, padding=1, groups=2, activation="relu6"),
                      (2, 5, 4, 4), True),
    "depthwise": (lambda: gn.DepthwiseConv2D(3, strides=2, padding=1), (2, 5, 6, 3), True),
    "depthwise_multiplier": (lambda: gn.DepthwiseConv2D((2, 3), depth_multiplier=2,
                                                        use_bias=False), (2, 4, 5, 2), True),
    "maxpool_padded": (lambda: gn.MaxPool2D(3, strides=2, padding=1), (2, 6, 5, 2), True),
    "global_maxpool": (lambda: gn.GlobalMaxPooling2D(), (2, 3, 4, 5), True),
    "global_maxpool_1d": (lambda: gn.GlobalMaxPooling1D(), (2, 5, 3), True),
    "reshape": (lambda: gn.Reshape((2, -1)), (3, 3, 4), True),
    "rescaling": (lambda: gn.Rescaling(0.5, offset=-1.0), (3, 4), True),
    "cropping1d": (lambda: gn.Cropping1D((1, 2)), (2, 6, 3), True),
    "bidirectional_lstm": (lambda: gn.Bidirectional(gn.LSTM(3, return_sequences=True)),
                           (2, 4, 3), True),
    "bidirectional_gru": (lambda: gn.Bidirectional(gn.GRU(4)), (3, 5, 2), True),
    "bidirectional_rnn_sum": (lambda: gn.Bidirectional(gn.SimpleRNN(3), merge_mode="sum"),
                              (2, 4, 3), True),
}
LAYER_CASES.update(NEW_LAYER_CASES)
