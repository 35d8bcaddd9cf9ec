"""glassnet against PyTorch 2.13 (CPU, float64) for the same weights: forward outputs,
input gradients, every parameter gradient, and the weights after optimiser steps."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glassnet as gn
from glassnet.layers.conv import channels_first, channels_last, kernel_from_pytorch
from cases import INTEGER_INPUTS, LAYER_CASES, built, sample_input
from gradcheck import assert_close
from torch_ref import (ACTIVATIONS, nchw, nhwc, tensor, torch_batchnorm, torch_conv_weight,
                       torch_grads, torch_linear, torch_model, torch_pads, torch_weights)

RTOL = 1e-6
# Dropout masks come from different random generators; its formula is checked by hand
# in test_layers.py. Every other registered layer case has a twin here.
NO_TWIN = {"dropout"}
NEW_TWINS = {"activation_elu", "activation_selu", "activation_swish", "activation_relu6",
             "activation_log_softmax", "activation_elu_alpha", "activation_gelu_tanh",
             "dense_silu", "conv2d_groups", "depthwise", "depthwise_multiplier",
             "maxpool_padded", "global_maxpool", "global_maxpool_1d", "reshape", "rescaling",
             "cropping1d", "bidirectional_lstm", "bidirectional_gru", "bidirectional_rnn_sum"}


def test_torch_version_is_the_pinned_one():
    assert torch.__version__.startswith("2.13.0")


NEW_ACTIVATIONS = {"elu": F.elu, "selu": F.selu, "swish": F.silu, "silu": F.silu,
                   "relu6": F.relu6, "log_softmax": lambda z: F.log_softmax(z, dim=-1)}


def _activation_twin(function):
    if function.name == "elu":
        return lambda z: F.elu(z, alpha=function.elu_alpha)
    if function.approximate:
        return lambda z: F.gelu(z, approximate="tanh")
    return NEW_ACTIVATIONS.get(function.name) or ACTIVATIONS[function.name]


def _new_twin(name, layer):
    """Twins of the layers added for PyTorch's and Keras's idioms (issue 21)."""
    if name.startswith("activation"):
        return _activation_twin(layer.activation), {}, None
    if name == "dense_silu":
        linear = torch_linear(layer.params["W"], layer.params["b"])
        return (lambda X: F.silu(linear(X))), {"W": lambda: linear.weight.grad.numpy().T,
                                                "b": lambda: linear.bias.grad.numpy()}, None
    if name == "conv2d_groups" or name.startswith("depthwise"):
        W = layer.params["W"]
        groups = W.shape[2] if name.startswith("depthwise") else layer.groups
        grouped = W.reshape(*W.shape[:2], 1, -1) if name.startswith("depthwise") else W
        weight = torch_conv_weight(grouped)
        b = tensor(layer.params["b"], grad=True) if "b" in layer.params else None
        act, w = _activation_twin(layer.activation), layer.window

        def conv(X):
            Xp = F.pad(nchw(X), torch_pads(w, X.shape[1:3]))
            return act(nhwc(F.conv2d(Xp, weight, b, stride=w.strides, dilation=w.dilation,
                                     groups=groups)))
        grads = {"W": lambda: kernel_from_pytorch(weight.grad.numpy()).reshape(W.shape)}
        if b is not None:
            grads["b"] = lambda: b.grad.numpy()
        return conv, grads, None
    if name == "maxpool_padded":                 # PyTorch's own padding=1, not F.pad
        w = layer.window
        return (lambda X: nhwc(F.max_pool2d(nchw(X), w.kernel, w.strides, padding=1))), {}, None
    if name == "global_maxpool":
        return (lambda X: X.amax(dim=(1, 2))), {}, None
    if name == "global_maxpool_1d":
        return (lambda X: X.amax(dim=1)), {}, None
    if name == "reshape":
        return (lambda X: X.reshape(X.shape[0], 2, -1)), {}, None
    if name == "cropping1d":
        return (lambda X: X[:, 1:-2]), {}, None
    if name == "rescaling":
        return (lambda X: X * 0.5 - 1.0), {}, None
    if name.startswith("bidirectional"):
        return _bidirectional_twin(layer)
    raise KeyError(name)


def _bidirectional_twin(layer):
    """torch's bidirectional RNN/LSTM/GRU: weight_ih_l0 (forward) and weight_ih_l0_reverse
    hold the two glassnet copies' weights."""
    inner = layer.forward_layer
    u, kind = inner.units, type(inner).__name__
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    net = cls(inner.params["W"].shape[0], u, batch_first=True, bidirectional=True,
              dtype=torch.float64)
    order = np.r_[u:2 * u, 0:u, 2 * u:3 * u] if kind == "GRU" else np.arange(inner.gates * u)
    back = np.argsort(order)
    grads = {}
    for i, suffix in ((1, ""), (2, "_reverse")):
        copy = layer.layers[i - 1]
        b = copy.params["b"]
        b_ih, b_hh = (b[0], b[1]) if kind == "GRU" else (b, np.zeros_like(b))
        with torch.no_grad():
            getattr(net, f"weight_ih_l0{suffix}").copy_(tensor(copy.params["W"].T[order]))
            getattr(net, f"weight_hh_l0{suffix}").copy_(tensor(copy.params["U"].T[order]))
            getattr(net, f"bias_ih_l0{suffix}").copy_(tensor(b_ih[order]))
            getattr(net, f"bias_hh_l0{suffix}").copy_(tensor(b_hh[order]))

        def grad(what, s=suffix):
            return getattr(net, f"{what}_l0{s}").grad.numpy()[back]

        def bias_grad(s=suffix):
            g_ih, g_hh = grad("bias_ih", s), grad("bias_hh", s)
            return np.stack([g_ih, g_hh]) if kind == "GRU" else g_ih
        grads.update({f"{i}.W": lambda s=suffix: grad("weight_ih", s).T,
                      f"{i}.U": lambda s=suffix: grad("weight_hh", s).T,
                      f"{i}.b": bias_grad})

    def run(X):
        out, hidden = net(X)
        if inner.return_sequences:
            halves = out[..., :u], out[..., u:]
        else:
            h = hidden[0] if kind == "LSTM" else hidden
            halves = h[0], h[1]                   # h_n: forward, then backward direction
        if layer.merge_mode == "sum":
            return halves[0] + halves[1]
        return torch.cat(halves, dim=-1)
    return run, grads, None


