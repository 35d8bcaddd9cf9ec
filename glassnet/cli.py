"""The ``glassnet`` command line.

    glassnet train --data digits --model 64-64:relu-32:relu-10:softmax --epochs 30
    glassnet train --data moons --epochs 200
    glassnet train --data images.idx --labels labels.idx --out mnist.glassnet
    glassnet train --data table.csv --label-column -1
    glassnet evaluate digits.glassnet --data digits
    glassnet summary 784-256:relu-128:relu-10:softmax --batch 64
    glassnet trace 784-256:relu-10:softmax --batch 64 --backward
    glassnet explain 3-2:softmax --input 1,2,3
    glassnet compare-dense-conv --input 224x224x3 --units 4096 --kernel 3 --filters 64

A MODEL is a spec string (784-256:relu-10:softmax), a JSON config file, or a saved
.glassnet file. Reports print as text, or with --format markdown, json or html.
"""
import argparse
import os
import sys

import numpy as np


from . import datasets, optimizers
from .inspect import compare_dense_conv, report
from .io import load_model
from .spec import load_spec


def load_data(args):
    """(X, y) from a built-in name, an IDX pair or a CSV file."""
    source = args.data
    if source == "digits":
        return datasets.load_digits()
    if source in datasets.GENERATED:
        return datasets.GENERATED[source](n=args.samples, seed=args.seed)
    if source.endswith(".csv"):
        return datasets.load_csv(source, label_column=args.label_column)
    if args.labels is None:
        names = ", ".join(["digits", *datasets.GENERATED])
        raise ValueError(f"--data {source!r} is not a built-in dataset ({names}) or a .csv "
                         f"file; for IDX images also pass --labels LABELS.idx.")
    return datasets.load_mnist_idx(source, args.labels)


