"""from_torch on PyTorch written as people write it: each idiom as a module in its users'
own style, converted and compared with PyTorch's outputs (float64), with summary, trace
and explain working on it; what has no glassnet form is refused by name; and a
conversion that would be wrong is refused, naming where."""
import warnings

import numpy as np
import onnxruntime
import pytest
import torch
import torch.nn.functional as F
from cases import LAYER_CASES, NEW_LAYER_CASES, sample_input
from torch import nn
from torchvision_models import mobilenet_v2, resnet18

import glassnet as gn
from glassnet.interop import torch_import


@pytest.fixture(autouse=True)
def one_torch_thread():
    """PyTorch's thread pool is many times slower than one thread when the cores are busy
    (as under a parallel test run); these inputs are tiny."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _randomise_batchnorm(net, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
    return net


def _check(net, shape, tokens=None, rtol=1e-9, views=True):
    """Convert in float64, compare with PyTorch on new inputs, run the views."""
    net = _randomise_batchnorm(net).double().eval()
    model = gn.from_torch(net, shape, dtype="float64")
    rng = np.random.default_rng(7)
    X = rng.integers(0, tokens, (3, *shape)) if tokens else rng.normal(size=(3, *shape))
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=rtol,
                               atol=1e-12)
    if views:
        assert str(model.summary(print_fn=None))
        assert str(model.trace(batch_size=2))
        assert str(model.explain())
    return model


# --- recurrent idioms ---------------------------------------------------------------------
class LastStep(nn.Module):
    def __init__(self, cell=nn.LSTM, **options):
        super().__init__()
        self.rnn = cell(4, 6, batch_first=True, **options)
        self.fc = nn.Linear(6 * (2 if options.get("bidirectional") else 1), 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


class FinalHidden(nn.Module):
    def __init__(self, cell=nn.LSTM, **options):
        super().__init__()
        self.rnn = cell(4, 6, batch_first=True, **options)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        if isinstance(self.rnn, nn.LSTM):
            _, (h, c) = self.rnn(x)
        else:
            _, h = self.rnn(x)
        return self.fc(h[-1])


class BothDirections(nn.Module):
    def __init__(self, cell=nn.GRU, layers=1):
        super().__init__()
        self.rnn = cell(4, 5, num_layers=layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        if isinstance(self.rnn, nn.LSTM):
            _, (h, _) = self.rnn(x)
        else:
            _, h = self.rnn(x)
        return self.fc(torch.cat((h[-2], h[-1]), dim=1))


class EverySteps(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 4)
        self.lstm = nn.LSTM(4, 3, num_layers=2, batch_first=True, bidirectional=True,
                            dropout=0.1)
        self.tag = nn.Linear(6, 5)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return F.log_softmax(self.tag(out), dim=-1)


class Steps(nn.Module):
    """A classification token, x[:, 0], and a window of steps, x[:, 2:4]."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 3, batch_first=True)
        self.fc = nn.Linear(4 + 6 + 3, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        window = out[:, 2:4].flatten(1)
        last = out[:, -1]                         # the same LSTM's output, used again
        return self.fc(torch.cat([x[:, 0], window, last], dim=1))


RECURRENT = {
    "lstm_out_last": (lambda: LastStep(nn.LSTM), (5, 4)),
    "gru_out_last": (lambda: LastStep(nn.GRU), (5, 4)),
    "lstm_h_last": (lambda: FinalHidden(nn.LSTM), (5, 4)),
    "gru_h_last": (lambda: FinalHidden(nn.GRU), (5, 4)),
    "rnn_h_last": (lambda: FinalHidden(nn.RNN), (5, 4)),
    "stacked_lstm": (lambda: LastStep(nn.LSTM, num_layers=2, dropout=0.2), (5, 4)),
    "stacked_gru_h": (lambda: FinalHidden(nn.GRU, num_layers=3), (5, 4)),
    "bidirectional_gru": (lambda: BothDirections(nn.GRU), (5, 4)),
    "bidirectional_stacked_lstm": (lambda: BothDirections(nn.LSTM, layers=2), (5, 4)),
    "bidirectional_out_last": (lambda: LastStep(nn.GRU, bidirectional=True), (5, 4)),
    "first_and_middle_steps": (lambda: Steps(), (6, 4)),
}


def test_stacked_bidirectional_tagger_over_every_step():
    torch.manual_seed(1)
    model = _check(EverySteps(), (6,), tokens=11)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Bidirectional") == 2 and "Dropout" in kinds


# --- images, as in PyTorch's own MNIST example ---------------------------------------------
class MnistNet(nn.Module):
    """pytorch/examples mnist/main.py, with the functional forms."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.dropout(x, 0.25, self.training)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class Reshapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(16, 3), nn.Linear(16, 3)

    def forward(self, x):
        y = F.avg_pool2d(self.conv(x), 2)            # (batch, 4, 2, 2)
        a = y.reshape(y.shape[0], -1)
        b = y.view(-1, 16)
        return self.fc1(a * 0.5 + b / 4 - 1) + 2 * self.fc2(1 - a).mul(-0.5)


class Blocks(nn.Module):
    """ResNet's stem, adaptive pooling to 2x2, grouped and depthwise convolutions."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.grouped = nn.Conv2d(8, 12, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(12, 24, 3, padding="same", groups=12)
        self.bn = nn.BatchNorm2d(24)
        self.adaptive = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(96, 5))

    def forward(self, x):
        x = self.pool(F.silu(self.stem(x)))
        x = F.gelu(self.grouped(x), approximate="tanh")
        x = F.relu6(self.bn(self.depthwise(x)))
        return self.head(self.adaptive(x))