def _twin(name, layer):
    """(torch function of X, {glassnet param name: torch tensor or (tensor, transpose)})."""
    if name in NEW_TWINS:
        return _new_twin(name, layer)
    if name.startswith("dense"):
        linear = torch_linear(layer.params["W"], layer.params.get("b"))
        act = ACTIVATIONS[layer.activation.name]
        grads = {"W": lambda: linear.weight.grad.numpy().T}
        if "b" in layer.params:
            grads["b"] = lambda: linear.bias.grad.numpy()
        return (lambda X: act(linear(X))), grads, None
    if name.startswith("activation"):
        return ACTIVATIONS[layer.activation.name], {}, None
    if name.startswith("batchnorm"):
        bn = torch_batchnorm(layer)
        bn.train(name.endswith("train"))
        return bn, {"gamma": lambda: bn.weight.grad.numpy(),
                    "beta": lambda: bn.bias.grad.numpy()}, bn
    if name == "flatten":
        return (lambda X: torch.flatten(X, 1)), {}, None
    if name == "permute":
        return (lambda X: X.permute(0, *layer.dims)), {}, None
    if name.startswith("conv2d"):
        W = torch_conv_weight(layer.params["W"])
        b = tensor(layer.params["b"], grad=True) if "b" in layer.params else None
        act, w = ACTIVATIONS[layer.activation.name], layer.window

        def conv2d(X):
            Xp = F.pad(nchw(X), torch_pads(w, X.shape[1:3]))
            return act(nhwc(F.conv2d(Xp, W, b, stride=w.strides, dilation=w.dilation)))
        grads = {"W": lambda: kernel_from_pytorch(W.grad.numpy())}
        if b is not None:
            grads["b"] = lambda: b.grad.numpy()
        return conv2d, grads, None
    if name.startswith("conv1d"):
        W = tensor(np.ascontiguousarray(layer.params["W"].transpose(2, 1, 0)), grad=True)
        b = tensor(layer.params["b"], grad=True)
        act, w = ACTIVATIONS[layer.activation.name], layer.window

        def conv1d(X):
            (left, right) = w.pads((1, X.shape[1]))[1]
            Xp = F.pad(X.permute(0, 2, 1), (left, right))
            return act(F.conv1d(Xp, W, b, stride=w.strides[1], dilation=w.dilation[1])
                       .permute(0, 2, 1))
        return conv1d, {"W": lambda: W.grad.numpy().transpose(2, 1, 0),
                        "b": lambda: b.grad.numpy()}, None
    if name.startswith("maxpool") or name == "avgpool":
        w = layer.window
        pool = F.max_pool2d if name.startswith("maxpool") else F.avg_pool2d
        fill = -np.inf if name.startswith("maxpool") else 0.0

        def pool2d(X):
            Xp = F.pad(nchw(X), torch_pads(w, X.shape[1:3]), value=fill)
            return nhwc(pool(Xp, w.kernel, w.strides))
        return pool2d, {}, None
    if name == "global_avgpool":
        return (lambda X: X.mean(dim=(1, 2))), {}, None
    if name.startswith(("simple_rnn", "lstm", "gru")):
        return _recurrent_twin(layer)
    if name == "embedding":
        E = tensor(layer.params["E"], grad=True)
        return (lambda X: F.embedding(X, E)), {"E": lambda: E.grad.numpy()}, None
    if name.startswith("layernorm"):
        gamma = tensor(layer.params["gamma"], grad=True)
        beta = tensor(layer.params["beta"], grad=True)
        return (lambda X: F.layer_norm(X, gamma.shape, gamma, beta, layer.epsilon)), \
            {"gamma": lambda: gamma.grad.numpy(), "beta": lambda: beta.grad.numpy()}, None
    if name == "global_avgpool_1d":
        return (lambda X: X.mean(dim=1)), {}, None
    if name.startswith("attention"):
        return _attention_twin(layer)
    if name == "residual_block":
        norm, hidden, out = layer.layers
        gamma, beta = (tensor(norm.params[k], grad=True) for k in ("gamma", "beta"))
        first = torch_linear(hidden.params["W"], hidden.params["b"])
        second = torch_linear(out.params["W"], out.params["b"])

        def block(X):
            return X + second(torch.tanh(first(F.layer_norm(X, gamma.shape, gamma, beta,
                                                            norm.epsilon))))
        return block, {"1.gamma": lambda: gamma.grad.numpy(), "1.beta": lambda: beta.grad.numpy(),
                       "2.W": lambda: first.weight.grad.numpy().T,
                       "2.b": lambda: first.bias.grad.numpy(),
                       "3.W": lambda: second.weight.grad.numpy().T,
                       "3.b": lambda: second.bias.grad.numpy()}, None
    raise KeyError(name)


