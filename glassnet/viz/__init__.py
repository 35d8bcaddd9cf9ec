"""Pictures of data flowing through a network (matplotlib lives only here). Every
picture function takes ``lang`` ("en" or "ko"), returns a ``Picture`` whose caption says
what to notice and whose ``slide`` names the lecture slide it draws."""
from .architectures import (plot_attention, plot_convolution, plot_recurrence,
                            train_signal_attention, train_sine_rnn)
from . import boundary  # noqa: F401  (viz.boundary.changing_epochs)
from .approximation import plot_universal_approximation
from .arithmetic import (plot_bias_threshold, plot_colour_matmul, plot_loop_vs_matmul,
                         time_loop_vs_matmul)
from .boundary import boundary_through_training, plot_decision_boundary
from .images import plot_image_to_vector, plot_parameter_explosion
from .foundations import (plot_activation_derivatives, plot_batch_timing, plot_broadcasting,
                          plot_computational_graph, plot_neuron_to_layer, plot_vgg_stack,
                          time_batch_sizes)
from .lessons import plot_backprop, plot_losses, plot_optimizer_paths
from .picture import Picture
from .training import (GradientNorms, dead_units, layer_statistics, plot_choices,
                       plot_overfitting, plot_training)
from .warp import animate_warp, hidden_steps, plot_warp, warp_steps

__all__ = ["Picture", "plot_warp", "animate_warp", "warp_steps", "hidden_steps",
           "boundary_through_training", "plot_decision_boundary", "plot_bias_threshold",
           "plot_colour_matmul", "plot_image_to_vector", "time_loop_vs_matmul",
           "plot_loop_vs_matmul", "plot_parameter_explosion", "GradientNorms",
           "plot_training", "layer_statistics", "dead_units", "plot_choices",
           "plot_overfitting", "plot_universal_approximation", "plot_losses",
           "plot_optimizer_paths", "plot_backprop", "plot_convolution", "plot_recurrence",
           "plot_attention", "train_sine_rnn", "train_signal_attention",
           "plot_neuron_to_layer", "plot_broadcasting", "plot_computational_graph",
           "plot_activation_derivatives", "plot_batch_timing", "time_batch_sizes",
           "plot_vgg_stack"]
