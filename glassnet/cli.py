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
import warnings

import numpy as np


from . import datasets, losses, optimizers
from .inspect import compare_dense_conv, report
from .io import check_destination, check_save_name, load_model
from .network.spec import load_spec
from .validate import number, whole_number


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
        X, y, test_size=args.test_size, seed=args.seed, stratify=y.ndim == 1)
    if not len(X_test) or not len(X_train):
        raise ValueError(f"--test-size {args.test_size} of {len(X)} samples leaves "
                         f"{len(X_train)} for training and {len(X_test)} for the test set; "
                         f"each needs at least one. Use more samples (--samples, or a larger "
                         f"file) or another --test-size.")
    if not args.no_standardize:
        X_train, X_test = datasets.standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


MAX_CLASSES = 10_000
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 1 << 24


def check_common(args):
    """The arguments every data command shares, checked before any data is read."""
    whole_number(args.samples, "--samples", f"glassnet {args.command}", minimum=2,
                 maximum=datasets.MAX_GENERATED)
    number(args.test_size, "--test-size", "glassnet", 0, 1, low_open=True, high_open=True)
    whole_number(args.seed, "--seed", "glassnet", minimum=0)


def check_train(args):
    """Every argument of ``train``, before any data is read or any training starts."""
    check_common(args)
    whole_number(args.epochs, "--epochs", "glassnet train", maximum=MAX_EPOCHS)
    whole_number(args.batch_size, "--batch-size", "glassnet train", maximum=MAX_BATCH_SIZE)
    number(args.validation_split, "--validation-split", "glassnet train", 0, 1,
           high_open=True)
    if args.lr is not None:
        number(args.lr, "--lr", "glassnet train", 0, low_open=True)
    if args.model is not None and not args.model.strip():
        raise ValueError("--model is empty: give a spec such as 64-32:relu-10:softmax, a "
                         "JSON config, or leave it out for the default model.")
    if args.loss is not None:
        losses.get(args.loss)
    whole_number(args.nproc, "--nproc", "glassnet train", maximum=256)
    if args.engine == "torch":
        from .interop import requires
        from .interop.distributed import check_device
        check_device(requires("torch", "torch"), args.device)
        whole_number(args.nnodes, "--nnodes", "glassnet train", maximum=4096)
        whole_number(args.node_rank, "--node-rank", "glassnet train", minimum=0,
                     maximum=args.nnodes - 1)
        whole_number(args.master_port, "--master-port", "glassnet train", maximum=65535)
    elif args.device != "cpu" or args.nproc != 1 or args.nnodes != 1:
        raise ValueError("--device, --nproc and --nnodes choose where PyTorch trains: add "
                         "--engine torch (glassnet's own engine runs on this CPU, in one "
                         "process).")
    if args.out is not None:
        check_save_name(args.out, "--out")
        check_destination(args.out, "--out")


def task_of(args, y):
    """'classification' (labels 0..k-1) or 'regression' (numbers), as --task says or as
    the targets look (whole numbers: classes)."""
    task = args.task
    if task == "auto":
        task = "classification" if y.dtype.kind in "iu" else "regression"
    if task == "classification":
        if y.dtype.kind not in "iu" and not np.all(y == np.round(y)):
            raise ValueError("--task classification needs whole-number class labels, but the "
                             "targets have fractions; use --task regression.")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= MAX_CLASSES:
            raise ValueError(f"the labels range over [{low:,}, {high:,}]: as classes that "
                             f"would be a {high + 1:,}-way classifier. Class labels must be "
                             f"0..k-1 with k at most {MAX_CLASSES:,}; for numeric targets use "
                             f"--task regression.")
    return task


