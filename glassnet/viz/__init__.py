"""Pictures of data flowing through a network (matplotlib lives only here)."""
from .charts import (GradientNorms, boundary_through_training, layer_statistics,
                     plot_bias_threshold, plot_choices, plot_colour_matmul,
                     plot_decision_boundary, plot_image_to_vector, plot_loop_vs_matmul,
                     plot_parameter_explosion, plot_training, plot_universal_approximation,
                     time_loop_vs_matmul)
from .picture import Picture
from .warp import animate_warp, hidden_steps, plot_warp, warp_steps

__all__ = ["Picture", "plot_warp", "animate_warp", "warp_steps", "hidden_steps",
           "boundary_through_training", "plot_decision_boundary", "plot_bias_threshold",
           "plot_colour_matmul", "plot_image_to_vector", "time_loop_vs_matmul",
           "plot_loop_vs_matmul", "plot_parameter_explosion", "GradientNorms",
           "plot_training", "layer_statistics", "plot_choices",
           "plot_universal_approximation"]