def _attention_twin(layer):
    """PyTorch's scaled_dot_product_attention on the same projections (autograd)."""
    p = {k: tensor(v, grad=True) for k, v in layer.params.items()}
    h, k, v = layer.num_heads, layer.key_dim, layer.value_dim

    def heads(A, size):
        return A.reshape(A.shape[0], A.shape[1], h, size).transpose(1, 2)

    def attend(X):                         # Keras's layout: W (d, heads, size), b (heads, size)
        d = X.shape[-1]
        Q = heads(X @ p["Wq"].reshape(d, -1) + p["bq"].reshape(-1), k)
        K = heads(X @ p["Wk"].reshape(d, -1) + p["bk"].reshape(-1), k)
        V = heads(X @ p["Wv"].reshape(d, -1) + p["bv"].reshape(-1), v)
        heads_out = F.scaled_dot_product_attention(Q, K, V, is_causal=layer.causal)
        merged = heads_out.transpose(1, 2).reshape(X.shape[0], X.shape[1], h * v)
        return merged @ p["Wo"].reshape(h * v, -1) + p["bo"]
    return attend, {name: (lambda t=t: t.grad.numpy()) for name, t in p.items()}, None


def _recurrent_twin(layer):
    """torch.nn.RNN / LSTM / GRU holding the same weights. PyTorch stores weight_ih
    (gates * units, features) = W.T and two biases; its GRU orders the gates r, z, n
    where Keras and glassnet use z, r, n."""
    u = layer.units
    kind = type(layer).__name__
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    net = cls(layer.params["W"].shape[0], u, batch_first=True, dtype=torch.float64)
    order = np.r_[u:2 * u, 0:u, 2 * u:3 * u] if kind == "GRU" else np.arange(layer.gates * u)
    b = layer.params["b"]
    b_ih, b_hh = (b[0], b[1]) if kind == "GRU" else (b, np.zeros_like(b))
    with torch.no_grad():
        net.weight_ih_l0.copy_(tensor(layer.params["W"].T[order]))
        net.weight_hh_l0.copy_(tensor(layer.params["U"].T[order]))
        net.bias_ih_l0.copy_(tensor(b_ih[order]))
        net.bias_hh_l0.copy_(tensor(b_hh[order]))
    back = np.argsort(order)

    def run(X):
        out = net(X)[0]
        return out if layer.return_sequences else out[:, -1]

    def bias_grad():
        g_ih = net.bias_ih_l0.grad.numpy()[back]
        g_hh = net.bias_hh_l0.grad.numpy()[back]
        return np.stack([g_ih, g_hh]) if kind == "GRU" else g_ih
    return run, {"W": lambda: net.weight_ih_l0.grad.numpy()[back].T,
                 "U": lambda: net.weight_hh_l0.grad.numpy()[back].T, "b": bias_grad}, None


