"""The tour's chapters, one function per section of the lectures, in their order.

Each chapter is the code a learner would write: build a model, look inside it, train
it, draw it. Its words are in the language files (``[chapters.<name>]`` in
``text/en.toml`` and ``text/ko.toml``: the title, the introduction, and every sentence
it says with the numbers it computed); ``tour`` shows what it makes (see ``Tour``).
The notebook (``glassnet tour --notebook``) is these same function bodies as code
cells, so what a chapter does is written once.

To add a picture to a chapter, add one line to its function, e.g.
``tour.show(viz.plot_broadcasting(lang=tour.lang), "broadcasting")``: it is saved as
broadcasting.png, put on the page with its caption and slide, and shown in the
notebook."""
# --- imports (the notebook's first cell) ---
import numpy as np

from glassnet import datasets, optimizers, viz
from glassnet.course.examples import l2_backprop_example, linear_collapse
from glassnet.inspect import compare_dense_conv, explain, summary, trace
from glassnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from glassnet.layers.activations import softmax
from glassnet.network import Sequential

# --- end of imports ---


def why_matrices(tour):
    rows = viz.time_loop_vs_matmul(batch_sizes=tour.pick((1, 8, 32, 128), (1, 8, 32)),
                                   seed=tour.seed)
    for batch, loop, sample, batched in rows:
        tour.log("timing", batch=batch, loop=loop * 1e3, sample=sample * 1e3,
                 batched=batched * 1e3, ratio=loop / batched)
    tour.show(viz.plot_loop_vs_matmul(rows, lang=tour.lang), "loop_vs_matmul")


def neuron_to_layer(tour):
    layer = Sequential([Dense(2, activation="softmax", input_dim=3)], seed=tour.seed,
                       dtype="float64").build()
    layer.set_weights([np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), np.array([0.5, -0.5])])
    tour.block(summary(layer, 4, lang=tour.lang), "summary_title")
    tour.show(viz.plot_neuron_to_layer(lang=tour.lang), "neuron_to_layer")
    tour.show(viz.plot_colour_matmul(b=(0.5, -0.5), lang=tour.lang), "colour_matmul")
    tour.seed_layer = layer


def weighted_sum(tour):
    tour.equation("affine")
    tour.block(explain(tour.seed_layer, [1.0, 2.0, 3.0], lang=tour.lang))
    tour.equation("softmax")
    table = np.array([[1, 2, 0], [-1, 0, 1], [-10, 0, 10]], dtype=np.float64)
    rows = "\n".join("   [" + ", ".join(f"{v:.8e}" for v in row) + "]" for row in softmax(table))
    tour.block(tour.words_for("softmax_table") + "\n" + rows)
    tour.say("collapse", text=linear_collapse(tour.seed, tour.lang)[0])


def shapes(tour):
    tour.equation("batch")
    tour.mlp = Sequential([Dense(8, activation="relu", input_dim=4),
                           Dense(8, activation="relu"), Dense(3, activation="softmax")],
                          seed=tour.seed)
    mnist = Sequential([Dense(256, activation="relu", input_dim=784),
                        Dense(10, activation="softmax")], seed=tour.seed)
    tour.block(summary(tour.mlp, 1, lang=tour.lang), "mlp_title")
    tour.block(trace(tour.mlp, 1, lang=tour.lang))
    tour.block(summary(mnist, 64, lang=tour.lang), "mnist_title")
    tour.block(trace(mnist, 64, lang=tour.lang))
    tour.show(viz.plot_broadcasting(lang=tour.lang), "broadcasting")