def cmd_train(args):
    check_train(args)
    X, y = load_data(args)
    task = task_of(args, y)
    classes = int(y.max()) + 1 if task == "classification" else None
    y = y.astype(np.int64) if classes else y.astype(np.float64).reshape(-1, 1)
    X_train, X_test, y_train, y_test = _split(args, X, y)
    hidden = "128:relu-dropout:0.2-64:relu"
    spec = args.model or (f"{X.shape[1]}-{hidden}-{classes}:softmax" if classes
                          else f"{X.shape[1]}-{hidden}-1")
    model = load_spec(spec, seed=args.seed)
    loss = args.loss or ("sparse_categorical_crossentropy" if classes else "mse")
    optimizer = optimizers.OPTIMIZER_NAMES[args.optimizer](
        **({} if args.lr is None else {"learning_rate": args.lr}))
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if classes else ["mae"])
    print(f"data: {args.data}: {len(X_train)} training and {len(X_test)} test samples, "
          f"{X.shape[1]} features" + (f", {classes} classes" if classes else ""))
    print(f"model: {spec}\n")
    model.build()
    model.summary()
    print()
    if args.engine == "torch":
        from .interop import train_with_torch
        train_with_torch(model, X_train, y_train, epochs=args.epochs,
                         batch_size=args.batch_size, nproc=args.nproc, device=args.device,
                         seed=args.seed, verbose=0 if args.quiet else 1,
                         validation_split=args.validation_split, nnodes=args.nnodes,
                         node_rank=args.node_rank, master_addr=args.master_addr,
                         master_port=args.master_port, rdzv_endpoint=args.rdzv_endpoint)
    else:
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
    check_common(args)
    model = load_model(args.model_file)
    X, y = load_data(args)
    if model.loss is None:
        raise ValueError(f"{args.model_file} was saved without a loss (never compiled), so "
                         f"it cannot be evaluated; train and save it with glassnet train.")
    if model.output_shape[-1] == 1 and model.loss.targets == "values":
        y = y.astype(np.float64).reshape(-1, 1)
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


def check_report(args):
    """--batch (and explain's --cell): positive whole numbers, before any model is built."""
    owner = f"glassnet {args.command}"
    if args.batch is not None:
        whole_number(args.batch, "--batch", owner, maximum=MAX_BATCH_SIZE)
    if getattr(args, "cell", None) is not None:
        whole_number(args.cell, "--cell", owner, minimum=0)


def cmd_summary(args):
    check_report(args)
    return _show(_model_from(args.model, args.seed).summary(args.batch, print_fn=None),
                 args.format)


def cmd_trace(args):
    check_report(args)
    return _show(_model_from(args.model, args.seed).trace(args.batch, args.backward),
                 args.format)


def cmd_explain(args):
    check_report(args)
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


def cmd_explore(args):
    from .explore import explore
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: a port is 0 to 65535 (0 picks a free one).")
    return explore(args.port, open_browser=not args.no_browser)


def cmd_tour(args):
    if args.notebook:
        from .course import write_notebook
        os.makedirs(args.out, exist_ok=True)
        path = write_notebook(os.path.join(args.out, "tour.ipynb"), lang=args.lang,
                              quick=args.quick, seed=args.seed)
        print(f"Notebook: {os.path.abspath(path)} (open it in Jupyter and run the cells "
              f"from the top)" if args.lang == "en" else
              f"노트북: {os.path.abspath(path)} (Jupyter에서 열어 위에서부터 셀을 실행하세요)")
        return 0
    from .course import run_tour
    run_tour(args.out, quick=args.quick, seed=args.seed, lang=args.lang)
    return 0


PICTURES = ("warp", "warp-animation", "boundary", "boundary-animation", "bias", "matmul",
            "loops", "explosion", "image", "training", "choices", "universal", "losses",
            "optimizers", "overfitting", "backprop", "convolution", "recurrence",
            "attention")


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
        return viz.plot_training(history, norms, lang=args.lang)
    if name == "convolution":
        return viz.plot_convolution(model, X_test[0], pixels=raw_test[0], lang=args.lang)
    return viz.plot_image_to_vector(model, X_test[0], y_test[0], pixels=raw_test[0],
                                    lang=args.lang)


