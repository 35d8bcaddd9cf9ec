"""The benchmarks' models in JAX: one training step (forward, softmax cross-entropy,
backward, optax Adam) compiled whole by ``jax.jit`` into one XLA program.

Each ``*_step`` returns a function that runs one step on the same batch and waits for
its result (``block_until_ready``), so it can be timed like glassnet's and PyTorch's.
The parameters and Adam's state are donated to the compiled step: XLA updates them in
place, as glassnet and PyTorch do.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_platforms", "cpu")


def weights_of(model):
    """glassnet's parameters, layer by layer, as JAX arrays (the same starting point)."""
    if model.flat_params is None:
        model.build()
    return [{k: jnp.asarray(v) for k, v in layer.params.items()} for layer in model.layers
            if layer.params]


def training_step(forward, params, X, y, learning_rate=1e-3):
    """One jitted step of ``forward(params, X) -> logits``; returns a callable."""
    optimizer = optax.adam(learning_rate, eps=1e-7)
    X, y = jnp.asarray(X), jnp.asarray(y)

    def loss(params):
        logits = forward(params, X)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value
    step = jax.jit(step, donate_argnums=(0, 1))
    carried = [params, optimizer.init(params)]

    def run():
        params, state, value = step(*carried)
        carried[:] = params, state
        value.block_until_ready()
    run()                                     # compile outside the timing
    return run


def mlp_step(model, X, y):
    """784-256-128-10, ReLU, ReLU, logits."""
    def forward(params, H):
        for i, layer in enumerate(params):
            H = H @ layer["W"] + layer["b"]
            if i < len(params) - 1:
                H = jax.nn.relu(H)
        return H
    return training_step(forward, weights_of(model), X, y)


def cnn_step(model, X, y):
    """Conv 8 3x3, ReLU, MaxPool 2, Conv 16 3x3, ReLU, MaxPool 2, Dense 10 (NHWC)."""
    def conv(H, layer):
        out = jax.lax.conv_general_dilated(H, layer["W"], (1, 1), "VALID",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(out + layer["b"])

    def pool(H):
        return jax.lax.reduce_window(H, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                     "VALID")

    def forward(params, H):
        H = pool(conv(H, params[0]))
        H = pool(conv(H, params[1]))
        return H.reshape(len(H), -1) @ params[2]["W"] + params[2]["b"]
    return training_step(forward, weights_of(model), X, y)


def lstm_step(model, X, y):
    """LSTM 64 over (N, T, F) sequences (gates i, f, c, o as Keras), Dense 10 on the last
    hidden state; the time loop is ``lax.scan``."""
    def forward(params, X):
        lstm, dense = params
        W, U, b = lstm["W"], lstm["U"], lstm["b"]
        units = U.shape[0]

        def cell(carry, x):
            h, c = carry
            z = x @ W + h @ U + b
            i, f = jax.nn.sigmoid(z[:, :units]), jax.nn.sigmoid(z[:, units:2 * units])
            g, o = jnp.tanh(z[:, 2 * units:3 * units]), jax.nn.sigmoid(z[:, 3 * units:])
            c = f * c + i * g
            return (o * jnp.tanh(c), c), None
        zeros = jnp.zeros((X.shape[0], units), X.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(X, 0, 1))
        return h @ dense["W"] + dense["b"]
    return training_step(forward, weights_of(model), X, y)


def versions():
    return f"jax {jax.__version__}, optax {optax.__version__}, numpy {np.__version__}"