ACTIVATIONS = nn.Sequential(nn.Linear(4, 6), nn.GELU(approximate="tanh"), nn.Linear(6, 6),
                            nn.ELU(alpha=0.5), nn.Linear(6, 6), nn.SiLU(), nn.Linear(6, 6),
                            nn.SELU(), nn.Linear(6, 6), nn.ReLU6(), nn.Linear(6, 5),
                            nn.LogSoftmax(dim=-1))


class InPlace(nn.Module):
    """In-place activations whose results are not used: x itself changes."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 3)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        h = self.fc1(x)
        self.act(h)
        h.mul_(0.5)
        F.elu(h, inplace=True)
        return self.fc2(h)


IMAGES = {"mnist": (MnistNet, (1, 12, 12)), "reshapes": (Reshapes, (2, 4, 4)),
          "blocks": (Blocks, (3, 16, 16)), "activations": (lambda: ACTIVATIONS, (4,)),
          "in_place": (InPlace, (4,))}


@pytest.mark.parametrize("name", sorted({**RECURRENT, **IMAGES}))
def test_idioms_as_people_write_them(name):
    make, shape = {**RECURRENT, **IMAGES}[name]
    torch.manual_seed(2)
    _check(make(), shape)


def test_depthwise_and_grouped_convolutions_become_their_glassnet_layers():
    torch.manual_seed(3)
    model = _check(Blocks(), (3, 16, 16), views=False)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "DepthwiseConv2D" in kinds
    grouped = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [layer.groups for layer in grouped] == [1, 4]


# --- attention and Transformer encoders -----------------------------------------------------
class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)

    def forward(self, x):
        out, _ = self.attn(x, x, x)
        return self.norm(x + out)


class Encoder(nn.Module):
    def __init__(self, **options):
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                           batch_first=True, **options)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2,
                                             enable_nested_tensor=False)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


@pytest.mark.parametrize("make", [SelfAttention, Encoder,
                                  lambda: Encoder(norm_first=True, activation="gelu")],
                         ids=["attention", "encoder", "encoder_pre_norm_gelu"])
def test_attention_and_transformer_encoders(make):
    torch.manual_seed(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # the attention-dropout note
        _check(make(), (5, 8))


def test_attention_dropout_is_said_not_silent():
    torch.manual_seed(4)
    with pytest.warns(UserWarning, match=r"drops attention weights with p=0.1 while "
                                         r"training; glassnet's MultiHeadAttention does not"):
        gn.from_torch(Encoder().double().eval(), (5, 8), dtype="float64")


# --- real architectures -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [resnet18, mobilenet_v2], ids=["resnet18", "mobilenet_v2"])
def test_torchvision_architectures(make, tmp_path):
    torch.manual_seed(5)
    net = _randomise_batchnorm(make(num_classes=10)).eval()
    model = gn.from_torch(net, (3, 32, 32))                       # float32, as people use it
    X = np.random.default_rng(8).normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())
    assert model.count_params() == sum(p.numel() for p in net.parameters()) + sum(
        b.numel() for name, b in net.named_buffers() if "num_batches" not in name)
    text = str(model.summary(print_fn=None))
    assert ("DepthwiseConv2D" in text) == (make is mobilenet_v2)
    assert str(model.trace(batch_size=1)) and str(model.explain())
    if make is mobilenet_v2:                           # and out again: ONNX Runtime, PyTorch
        gn.to_onnx(model, tmp_path / "m.onnx")
        session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                               providers=["CPUExecutionProvider"])
        ours = model.predict(X, verbose=0)
        feed = {session.get_inputs()[0].name: X}
        np.testing.assert_allclose(session.run(None, feed)[0], ours, rtol=1e-4,
                                   atol=1e-5 * np.abs(ours).max())
        with torch.no_grad():
            back = gn.to_torch(model)(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(back, ours, rtol=1e-4, atol=1e-5 * np.abs(ours).max())


# --- what is refused, and how -----------------------------------------------------------------
class Body(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)


class Returns(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body, self.fc = body, nn.Linear(4, 4)

    def forward(self, x):
        return self.body(self.fc(x))


REFUSED = {
    "softmax_over_the_batch": (lambda: Returns(lambda x: F.softmax(x, dim=0)),
                               r"F.softmax \(at softmax\) over dim=0 of a 2-axis tensor has no "
                               r"glassnet form \(glassnet's softmax runs over the last axis"),
    "unknown_function": (lambda: Returns(torch.sin),
                         r"from_torch: torch.sin \(at sin\) has no glassnet form. Supported: "),
    "slicing": (lambda: Returns(lambda x: x[:, 0]),
                r"the indexing \[\(slice\(None, None, None\), 0\)\] .* of a 2-axis tensor has no "
                r"glassnet form \(glassnet slices the time axis"),
    "cat_on_batch": (lambda: Returns(lambda x: torch.cat([x, x])),
                     r"torch.cat \(at cat\) along the batch axis has no glassnet form"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_calls_are_named_not_printed_as_fx_nodes(name):
    make, message = REFUSED[name]
    with pytest.raises(TypeError, match=message) as caught:
        gn.from_torch(make(), (4,))
    assert "call_function" not in str(caught.value) and "%" not in str(caught.value)


@pytest.mark.parametrize("module, message", [
    (nn.AvgPool2d(2, divisor_override=3), r"nn.AvgPool2d at 0 with divisor_override=3 has "
                                          r"no glassnet form"),
    (nn.AvgPool2d(3, 1, padding=1), r"with padding and count_include_pad=True has no "
                                    r"glassnet form .*give count_include_pad=False"),
    (nn.MaxPool2d(2, ceil_mode=True), r"with ceil_mode=True has no glassnet form"),
    (nn.AdaptiveAvgPool2d(3), r"to \(3, 3\) from 4x4 has no glassnet form"),
    (nn.Conv2d(2, 2, 3, padding=(1, 0)), r"with padding \(1, 0\) has no glassnet form "
                                         r"\(different per axis\)"),
])
def test_pooling_and_convolution_options_glassnet_lacks_are_refused(module, message):
    with pytest.raises(TypeError, match=message):
        gn.from_torch(nn.Sequential(module), (2, 4, 4))


def test_avg_pool_without_counting_padding_converts():
    _check(nn.Sequential(nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)), (2, 4, 4),
           views=False)


def test_bidirectional_half_states_are_refused_with_the_way_that_works():
    class OneHalf(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 5, batch_first=True, bidirectional=True)

        def forward(self, x):
            _, h = self.gru(x)
            return h[-1]
    with pytest.raises(TypeError, match=r"h_n\[-1\] of the bidirectional gru .*write "
                                        r"torch.cat\(\(h\[-2\], h\[-1\]\), dim=1\)"):
        gn.from_torch(OneHalf(), (3, 4))


def test_an_rnn_whose_final_state_is_read_before_its_steps_is_refused():
    class LastThenAll(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 3, batch_first=True)

        def forward(self, x):
            out, h = self.gru(x)
            last = h[-1] * 2.0                   # the final state becomes a layer first
            return last + out.mean(dim=1)
    with pytest.raises(TypeError, match=r"the outputs of gru \(nn.GRU\) are used in two ways"):
        gn.from_torch(LastThenAll(), (5, 4))


def test_a_module_with_weights_called_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))
    with pytest.raises(TypeError, match=r"fc \(nn.Linear\) is called more than once; its "
                                        r"calls share weights"):
        gn.from_torch(Twice(), (4,))


def test_a_wrong_input_shape_gets_a_message_not_a_broadcast_error():
    net = nn.Sequential(nn.Linear(784, 10))
    with pytest.raises(ValueError, match=r"from_torch: 0 \(Dense\(10\)\) holds weights W of "
                                         r"shape \(784, 10\) .* but the input reaching it, "
                                         r"\(batch, 100\), needs \(100, 10\). Check "
                                         r"input_shape"):
        gn.from_torch(net, (100,))
    with pytest.raises(ValueError, match=r"0 \(nn.Conv2d\) expects images \(batch, C, H, W\), "
                                         r"but receives \(batch, 28, 28\)"):
        gn.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3)), (28, 28))
    with pytest.raises(ValueError, match=r"x.view\(\) \(at view\) reshapes \(batch, 4, 2, 2\) "
                                         r"to \(-1, 8\), which changes the batch"):
        gn.from_torch(Body(lambda x: x.view(-1, 8)), (4, 2, 2))
    with pytest.raises(ValueError, match=r"from_torch: at _0: MaxPool2D\(5x5\) cannot fit its "
                                         r"5x5 window .* Check input_shape=\(2, 3, 3\)"):
        gn.from_torch(nn.Sequential(nn.MaxPool2d(5)), (2, 3, 3))
    with pytest.raises(ValueError, match=r"from_torch: tolerance must be in \[0, 1\]"):
        gn.from_torch(nn.Sequential(nn.ReLU()), (2,), tolerance=5)


# --- silence made impossible (issue 18, section 4) -------------------------------------------
def test_weights_with_nan_or_beyond_float32_are_refused():
    net = nn.Sequential(nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"the weights 0.weight hold NaN or infinite values"):
        gn.from_torch(net, (3,))
    net = nn.Sequential(nn.Linear(3, 2)).double()
    with torch.no_grad():
        net[0].bias[1] = 1e39
    with pytest.raises(ValueError, match=r"the weights 0.bias reach 1e\+39, beyond float32's "
                                         r"range .*use dtype='float64'"):
        gn.from_torch(net, (3,))
    assert gn.from_torch(net, (3,), dtype="float64").layers[0].params["b"][1] == 1e39


def test_a_replaced_forward_is_refused_not_rebuilt_from_the_old_architecture():
    net = nn.Sequential(nn.Linear(3, 2))
    net.forward = lambda x: torch.tanh(net[0](x))
    with pytest.raises(TypeError, match=r"Sequential.forward was replaced on the instance"):
        gn.from_torch(net, (3,))
    model = gn.Sequential([gn.Dense(2, input_shape=(3,))]).build()
    exported = gn.to_torch(model)
    exported.forward = lambda x: x[:, :2]
    with pytest.raises(TypeError, match=r"forward was replaced on the instance"):
        gn.from_torch(exported, None)
    stale = gn.to_torch(model)
    type(stale).forward = lambda self, x: torch.relu(next(self.children())(x))  # changed
    with pytest.raises(ValueError, match=r"does not compute what the module computes"):
        gn.from_torch(stale, None)


def test_a_deliberately_wrong_conversion_is_refused_naming_the_step(monkeypatch):
    original = torch_import.Converter.activation_module

    def tanh_taken_for_sigmoid(self, module):
        return ("sigmoid",) if isinstance(module, nn.Tanh) else original(self, module)
    monkeypatch.setattr(torch_import.Converter, "activation_module", tanh_taken_for_sigmoid)
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 5), nn.Tanh(),
                        nn.Linear(5, 2))
    with pytest.raises(ValueError, match=r"does not compute what the module computes from 3 "
                                         r"\(nn.Tanh\) on \(fx node '_3': its output differs "
                                         r"by [0-9.e-]+\): the outputs differ by [0-9.e-]+ .*"
                                         r"tolerance is 1e-06 of that\), on random inputs"):
        gn.from_torch(net, (4,))


def test_the_users_example_is_checked_too(monkeypatch):
    original = torch_import.Converter.activation_module

    def relu_taken_for_relu6(self, module):
        return ("relu6",) if isinstance(module, nn.ReLU) else original(self, module)
    monkeypatch.setattr(torch_import.Converter, "activation_module", relu_taken_for_relu6)
    net = nn.Sequential(nn.ReLU())
    gn.from_torch(net, (3,))                         # random N(0, 1) inputs never reach 6
    with pytest.raises(ValueError, match=r"on your example in float64"):
        gn.from_torch(net, (3,), example=np.full((1, 3), 100.0))
    with pytest.raises(ValueError, match=r"example has shapes \[\(1, 4\)\], but input_shape"):
        gn.from_torch(net, (3,), example=np.ones((1, 4)))


# --- the layers added for these idioms save and load --------------------------------------
@pytest.mark.parametrize("name", sorted(NEW_LAYER_CASES))
def test_new_layers_save_load_and_describe_themselves(name, tmp_path):
    factory, in_shape, _ = LAYER_CASES[name]
    model = gn.Sequential([factory()], input_shape=in_shape[1:], dtype="float64", seed=3)
    model.build()
    rng = np.random.default_rng(9)
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    X = sample_input(name, in_shape, rng)
    gn.save_model(model, tmp_path / "m.glassnet")
    back = gn.load_model(tmp_path / "m.glassnet")
    assert back.get_config() == model.get_config()
    np.testing.assert_array_equal(back.predict(X, verbose=0), model.predict(X, verbose=0))
    assert str(model.summary(print_fn=None)) and str(model.trace(batch_size=2))
    assert str(model.explain())