def _split(args, X, y):
    X_train, X_test, y_train, y_test = datasets.train_test_split(
        X, y, test_size=args.test_size, seed=args.seed)
    if not args.no_standardize:
        X_train, X_test = datasets.standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def cmd_train(args):
    X, y = load_data(args)
    classes = int(y.max()) + 1 if y.dtype.kind in "iu" else None
    X_train, X_test, y_train, y_test = _split(args, X, y)
    hidden = "128:relu-dropout:0.2-64:relu"
    spec = args.model or (f"{X.shape[1]}-{hidden}-{classes}:softmax" if classes
                          else f"{X.shape[1]}-{hidden}-1")
    model = load_spec(spec, seed=args.seed)
    loss = args.loss or ("sparse_categorical_crossentropy" if classes else "mse")
    optimizer = optimizers.OPTIMIZER_NAMES[args.optimizer](
        **({"learning_rate": args.lr} if args.lr else {}))
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if classes else ["mae"])
    print(f"data: {args.data}: {len(X_train)} training and {len(X_test)} test samples, "
          f"{X.shape[1]} features" + (f", {classes} classes" if classes else ""))
    print(f"model: {spec}\n")
    model.build()
    model.summary()
    print()
    model.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_split=args.validation_split, seed=args.seed,
              verbose=0 if args.quiet else 1)
    result = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
    print("\ntest: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    if "accuracy" in result:
        print(f"test accuracy: {100 * result['accuracy']:.2f}% on {len(X_test)} held-out samples")
    if args.out:
        model.save(args.out)
        print(f"saved: {args.out}")
    return 0


def cmd_evaluate(args):
    model = load_model(args.model_file)
    X, y = load_data(args)
    _, X_test, _, y_test = _split(args, X, y)
    result = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
    print(", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def _model_from(text, seed):
    """A model from a saved file, a JSON config or a spec string."""
    if text.endswith(".glassnet"):
        return load_model(text)
    return load_spec(text, seed=seed)


def _show(report_, fmt):
    if fmt == "text":
        print(report_.to_text(colour=report.use_colour()))
    else:
        print(report_.render(fmt).rstrip("\n"))
    return 0


def cmd_summary(args):
    return _show(_model_from(args.model, args.seed).summary(args.batch, print_fn=None),
                 args.format)


def cmd_trace(args):
    return _show(_model_from(args.model, args.seed).trace(args.batch, args.backward),
                 args.format)


def cmd_explain(args):
    model = _model_from(args.model, args.seed)
    x = None
    if args.input:
        try:
            x = np.array([float(v) for v in args.input.split(",")])
        except ValueError:
            raise ValueError(f"--input must be numbers separated by commas, such as 1,2,3; "
                             f"got {args.input!r}.") from None
    elif args.random_input:
        x = np.random.default_rng(args.seed).normal(size=model.trace_shapes()[0][1:])
    return _show(model.explain(x, cell=args.cell), args.format)


def cmd_compare(args):
    try:
        shape = tuple(int(v) for v in args.input.split("x"))
    except ValueError:
        raise ValueError(f"--input must be HxWxC, such as 224x224x3; got {args.input!r}.") \
            from None
    return _show(compare_dense_conv(shape, args.units, args.kernel, args.filters), args.format)


def cmd_tour(args):
    from .report import run_tour
    run_tour(args.out, quick=args.quick, seed=args.seed)
    return 0


PICTURES = ("warp", "warp-animation", "boundary", "boundary-animation", "bias", "matmul",
            "loops", "explosion", "image", "training", "choices", "universal")


def _digits_picture(name, args):
    """Train ``--model`` (an MLP by default; a spec such as
    8x8x1-conv:8:3:relu:same-maxpool:2-flatten-10:softmax for a CNN) on the digits and
    draw one test image through it, or its training curves."""
    from . import viz
    X, y = datasets.load_digits()
    X_train, raw_test, y_train, y_test = datasets.train_test_split(X, y, 0.2, seed=args.seed)
    X_train, X_test = datasets.standardize(X_train, raw_test)
    model = load_spec(args.model or "64-64:relu-10:softmax", seed=args.seed)
    shape = model.trace_shapes()[0][1:]
    X_train, X_test = X_train.reshape(-1, *shape), X_test.reshape(-1, *shape)
    model.compile(optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    norms = viz.GradientNorms()
    history = model.fit(X_train, y_train, epochs=args.epochs, validation_split=0.1,
                        seed=args.seed, verbose=0, callbacks=[norms])
    if name == "training":
        return viz.plot_training(history, norms)
    return viz.plot_image_to_vector(model, X_test[0], y_test[0], pixels=raw_test[0])


def cmd_picture(args):
    from . import viz
    name, seed = args.name, args.seed
    if args.epochs is None:
        args.epochs = 20 if name in ("image", "training") else 300
    allowed = (".gif",) if name.endswith("animation") else (".png", ".svg", ".pdf")
    if args.out and os.path.splitext(args.out)[1].lower() not in allowed:
        raise ValueError(f"--out {args.out}: the {name} picture is written as "
                         f"{' or '.join(allowed)}; give a file name ending in one of them.")
    if name in ("warp", "warp-animation", "boundary", "boundary-animation"):
        X, y = datasets.GENERATED[args.data](n=args.samples, seed=seed)
        X = datasets.standardize(X)
        classes = int(y.max()) + 1
        if name.startswith("warp"):
            spec = args.model or f"2-2:tanh-2:tanh-2:tanh-{classes}:softmax"
        else:
            spec = args.model or f"2-16:relu-16:relu-{classes}:softmax"
        model = load_spec(spec, seed=seed)
        model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        if name.startswith("boundary"):
            picture = viz.boundary_through_training(model, X, y, epochs=args.epochs,
                                                    every=max(1, args.epochs // 8), seed=seed)
        else:
            model.fit(X, y, epochs=args.epochs, batch_size=32, seed=seed, verbose=0)
            picture = (viz.animate_warp if name.endswith("animation") else viz.plot_warp)(
                model, X, y)
    elif name in ("image", "training"):
        picture = _digits_picture(name, args)
    else:
        picture = {"bias": viz.plot_bias_threshold, "matmul": viz.plot_colour_matmul,
                   "loops": lambda: viz.plot_loop_vs_matmul(viz.time_loop_vs_matmul(seed=seed)),
                   "explosion": lambda: viz.plot_parameter_explosion(compare_dense_conv()),
                   "choices": lambda: viz.plot_choices(seed=seed),
                   "universal": lambda: viz.plot_universal_approximation(seed=seed)}[name]()
    out = args.out or f"{name}.{'gif' if name.endswith('animation') else 'png'}"
    picture.save(out)
    print(f"{picture.title}: {out}")
    return 0


def _report_arguments(parser, model=True):
    if model:
        parser.add_argument("model", help="spec string, JSON config file or .glassnet file")
        parser.add_argument("--batch", type=int, help="batch size (default: symbolic B)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--format", default="text", choices=["text", "markdown", "json", "html"])


def _data_arguments(parser):
    parser.add_argument("--data", default="digits",
                        help="digits, moons, circles, spirals, xor, blobs, a .csv file, or an "
                             "IDX images file (with --labels)")
    parser.add_argument("--labels", help="IDX labels file, for IDX images")
    parser.add_argument("--label-column", type=int, default=-1, help="CSV label column")
    parser.add_argument("--samples", type=int, default=600, help="size of a generated dataset")
    parser.add_argument("--test-size", type=float, default=0.2, help="held-out fraction")
    parser.add_argument("--no-standardize", action="store_true",
                        help="do not standardise features (by training-set mean and std)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")


def build_parser():
    parser = argparse.ArgumentParser(prog="glassnet", description="glassnet: neural networks "
                                     "in which nothing is hidden.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model and report its test accuracy")
    _data_arguments(train)
    train.add_argument("--model", help="model spec (784-256:relu-10:softmax) or JSON config file")
    train.add_argument("--loss", help="loss name (default: sparse_categorical_crossentropy "
                                      "for labels, mse for numbers)")
    train.add_argument("--optimizer", default="adam", choices=sorted(optimizers.OPTIMIZER_NAMES))
    train.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--validation-split", type=float, default=0.0)
    train.add_argument("--out", help="save the trained model to this file")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=cmd_train)
    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on held-out data")
    evaluate.add_argument("model_file")
    _data_arguments(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    summary = commands.add_parser("summary", help="shapes, parameters, MACs and memory per layer")
    _report_arguments(summary)
    summary.set_defaults(run=cmd_summary)
    trace = commands.add_parser("trace", help="every operation of a forward pass with shapes")
    _report_arguments(trace)
    trace.add_argument("--backward", action="store_true", help="trace the backward pass too")
    trace.set_defaults(run=cmd_trace)
    explain = commands.add_parser("explain", help="each layer's equations, with real numbers")
    _report_arguments(explain)
    explain.add_argument("--input", help="one sample, comma-separated: 1,2,3")
    explain.add_argument("--random-input", action="store_true",
                         help="explain on a random sample drawn from --seed")
    explain.add_argument("--cell", type=int, help="output to write out for large layers")
    explain.set_defaults(run=cmd_explain)
    compare = commands.add_parser("compare-dense-conv",
                                  help="parameters of a dense layer against a convolution")
    compare.add_argument("--input", default="224x224x3", help="image shape HxWxC")
    compare.add_argument("--units", type=int, default=4096, help="dense units")
    compare.add_argument("--kernel", type=int, default=3, help="kernel size k (k x k)")
    compare.add_argument("--filters", type=int, default=64, help="convolution output channels")
    _report_arguments(compare, model=False)
    compare.set_defaults(run=cmd_compare)

    tour = commands.add_parser("tour", help="the whole voyage on built-in data, ending in "
                                            "an HTML report")
    tour.add_argument("--out", default="glassnet-tour", help="folder for the report")
    tour.add_argument("--quick", action="store_true", help="fewer epochs (for a smoke test)")
    tour.add_argument("--seed", type=int, default=0)
    tour.set_defaults(run=cmd_tour)
    picture = commands.add_parser("picture", help="draw one picture to a PNG or GIF file")
    picture.add_argument("name", choices=PICTURES)
    picture.add_argument("--out", help="file to write (default NAME.png or NAME.gif)")
    picture.add_argument("--data", default="moons", choices=sorted(datasets.GENERATED))
    picture.add_argument("--model", help="model spec for the warp, boundary, image and "
                         "training pictures (2-D data sets: 2-...; digits: 64-... or "
                         "8x8x1-conv:...)")
    picture.add_argument("--samples", type=int, default=300)
    picture.add_argument("--epochs", type=int,
                         help="training epochs (default 300 on 2-D data, 20 on the digits)")
    picture.add_argument("--seed", type=int, default=0)
    picture.set_defaults(run=cmd_picture)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"glassnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
