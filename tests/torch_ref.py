"""PyTorch twins of glassnet objects, for parity tests (float64, CPU).

glassnet stores a Dense kernel as W (in, out) so that it computes X @ W + b;
PyTorch's Linear stores weight (out, in) and computes X @ weight.T + bias. The one
conversion between the two is ``torch_linear`` (and ``.grad.T`` on the way back).
"""
import numpy as np
import torch
import torch.nn.functional as F

import glassnet as gn
from glassnet.layers.conv import kernel_to_pytorch

ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.2),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
    "gelu": F.gelu,                                     # exact (erf), as glassnet's
}


def tensor(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def torch_linear(W, b=None):
    """A torch Linear holding glassnet's W (in, out) as weight (out, in)."""
    linear = torch.nn.Linear(W.shape[0], W.shape[1], bias=b is not None, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(tensor(W.T))
        if b is not None:
            linear.bias.copy_(tensor(b))
    return linear


def nchw(X):
    """glassnet's channels-last (B, H, W, C) as PyTorch's (B, C, H, W)."""
    return X.permute(0, 3, 1, 2)


def nhwc(X):
    return X.permute(0, 2, 3, 1)


def torch_conv_weight(W):
    """glassnet's kernel (kh, kw, C, F) as PyTorch's (F, C, kh, kw), a leaf tensor."""
    return tensor(kernel_to_pytorch(W), grad=True)


def torch_pads(window, hw):
    """glassnet's (possibly uneven) padding as F.pad's (left, right, top, bottom)."""
    (top, bottom), (left, right) = window.pads(hw)
    return (left, right, top, bottom)


def torch_batchnorm(layer):
    features = layer.params["gamma"].shape[0]
    bn = torch.nn.BatchNorm1d(features, eps=layer.epsilon, momentum=1 - layer.momentum,
                              dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(tensor(layer.params["gamma"]))
        bn.bias.copy_(tensor(layer.params["beta"]))
        bn.running_mean.copy_(tensor(layer.state["running_mean"]))
        bn.running_var.copy_(tensor(layer.state["running_var"]))
    return bn


def torch_model(model):
    """A torch.nn.Sequential computing the same function as a glassnet Sequential."""
    modules = []
    for layer in model.layers:
        if isinstance(layer, gn.Dense):
            modules.append(torch_linear(layer.params["W"], layer.params.get("b")))
            modules.append(Lambda(ACTIVATIONS[layer.activation.name]))
        elif isinstance(layer, gn.Activation):
            modules.append(Lambda(ACTIVATIONS[layer.activation.name]))
        elif isinstance(layer, gn.BatchNorm):
            modules.append(torch_batchnorm(layer))
        elif isinstance(layer, gn.Flatten):
            modules.append(torch.nn.Flatten())
        else:
            raise NotImplementedError(type(layer).__name__)
    return torch.nn.Sequential(*modules)


def torch_weights(net):
    """The torch model's weights in glassnet's get_weights order and layout."""
    out = []
    for module in net:
        if isinstance(module, torch.nn.Linear):
            out.append(module.weight.detach().numpy().T)
            if module.bias is not None:
                out.append(module.bias.detach().numpy())
        elif isinstance(module, torch.nn.BatchNorm1d):
            out += [module.weight.detach().numpy(), module.bias.detach().numpy(),
                    module.running_mean.numpy(), module.running_var.numpy()]
    return out


def torch_grads(net):
    out = []
    for module in net:
        if isinstance(module, torch.nn.Linear):
            out.append(module.weight.grad.numpy().T)
            if module.bias is not None:
                out.append(module.bias.grad.numpy())
        elif isinstance(module, torch.nn.BatchNorm1d):
            out += [module.weight.grad.numpy(), module.bias.grad.numpy()]
    return out


class Lambda(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)
