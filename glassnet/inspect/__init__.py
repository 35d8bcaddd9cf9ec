"""Seeing inside a model: summary, trace, explain and the parameter explosion, each a
``Report`` that renders as text, Markdown, JSON or HTML. Reads the engine's own
descriptions (``layer.ops``, ``output_shape``, ``param_shapes``); computes nothing the
engine does not."""
from .explain import explain
from .explosion import compare_dense_conv
from .report import Report, Section
from .summary import MAC_CONVENTION, summary
from .trace import trace

__all__ = ["Report", "Section", "summary", "trace", "explain", "compare_dense_conv",
           "MAC_CONVENTION"]
