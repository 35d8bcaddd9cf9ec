"""Every picture of glassnet.viz, made small and fast for the tests, in either language:
``PICTURES[name] = (make(seed, lang), panels)``."""
import glassnet as gn
from glassnet import viz
from glassnet.inspect import compare_dense_conv


def moons_model(seed=0, epochs=60):
    X, y = gn.datasets.make_moons(200, noise=0.08, seed=seed)
    X = gn.datasets.standardize(X)
    model = gn.Sequential([gn.Dense(2, activation="tanh", input_dim=2),
                           gn.Dense(3, activation="tanh"),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X, y


def circles_model(seed=0, epochs=80):
    """2 -> 3 (tanh) -> 2: a hidden space of width 3, drawn in 3-D."""
    X, y = gn.datasets.make_circles(200, seed=seed)
    X = gn.datasets.standardize(X)
    model = gn.Sequential([gn.Dense(3, activation="tanh", input_dim=2),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.03), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, seed=seed, verbose=0)
    return model, X, y


def digits_model(seed=0):
    X, y = gn.datasets.load_digits()
    X = X / 16.0
    model = gn.Sequential([gn.Dense(32, activation="relu", input_dim=64),
                           gn.Dense(10, activation="softmax")], seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    norms = viz.GradientNorms()
    history = model.fit(X, y, epochs=3, validation_split=0.2, seed=seed, verbose=0,
                        callbacks=[norms])
    return model, X, y, history, norms


def cnn_digits_model(seed=0):
    X, y = gn.datasets.load_digits()
    X = (X / 16.0).reshape(-1, 8, 8, 1)
    model = gn.Sequential([gn.Conv2D(8, 3, activation="relu", padding="same"), gn.MaxPool2D(2),
                           gn.Flatten(), gn.Dense(32, activation="relu"),
                           gn.Dense(10, activation="softmax")], input_shape=(8, 8, 1), seed=seed)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X[:600], y[:600], epochs=1, seed=seed, verbose=0)
    return model, X[0], y[0]


def boundary_training(seed, lang="en"):
    X, y = gn.datasets.make_moons(200, noise=0.08, seed=seed)
    model = gn.Sequential([gn.Dense(8, activation="relu", input_dim=2),
                           gn.Dense(2, activation="softmax")], seed=seed)
    model.compile(gn.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    return viz.boundary_through_training(model, X, y, epochs=12, panels=4, seed=seed,
                                         lang=lang)


def convolution(seed, lang="en"):
    model, image, _ = cnn_digits_model(seed)
    return viz.plot_convolution(model, image, pixels=gn.datasets.load_digits()[0][0], lang=lang)


def image(seed, lang):
    return viz.plot_image_to_vector(digits_model(seed)[0], gn.datasets.load_digits()[0][0] / 16,
                                    0, lang=lang)


PICTURES = {
    "bias": (lambda seed, lang: viz.plot_bias_threshold(lang=lang), 3),
    "matmul": (lambda seed, lang: viz.plot_colour_matmul(lang=lang), 1),
    "explosion": (lambda seed, lang: viz.plot_parameter_explosion(compare_dense_conv(),
                                                                  lang=lang), 3),
    "warp": (lambda seed, lang: viz.plot_warp(*moons_model(seed), lang=lang), 8),
    "warp3d": (lambda seed, lang: viz.plot_warp(*circles_model(seed), lang=lang), 5),
    "warp_animation": (lambda seed, lang: viz.animate_warp(*moons_model(seed),
                                                           frames_per_step=2, lang=lang), 1),
    "warp3d_animation": (lambda seed, lang: viz.animate_warp(*circles_model(seed),
                                                             frames_per_step=2, lang=lang), 1),
    "boundary": (lambda seed, lang: viz.plot_decision_boundary(*moons_model(seed), lang=lang), 1),
    "boundary_training": (boundary_training, 3),
    "image": (image, 11),
    "image_cnn": (lambda seed, lang: viz.plot_image_to_vector(*cnn_digits_model(seed),
                                                              lang=lang), 13),
    "training": (lambda seed, lang: viz.plot_training(*digits_model(seed)[3:], lang=lang), 3),
    "choices": (lambda seed, lang: viz.plot_choices(seed=seed, epochs=3, lang=lang), 6),
    "universal": (lambda seed, lang: viz.plot_universal_approximation(seed=seed, epochs=20,
                                                                      lang=lang), 3),
    "losses": (lambda seed, lang: viz.plot_losses(lang=lang), 2),
    "optimizers": (lambda seed, lang: viz.plot_optimizer_paths(steps=20, lang=lang), 5),
    "backprop": (lambda seed, lang: viz.plot_backprop(lang=lang), 2),
    "overfitting": (lambda seed, lang: viz.plot_overfitting(seed=seed, epochs=30, lang=lang), 3),
    "convolution": (convolution, 6),
    "recurrence": (lambda seed, lang: viz.plot_recurrence(
        *viz.train_sine_rnn(seed, epochs=2)[:2], lang=lang), 3),
    "attention": (lambda seed, lang: viz.plot_attention(
        *viz.train_signal_attention(seed, epochs=2)[:2], lang=lang), 4),
    "loop_vs_matmul": (lambda seed, lang: viz.plot_loop_vs_matmul(   # timings as measured
        [(1, 2e-4, 3e-5, 2e-6), (8, 1.6e-3, 2.4e-4, 3e-6), (32, 6.4e-3, 9.6e-4, 5e-6)],
        lang=lang), 1),                                  # once: drawn the same every time
    "neuron_to_layer": (lambda seed, lang: viz.plot_neuron_to_layer(lang=lang), 2),
    "broadcasting": (lambda seed, lang: viz.plot_broadcasting(seed=seed, lang=lang), 4),
    "computational_graph": (lambda seed, lang: viz.plot_computational_graph(lang=lang), 1),
    "activation_derivatives": (lambda seed, lang: viz.plot_activation_derivatives(lang=lang),
                               3),
    "batch_timing": (lambda seed, lang: viz.plot_batch_timing(
        [(1, 3.9e-5), (2, 2.1e-5), (8, 6.2e-6), (32, 2.1e-6), (128, 1.2e-6), (512, 1.05e-6)],
        lang=lang), 1),
    "vgg_stack": (lambda seed, lang: viz.plot_vgg_stack(lang=lang), 2),
}