def geometry(tour):
    def warp(name, data, layers, lr, epochs):
        X, y = data
        X = datasets.standardize(X)
        model = Sequential(layers, seed=tour.seed)
        model.compile(optimizers.Adam(lr), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        tour.log(f"training_{name}")
        tour.train(model, X, y, epochs, every=max(1, epochs // 5), seed=tour.seed)
        tour.log("accuracy", accuracy=model.evaluate(X, y, verbose=0,
                                                      return_dict=True)["accuracy"])
        tour.show(viz.plot_warp(model, X, y, lang=tour.lang), name)
        tour.show(viz.animate_warp(model, X, y, frames_per_step=tour.pick(5, 2),
                                   lang=tour.lang), f"{name}_animation")

    warp("warp", datasets.make_moons(300, noise=0.08, seed=tour.seed),
         [Dense(2, activation="tanh", input_dim=2), Dense(2, activation="tanh"),
          Dense(2, activation="tanh"), Dense(2, activation="softmax")],
         0.02, tour.pick(300, 60))
    warp("warp_3d", datasets.make_circles(300, seed=tour.seed),
         [Dense(3, activation="tanh", input_dim=2), Dense(2, activation="softmax")],
         0.03, tour.pick(150, 40))
    X, y = datasets.make_spirals(300, arms=2, noise=0.15, seed=tour.seed)
    model = Sequential([Dense(16, activation="relu", input_dim=2),
                        Dense(16, activation="relu"), Dense(2, activation="softmax")],
                       seed=tour.seed)
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    tour.show(viz.boundary_through_training(model, datasets.standardize(X), y,
                                            epochs=tour.pick(80, 20), panels=8,
                                            seed=tour.seed, lang=tour.lang),
              "boundary_training")


def bias(tour):
    tour.equation("bias")
    tour.show(viz.plot_bias_threshold(lang=tour.lang), "bias_threshold")


def chain(tour):
    tour.equation("chain")
    network = Sequential([Dense(5, activation="relu", input_dim=4),
                          Dense(6, activation="relu"), Dense(4, activation="relu"),
                          Dense(3, activation="softmax")], seed=tour.seed)
    tour.block(summary(network, 1, lang=tour.lang), "network_title")
    tour.show(viz.plot_universal_approximation(seed=tour.seed, epochs=tour.pick(400, 60),
                                               lang=tour.lang), "universal_approximation")


def batching(tour):
    X, y = datasets.load_digits()
    X_train, raw_test, y_train, tour.y_test = datasets.train_test_split(X, y, 0.2,
                                                                        seed=tour.seed)
    X_train, tour.X_test = datasets.standardize(X_train, raw_test)
    tour.X_train, tour.y_train, tour.raw_test = X_train, y_train, raw_test
    tour.digits = Sequential([Dense(128, activation="relu", input_dim=64), Dropout(0.2),
                              Dense(64, activation="relu"), Dense(10, activation="softmax")],
                             seed=tour.seed)
    tour.digits.compile(optimizers.Adam(1e-3, weight_decay=1e-2),
                        "sparse_categorical_crossentropy", metrics=["accuracy"])
    tour.block(trace(tour.digits, 32, lang=tour.lang))
    tour.log("training_digits")
    norms = viz.GradientNorms()
    history = tour.train(tour.digits, X_train, y_train, tour.pick(40, 8),
                         every=tour.pick(4, 1), validation_split=0.1, seed=tour.seed,
                         callbacks=[norms])
    tour.accuracy = tour.digits.evaluate(tour.X_test, tour.y_test, verbose=0,
                                         return_dict=True)["accuracy"]
    tour.say("accuracy", accuracy=100 * tour.accuracy)
    tour.show(viz.plot_batch_timing(lang=tour.lang), "batch_timing")
    tour.show(viz.plot_training(history, norms, lang=tour.lang), "training")


def explosion(tour):
    comparison = compare_dense_conv(lang=tour.lang)
    tour.block(comparison)
    tour.show(viz.plot_parameter_explosion(comparison, lang=tour.lang), "parameter_explosion")
    tour.show(viz.plot_vgg_stack(lang=tour.lang), "vgg_stack")


def image_to_vector(tour):
    tour.show(viz.plot_image_to_vector(tour.digits, tour.X_test[0], tour.y_test[0],
                                       pixels=tour.raw_test[0], lang=tour.lang),
              "image_to_vector")
    tour.block(explain(tour.digits, tour.X_test[0], lang=tour.lang))
    tour.cnn = Sequential([Conv2D(8, 3, activation="relu", padding="same"), MaxPool2D(2),
                           Flatten(), Dense(32, activation="relu"),
                           Dense(10, activation="softmax")], input_shape=(8, 8, 1),
                          seed=tour.seed)
    tour.cnn.compile(optimizers.Adam(2e-3), "sparse_categorical_crossentropy",
                     metrics=["accuracy"])
    tour.images = tour.X_test.reshape(-1, 8, 8, 1)
    tour.log("training_cnn")
    tour.train(tour.cnn, tour.X_train.reshape(-1, 8, 8, 1), tour.y_train, tour.pick(10, 2),
               every=tour.pick(2, 1), seed=tour.seed)
    accuracy = tour.cnn.evaluate(tour.images, tour.y_test, verbose=0,
                                 return_dict=True)["accuracy"]
    tour.say("cnn_accuracy", accuracy=100 * accuracy, params=tour.cnn.count_params(),
             mlp_accuracy=100 * tour.accuracy, mlp_params=tour.digits.count_params())
    tour.show(viz.plot_image_to_vector(tour.cnn, tour.images[0], tour.y_test[0],
                                       pixels=tour.raw_test[0], lang=tour.lang),
              "image_to_vector_cnn")


def losses(tour):
    tour.equation("losses")
    tour.show(viz.plot_losses(lang=tour.lang), "losses")


def backprop(tour):
    tour.equation("backprop")
    tour.show(viz.plot_backprop(lang=tour.lang), "backprop")
    tour.block(l2_backprop_example(lang=tour.lang)[0])
    tour.show(viz.plot_computational_graph(lang=tour.lang), "computational_graph")
    tour.block(trace(tour.mlp, 32, backward=True, lang=tour.lang))
    tour.show(viz.plot_activation_derivatives(lang=tour.lang), "activation_derivatives")
    tour.show(viz.plot_choices(seed=tour.seed, epochs=tour.pick(30, 10), lang=tour.lang),
              "choices")


def optimisers(tour):
    tour.equation("sgd")
    tour.show(viz.plot_optimizer_paths(lang=tour.lang), "optimizers")


def overfitting(tour):
    tour.show(viz.plot_overfitting(seed=tour.seed, epochs=tour.pick(300, 100),
                                   lang=tour.lang), "overfitting")


def beyond_the_mlp(tour):
    tour.show(viz.plot_convolution(tour.cnn, tour.images[0], pixels=tour.raw_test[0],
                                   lang=tour.lang), "convolution")
    tour.equation("rnn")
    rnn, X_seq, _ = viz.train_sine_rnn(seed=tour.seed, epochs=tour.pick(20, 5))
    tour.show(viz.plot_recurrence(rnn, X_seq, lang=tour.lang), "recurrence")
    tour.equation("attention")
    attention, X_tokens, y_tokens = viz.train_signal_attention(seed=tour.seed,
                                                               epochs=tour.pick(20, 5))
    picks = [int(np.argmax(y_tokens == k)) for k in range(3)]   # one sequence per signal
    tour.show(viz.plot_attention(attention, X_tokens[picks], lang=tour.lang), "attention")


def recap(tour):
    pass


CHAPTERS = (why_matrices, neuron_to_layer, weighted_sum, shapes, geometry, bias, chain,
            batching, explosion, image_to_vector, losses, backprop, optimisers, overfitting,
            beyond_the_mlp, recap)