def test_every_layer_case_has_a_torch_twin_or_a_stated_reason():
    for name in set(LAYER_CASES) - NO_TWIN:
        layer, _, _ = built(name)
        _twin(name, layer)


@pytest.mark.parametrize("name", sorted(set(LAYER_CASES) - NO_TWIN))
def test_layer_matches_torch(name):
    layer, in_shape, training = built(name)
    rng = np.random.default_rng(2)
    X = sample_input(name, in_shape, rng)
    G = rng.normal(size=layer.output_shape(in_shape))
    fn, grads, bn = _twin(name, layer)

    Y = layer.forward(X, training=training)
    dX = layer.backward(G)
    integer = name in INTEGER_INPUTS
    X_t = torch.tensor(X) if integer else tensor(X, grad=True)
    Y_t = fn(X_t)
    (Y_t * tensor(G)).sum().backward()

    assert_close(Y, Y_t.detach().numpy(), RTOL, 1e-12, f"{name} forward")
    if not integer:
        assert_close(dX, X_t.grad.numpy(), RTOL, 1e-12, f"{name} dX")
    assert set(grads) == set(layer.params.keys())
    for k, torch_grad in grads.items():
        assert_close(layer.grads[k], torch_grad(), RTOL, 1e-12, f"{name} d{k}")
    if bn is not None:
        assert_close(layer.state["running_mean"], bn.running_mean.numpy(), RTOL, 1e-12)
        assert_close(layer.state["running_var"], bn.running_var.numpy(), RTOL, 1e-12)


# --- losses -------------------------------------------------------------------------------
rng = np.random.default_rng(5)
N, C = 6, 4
LOGITS = rng.normal(size=(N, C)) * 3
LABELS = np.array([0, 3, 1, 2, 3, 0])
ONE_HOT = gn.datasets.one_hot(LABELS, C)
PROBS = gn.softmax(LOGITS)
BINARY = rng.uniform(0, 1, size=(N, 2))


def _focal(P, T, gamma, alpha):
    return -(alpha * (1 - P) ** gamma * T * torch.log(P)).sum() / P.shape[0]


