"""Parameter explosion (seed 000, slide 13): a dense layer against a convolution on the
same image. 224x224x3 -> 4,096 units is 616,562,688 weights; a 3x3x3 kernel with 64
output channels is 1,728 -- weight sharing and local connectivity."""
import math

from . import units
from .report import Report, Section


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"compare_dense_conv: {name} must be a positive whole number, got "
                         f"{value!r}.")
    return value


def compare_dense_conv(input_shape=(224, 224, 3), units_out=4096, kernel_size=3, filters=64,
                       dtype_bytes=4, lang="en"):
    """Weights of Dense(units_out) on the flattened image against Conv2D(filters, k x k),
    in ``lang`` ("en" or "ko")."""
    if len(input_shape) != 3:
        raise ValueError(f"compare_dense_conv: input_shape must be (height, width, channels), "
                         f"got {input_shape!r}.")
    h, w, c = (_positive("input_shape", d) for d in input_shape)
    _positive("units", units_out), _positive("kernel_size", kernel_size)
    _positive("filters", filters), _positive("dtype_bytes", dtype_bytes)
    inputs = h * w * c
    dense_w, dense_b = inputs * units_out, units_out
    conv_w, conv_b = kernel_size * kernel_size * c * filters, filters
    rows = [
        ["Dense", f"{h}x{w}x{c} = {inputs:,} inputs -> {units_out:,} units",
         f"{inputs:,} x {units_out:,}", units.count(dense_w), units.count(dense_w + dense_b),
         units.nbytes((dense_w + dense_b) * dtype_bytes)],
        ["Conv2D", f"{kernel_size}x{kernel_size}x{c} kernel, {filters} output channels",
         f"{kernel_size} x {kernel_size} x {c} x {filters}", units.count(conv_w),
         units.count(conv_w + conv_b), units.nbytes((conv_w + conv_b) * dtype_bytes)],
    ]
    ratio = (dense_w + dense_b) / (conv_w + conv_b)
    lines = [f"The dense layer needs {ratio:,.0f}x the parameters of the convolution "
             f"({units.nbytes((dense_w + dense_b) * dtype_bytes)} against "
             f"{units.nbytes((conv_w + conv_b) * dtype_bytes)} at {dtype_bytes} bytes per "
             f"value). Every dense unit has its own weight for every pixel; a convolution "
             f"shares one small kernel across all positions (weight sharing) and looks only "
             f"at a {kernel_size}x{kernel_size} neighbourhood (local connectivity)."]
    section = Section(columns=["Layer", "Connects", "Weights", "Weight count",
                               "With biases", "Memory"], rows=rows, lines=lines,
                      align=["l", "l", "l", "r", "r", "r"])
    data = {"input_shape": [h, w, c], "dense": {"weights": dense_w, "biases": dense_b,
                                                "bytes": (dense_w + dense_b) * dtype_bytes},
            "conv": {"weights": conv_w, "biases": conv_b,
                     "bytes": (conv_w + conv_b) * dtype_bytes},
            "ratio": ratio, "inputs": math.prod(input_shape)}
    return Report("Parameter explosion: dense against convolution", [section], data, lang)