def cmd_picture(args):
    from . import viz
    name, seed, lang = args.name, args.seed, args.lang
    if name == "convolution" and not args.model:
        args.model = "8x8x1-conv:8:3:relu:same-maxpool:2-flatten-10:softmax"
    if args.epochs is None:
        args.epochs = 20 if name in ("image", "training", "convolution", "recurrence",
                                     "attention") else 300
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
                                                    seed=seed, lang=lang)
        else:
            model.fit(X, y, epochs=args.epochs, batch_size=32, seed=seed, verbose=0)
            picture = (viz.animate_warp if name.endswith("animation") else viz.plot_warp)(
                model, X, y, lang=lang)
    elif name in ("image", "training", "convolution"):
        picture = _digits_picture(name, args)
    elif name == "recurrence":
        model, X, _ = viz.train_sine_rnn(seed=seed, epochs=args.epochs)
        picture = viz.plot_recurrence(model, X, lang=lang)
    elif name == "attention":
        model, X, _ = viz.train_signal_attention(seed=seed, epochs=args.epochs)
        picture = viz.plot_attention(model, X, lang=lang)
    else:
        picture = {
            "bias": lambda: viz.plot_bias_threshold(lang=lang),
            "matmul": lambda: viz.plot_colour_matmul(lang=lang),
            "loops": lambda: viz.plot_loop_vs_matmul(viz.time_loop_vs_matmul(seed=seed),
                                                     lang=lang),
            "explosion": lambda: viz.plot_parameter_explosion(compare_dense_conv(), lang=lang),
            "choices": lambda: viz.plot_choices(seed=seed, lang=lang),
            "universal": lambda: viz.plot_universal_approximation(seed=seed, lang=lang),
            "losses": lambda: viz.plot_losses(lang=lang),
            "optimizers": lambda: viz.plot_optimizer_paths(lang=lang),
            "overfitting": lambda: viz.plot_overfitting(seed=seed, lang=lang),
            "backprop": lambda: viz.plot_backprop(lang=lang)}[name]()
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
    parser = Parser(prog="glassnet", description="glassnet: neural networks in which "
                    "nothing is hidden.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model and report its test accuracy")
    _data_arguments(train)
    train.add_argument("--model", help="model spec (784-256:relu-10:softmax) or JSON config file")
    train.add_argument("--loss", help="loss name (default: sparse_categorical_crossentropy "
                                      "for labels, mse for numbers)")
    train.add_argument("--optimizer", default="adam", choices=sorted(optimizers.OPTIMIZER_NAMES))
    train.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--task", default="auto", choices=("auto", "classification",
                                                          "regression"),
                       help="classification (labels 0..k-1) or regression (numbers); auto: "
                            "whole-number targets are classes")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--validation-split", type=float, default=0.0)
    train.add_argument("--out", help="save the trained model to this file")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--engine", default="glassnet", choices=("glassnet", "torch"),
                       help="train with glassnet (default) or export and train with PyTorch "
                            "(needs glassnet[torch]); the trained weights come back")
    train.add_argument("--device", default="cpu", help="with --engine torch: cpu or cuda")
    train.add_argument("--nproc", type=int, default=1,
                       help="with --engine torch: processes per machine (torch.distributed; "
                            "gloo on the CPU, NCCL on CUDA)")
    train.add_argument("--nnodes", type=int, default=1,
                       help="with --engine torch: machines; run the same command on each "
                            "(docs/interop.md)")
    train.add_argument("--node-rank", type=int, default=0,
                       help="with --nnodes: this machine's number, 0 .. nnodes-1")
    train.add_argument("--master-addr", default="127.0.0.1",
                       help="with --nnodes: the address of machine 0")
    train.add_argument("--master-port", type=int, default=29500,
                       help="with --nnodes: a free port on machine 0")
    train.add_argument("--rdzv-endpoint",
                       help="with --nnodes: host:port of PyTorch's c10d rendezvous, instead "
                            "of --node-rank/--master-addr")
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
    tour.add_argument("--lang", default="en", choices=["en", "ko"],
                      help="the report's language: en (English) or ko (Korean, the lectures')")
    tour.add_argument("--notebook", action="store_true",
                      help="write the tour as a notebook (tour.ipynb in --out) to run and "
                           "change cell by cell, instead of running it")
    tour.set_defaults(run=cmd_tour)
    explore = commands.add_parser("explore", help="the network in your browser, live, on the "
                                                  "real engine (127.0.0.1 only)")
    explore.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any "
                                                                "free one)")
    explore.add_argument("--no-browser", action="store_true",
                         help="print the address only; do not open a browser")
    explore.set_defaults(run=cmd_explore)
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
    picture.add_argument("--lang", default="en", choices=["en", "ko"],
                         help="the picture's language: en (English) or ko (Korean)")
    picture.set_defaults(run=cmd_picture)
    return parser


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints as one line on stderr (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _one_line(text):
    return " ".join(str(text).split())


def main(argv=None):
    """Run one command; every failure is one line on stderr and a non-zero exit (2 for a
    problem with the input, 1 for glassnet's own failure, 130 when interrupted)."""
    args = build_parser().parse_args(argv)

    def show_warning(message, category, *_, **__):
        print(f"glassnet {args.command}: warning: {_one_line(message)}", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return args.run(args)
        except (ValueError, TypeError, OSError, MemoryError) as error:
            print(f"glassnet {args.command}: error: {_one_line(error)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"glassnet {args.command}: interrupted", file=sys.stderr)
            return 130
        except Exception as error:                   # a bug in glassnet: still one line
            print(f"glassnet {args.command}: internal error: {type(error).__name__}: "
                  f"{_one_line(error)} (please report this)", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