LOSS_CASES = {
    "mse": (gn.losses.MeanSquaredError(), LOGITS, PROBS,
            lambda Y, T: F.mse_loss(Y, T)),
    "mae": (gn.losses.MeanAbsoluteError(), LOGITS, PROBS, lambda Y, T: F.l1_loss(Y, T)),
    "bce_probs": (gn.losses.BinaryCrossentropy(),
                  gn.layers.activations.ActivationFunction("sigmoid").apply(LOGITS[:, :2]),
                  BINARY, lambda Y, T: F.binary_cross_entropy(Y, T)),
    "bce_logits": (gn.losses.BinaryCrossentropy(from_logits=True), LOGITS[:, :2], BINARY,
                   lambda Y, T: F.binary_cross_entropy_with_logits(Y, T)),
    "cce_logits": (gn.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                   LOGITS, ONE_HOT,
                   lambda Y, T: F.cross_entropy(Y, T.argmax(1), label_smoothing=0.1)),
    "cce_probs": (gn.losses.CategoricalCrossentropy(), PROBS, ONE_HOT,
                  lambda Y, T: F.nll_loss(torch.log(Y), T.argmax(1))),
    "sparse_logits": (gn.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                              label_smoothing=0.2),
                      LOGITS, LABELS,
                      lambda Y, T: F.cross_entropy(Y, T, label_smoothing=0.2)),
    "focal_probs": (gn.losses.CategoricalFocalCrossentropy(gamma=2.0, alpha=0.25), PROBS,
                    ONE_HOT, lambda Y, T: _focal(Y, T, 2.0, 0.25)),
    "focal_logits": (gn.losses.CategoricalFocalCrossentropy(gamma=1.5, alpha=0.5,
                                                            from_logits=True), LOGITS, ONE_HOT,
                     lambda Y, T: _focal(torch.softmax(Y, -1), T, 1.5, 0.5)),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_matches_torch(name):
    loss, Y, raw, torch_loss = LOSS_CASES[name]
    T = loss.prepare(raw, Y.shape)
    value = loss.forward(Y, T)
    dY = loss.backward()
    Y_t = tensor(Y, grad=True)
    T_t = torch.tensor(raw) if raw.dtype.kind == "i" else tensor(raw)
    expected = torch_loss(Y_t, T_t)
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=RTOL)
    assert_close(dY, Y_t.grad.numpy(), RTOL, 1e-12, f"{name} dY")


# --- whole models and optimiser steps -------------------------------------------------
def _mlp(batchnorm=False, seed=0):
    layers = [gn.Dense(7, activation="tanh", input_dim=5)]
    if batchnorm:
        layers += [gn.BatchNorm(momentum=0.8), gn.Activation("relu")]
    layers += [gn.Dense(6, activation="relu"), gn.Dense(4, activation="softmax")]
    return gn.Sequential(layers, seed=seed, dtype="float64").build()


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(16, 5)), rng.integers(0, 4, size=16)


def _torch_step(net, X, y, clip=None):
    net.zero_grad()
    logits = net[:-1](tensor(X))             # the last module is the softmax
    loss = F.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    return loss.item()


def test_model_forward_and_gradients_match_torch():
    model = _mlp(batchnorm=True)
    model.compile(gn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    X, y = _data()
    net = torch_model(model)
    net.train()
    P = model.forward(X, training=True)
    loss = model.loss.forward(model.output_layer.logits(), model.loss.prepare(y, P.shape),
                              logits=True)
    model.backward_from_logits(model.loss.backward())
    expected = _torch_step(net, X, y)
    assert loss == pytest.approx(expected, rel=RTOL)
    assert_close(P, torch.softmax(net[:-1](tensor(X)), -1).detach().numpy(), RTOL, 1e-12)
    grads = [g for layer in model.layers for g in layer.grads.values()]
    for mine, theirs in zip(grads, torch_grads(net), strict=True):
        assert_close(mine, theirs, RTOL, 1e-12, "gradient")


OPTIMIZERS = {
    "sgd": (lambda: gn.optimizers.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1), None),
    "sgd_momentum": (lambda: gn.optimizers.SGD(0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), None),
    "sgd_nesterov": (lambda: gn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), None),
    "sgd_l2": (lambda: gn.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.01),
               lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01), None),
    "rmsprop": (lambda: gn.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-7),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7), None),
    "rmsprop_momentum": (lambda: gn.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5),
                         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7,
                                                       momentum=0.5), None),
    "adam": (lambda: gn.optimizers.Adam(0.01),
             lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-7), None),
    "adam_l2": (lambda: gn.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, weight_decay=0.05),
                lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7,
                                           weight_decay=0.05), None),
    "adamw": (lambda: gn.optimizers.AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1), None),
    "adam_amsgrad": (lambda: gn.optimizers.Adam(0.01, beta_2=0.9, amsgrad=True),
                     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.9), eps=1e-7,
                                                amsgrad=True), None),
    "adam_clipnorm": (lambda: gn.optimizers.Adam(0.01, global_clipnorm=0.05),
                      lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-7), 0.05),
    "sgd_clipnorm": (lambda: gn.optimizers.SGD(0.5, global_clipnorm=0.05),
                     lambda p: torch.optim.SGD(p, lr=0.5), 0.05),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_weights_after_optimizer_steps_match_torch(name):
    make, make_torch, clip = OPTIMIZERS[name]
    model = _mlp(batchnorm=name == "adam")
    model.compile(make(), "sparse_categorical_crossentropy")
    net = torch_model(model)
    net.train()
    optimizer = make_torch(net.parameters())
    for step in range(3):
        X, y = _data(seed=step)
        loss = model.train_on_batch(X, y)
        expected = _torch_step(net, X, y, clip)
        optimizer.step()
        assert loss == pytest.approx(expected, rel=RTOL)
        for i, (mine, theirs) in enumerate(zip(model.get_weights(), torch_weights(net),
                                               strict=True)):
            assert_close(mine, theirs, RTOL, 1e-12, f"{name} step {step + 1} weight {i}")


def test_schedules_match_torch_schedulers():
    model = _mlp()
    schedule = gn.schedules.StepDecay(0.1, step_size=2, gamma=0.5)
    model.compile(gn.optimizers.SGD(schedule, momentum=0.9), "sparse_categorical_crossentropy")
    net = torch_model(model)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for step in range(5):
        X, y = _data(seed=step)
        model.train_on_batch(X, y)
        _torch_step(net, X, y)
        optimizer.step()
        scheduler.step()
    for mine, theirs in zip(model.get_weights(), torch_weights(net), strict=True):
        assert_close(mine, theirs, RTOL, 1e-12, "StepDecay")
    expo = gn.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    cosine = gn.schedules.CosineDecay(0.1, decay_steps=10)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    exp_sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    for step in range(5):
        assert expo(step) == pytest.approx(exp_sched.get_last_lr()[0], rel=1e-12)
        opt.step()
        exp_sched.step()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    cos_sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for step in range(10):
        assert cosine(step) == pytest.approx(cos_sched.get_last_lr()[0], rel=1e-9, abs=1e-15)
        opt.step()
        cos_sched.step()


def test_layout_helpers_round_trip():
    X = np.random.default_rng(0).normal(size=(2, 5, 4, 3))
    assert channels_first(X).shape == (2, 3, 5, 4)
    assert np.array_equal(channels_last(channels_first(X)), X)
    conv = torch.nn.Conv2d(3, 6, (2, 3), dtype=torch.float64)
    W = kernel_from_pytorch(conv.weight.detach().numpy())
    assert W.shape == (2, 3, 3, 6)
    expected = conv(torch.tensor(channels_first(X))).detach().numpy()
    layer = gn.Conv2D(6, (2, 3))
    layer.build((None, 5, 4, 3), np.random.default_rng(0), np.float64)
    layer.params["W"][...], layer.params["b"][...] = W, conv.bias.detach().numpy()
    np.testing.assert_allclose(channels_first(layer.forward(X)), expected, rtol=1e-10)
