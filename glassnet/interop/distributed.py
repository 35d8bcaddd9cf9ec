"""Training beyond one machine's NumPy: the same network, exported to PyTorch
(``to_torch``), trained with PyTorch's DataLoader, optimisers and -- for several
processes -- ``torch.distributed`` (gloo on the CPU, NCCL on GPUs, started by PyTorch's
own launcher, ``torch.distributed.run``), and the trained weights brought back into the
glassnet model, so every glass-box view works on the result. glassnet's own engine stays
the default and the teaching path; this is the road out.

What is matched: the loss (cross-entropies on the logits, as glassnet's fused forms;
MSE, MAE; label smoothing), the optimiser (SGD with momentum and Nesterov, RMSprop, Adam,
AdamW, with glassnet's epsilon, weight decay, global gradient-norm clipping and
learning-rate schedules, stepped per batch) and the batches (``batch_size`` samples per
step in all: each of N processes takes batch_size / N; DistributedDataParallel averages
their gradients). Shuffling is PyTorch's, seeded. What comes back: the weights, the
optimiser's state (Adam's moments, momentum buffers, the step count: a later ``fit``
continues where PyTorch stopped) and a ``History`` with fit's keys -- the loss and the
compiled metrics (glassnet's own metric functions on PyTorch's outputs), and with
validation data the same on it. EarlyStopping, ModelCheckpoint and CSVLogger run on
this engine; several machines are PyTorch's launcher's ``--nnodes``, ``--node-rank`` and
rendezvous address (docs/interop.md).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..validate import flag, whole_number
from .common import requires


def check_device(torch, device):
    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise ValueError(f"train_with_torch: device must be 'cpu' or 'cuda' (or 'cuda:N'), "
                         f"got {device!r}.")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: PyTorch finds no CUDA device on this machine "
                         f"(torch {torch.__version__}, CUDA "
                         f"{torch.version.cuda or 'not built in'}); use --device cpu.")
    return device


def torch_optimizer(torch, optimizer, parameters, steps_done=0):
    """The PyTorch optimiser and per-step scheduler matching a glassnet optimiser."""
    kind = type(optimizer).__name__
    rate = optimizer.learning_rate
    base = rate(steps_done) if callable(rate) else rate
    options = {"lr": base, "weight_decay": optimizer.weight_decay}
    if kind == "SGD":
        made = torch.optim.SGD(parameters, momentum=optimizer.momentum,
                               nesterov=optimizer.nesterov, **options)
    elif kind == "RMSprop":
        made = torch.optim.RMSprop(parameters, alpha=optimizer.rho, eps=optimizer.epsilon,
                                   momentum=optimizer.momentum, **options)
    elif kind in ("Adam", "AdamW"):
        cls = torch.optim.AdamW if kind == "AdamW" else torch.optim.Adam
        made = cls(parameters, betas=(optimizer.beta_1, optimizer.beta_2),
                   eps=optimizer.epsilon, amsgrad=optimizer.amsgrad, **options)
    else:
        raise TypeError(f"train_with_torch: no PyTorch twin for the optimizer {kind}.")
    schedule = None
    if callable(rate):
        schedule = torch.optim.lr_scheduler.LambdaLR(
            made, lambda step: rate(steps_done + step) / base)
    return made, schedule


def torch_loss(torch, loss, fused):
    """loss(output, targets, weights) in PyTorch, matching glassnet's loss (``fused``: the
    output is logits, the network's softmax or sigmoid left to the loss)."""
    F = torch.nn.functional
    kind = type(loss).__name__

    def weighted(values, weights):                      # Keras: sum(w l) / N
        return (values * weights).mean() if weights is not None else values.mean()
    if kind in ("MeanSquaredError", "MeanAbsoluteError"):
        elementwise = (lambda y, t: (y - t) ** 2) if kind == "MeanSquaredError" else \
            (lambda y, t: (y - t).abs())
        return lambda y, t, w: weighted(elementwise(y, t).flatten(1).mean(1), w)
    if kind == "BinaryCrossentropy":
        if fused or loss.from_logits:
            return lambda y, t, w: weighted(F.binary_cross_entropy_with_logits(
                y, t, reduction="none").flatten(1).mean(1), w)
        return lambda y, t, w: weighted(F.binary_cross_entropy(
            y.clamp(1e-7, 1 - 1e-7), t, reduction="none").flatten(1).mean(1), w)
    if kind in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        if fused or loss.from_logits:
            return lambda y, t, w: weighted(-(t * F.log_softmax(y, -1)).sum(-1), w)
        return lambda y, t, w: weighted(-(t * y.clamp(1e-7, 1 - 1e-7).log()).sum(-1), w)
    raise TypeError(f"train_with_torch: no PyTorch twin for the loss {kind}; use glassnet's "
                    f"own fit for it.")


# --- what travels: callbacks, optimiser state -----------------------------------------------
CALLBACKS = {"EarlyStopping": ("monitor", "min_delta", "patience", "verbose", "mode",
                               "baseline", "restore_best_weights", "start_from_epoch"),
             "ModelCheckpoint": ("filepath", "monitor", "verbose", "save_best_only", "mode"),
             "CSVLogger": ("filename", "separator", "append")}
FILE_WRITERS = ("ModelCheckpoint", "CSVLogger")
SLOTS = {"SGD": {"momentum": "momentum_buffer"},
         "RMSprop": {"square_avg": "square_avg", "momentum": "momentum_buffer"},
         "Adam": {"m": "exp_avg", "v": "exp_avg_sq"}, "AdamW": {"m": "exp_avg", "v": "exp_avg_sq"}}


def check_callbacks(callbacks):
    """The callbacks PyTorch's engine runs (glassnet's own EarlyStopping, ModelCheckpoint
    and CSVLogger), as JSON-able specs for the worker processes."""
    from ..network import callbacks as module
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"train_with_torch: callbacks must be a list, got {callbacks!r}.")
    specs = []
    for cb in callbacks:
        kind = type(cb).__name__
        if kind not in CALLBACKS or type(cb) is not getattr(module, kind):
            raise TypeError(f"train_with_torch: the callback {cb!r} ({kind}) does not run on "
                            f"PyTorch's engine; it runs {', '.join(CALLBACKS)}. Use fit for "
                            f"the others.")
        specs.append({"type": kind, **{k: getattr(cb, k) for k in CALLBACKS[kind]}})
    return specs


def _rebuild(specs):
    from ..network import callbacks as module
    return [getattr(module, spec["type"])(**{k: v for k, v in spec.items() if k != "type"})
            for spec in specs]


def carry_optimizer_state(model, net, optimizer, steps):
    """Put PyTorch's optimiser state (Adam's moments, momentum buffers, ...) into the
    glassnet optimiser, each slot laid out as glassnet's flat parameters, through the same
    conversion as the weights; ``steps`` more iterations."""
    from .torch_code import weights_from_torch
    glass = model.optimizer
    kind = type(glass).__name__
    weights = model.get_weights()
    names = dict(net.named_parameters())
    state = net.state_dict()
    torch = requires("torch", "torch")
    summed = tuple(f"{n}.bias_hh" for n, m in net.named_modules()      # glassnet's bias is
                   if isinstance(m, (torch.nn.LSTM, torch.nn.RNN)))     # bias_ih + bias_hh
    for slot, key in SLOTS[kind].items():
        if slot not in glass.slots():
            continue
        slots = {name: None if name.startswith(summed) else optimizer.state.get(p, {}).get(key)
                 for name, p in names.items()}
        weights_from_torch(model, {**state, **{name: value if value is not None else
                                               names[name].detach() * 0
                                               for name, value in slots.items()}})
        glass.state[slot] = model.flat_params.copy()
    glass.before.clear()
    glass.undoable = False
    glass.iterations += steps
    model.set_weights(weights)


# --- the loop --------------------------------------------------------------------------------
def _epoch_logs(torch, total, names, world):
    if world > 1:
        torch.distributed.all_reduce(total)
    values = (total[1:] / total[0]).tolist()
    return dict(zip(["loss", *names], values))


def _train(model, data, validation, options, callbacks, rank=0, world=1):
    """The training loop in one process (rank of world): PyTorch computes, glassnet's
    metrics and callbacks read the results. Returns (history dict, epochs, steps, seconds,
    net, optimizer)."""
    torch = requires("torch", "torch")
    from ..network.callbacks import prepare
    from .torch_code import to_torch, weights_from_torch
    device, seed, epochs = options["device"], options["seed"], options["epochs"]
    torch.manual_seed(seed)
    fused = model.fused_loss
    net = to_torch(model, logits=fused).to(device).train()
    module = net
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net)
    optimizer, schedule = torch_optimizer(torch, model.optimizer, net.parameters(),
                                          model.optimizer.iterations)
    loss_fn = torch_loss(torch, model.loss, fused)
    activate = {"softmax": lambda y: torch.softmax(y, -1),
                "sigmoid": torch.sigmoid}.get(model.loss.output_activation) if fused else None
    metrics = model.metric_functions
    names = [m.name for m in metrics]

    def tensors(X, T, W):
        arrays = [*X] if isinstance(X, list) else [X]
        return ([torch.from_numpy(np.ascontiguousarray(a)) for a in arrays],
                torch.from_numpy(np.ascontiguousarray(T)),
                None if W is None else torch.from_numpy(W.astype(T.dtype)))

    penalty = getattr(module, "regularization_loss", None)    # kernel/bias_regularizer

    def measure(xs, t, w, y, total):
        """Add a batch's loss (with the regularizers' penalty, as fit reports it) and metric
        sums (glassnet's metrics) to ``total``."""
        loss = loss_fn(y, t, w) + (penalty() if penalty else 0)
        out = (activate(y) if activate else y).detach().cpu().numpy()
        sums = [m(out, t.cpu().numpy()) for m in metrics]
        total += torch.tensor([len(t), loss.item() * len(t), *sums], dtype=torch.float64)
        return loss

    xs, targets, weights = tensors(*data)
    dataset = torch.utils.data.TensorDataset(*xs, targets, *([] if weights is None
                                                              else [weights]))
    per_rank = options["batch_size"] // world
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(
            dataset, num_replicas=world, rank=rank, shuffle=options["shuffle"], seed=seed)
    else:
        generator = torch.Generator().manual_seed(seed)
        sampler = torch.utils.data.RandomSampler(dataset, generator=generator) \
            if options["shuffle"] else torch.utils.data.SequentialSampler(dataset)
    loader = torch.utils.data.DataLoader(dataset, batch_size=per_rank, sampler=sampler)
    inputs = len(xs)
    logged = ["loss", *names]
    if validation is not None:
        val = tensors(*validation)
        logged += [f"val_{k}" for k in logged]
    cbs = prepare(callbacks, model, {"epochs": epochs, "steps": len(loader),
                                     "verbose": options["verbose"], "logged": logged,
                                     "batch_size": options["batch_size"]})
    for cb in cbs:
        cb.on_train_begin({})
    model.stop_training = False
    history, done, steps, first = {}, [], 0, model.epoch
    start = time.perf_counter()
    for epoch in range(epochs):
        if world > 1:
            sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2 + len(names), dtype=torch.float64)
        for batch in loader:
            batch = [b.to(device) for b in batch]
            bx, t = batch[:inputs], batch[inputs]
            w = batch[inputs + 1] if weights is not None else None
            optimizer.zero_grad()
            loss = measure(bx, t, w, net(*bx), total)
            loss.backward()
            if model.optimizer.global_clipnorm is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(),
                                               model.optimizer.global_clipnorm)
            if model.optimizer.clipnorm is not None:             # each tensor on its own
                for p in net.parameters():
                    torch.nn.utils.clip_grad_norm_(p, model.optimizer.clipnorm)
            if model.optimizer.clipvalue is not None:
                torch.nn.utils.clip_grad_value_(net.parameters(), model.optimizer.clipvalue)
            optimizer.step()
            steps += 1
            if schedule is not None:
                schedule.step()
        logs = _epoch_logs(torch, total, names, world)
        if validation is not None:
            net.eval()
            total = torch.zeros(2 + len(names), dtype=torch.float64)
            vx, vt, vw = val
            size = options["batch_size"]
            with torch.no_grad():
                for at in range(0, len(vt), size):
                    bx = [x[at:at + size].to(device) for x in vx]
                    measure(bx, vt[at:at + size].to(device),
                            None if vw is None else vw[at:at + size].to(device),
                            net(*bx), total)
            logs.update({f"val_{k}": v for k, v in _epoch_logs(torch, total, names, 1).items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        done.append(first + epoch)
        if options["verbose"] and rank == 0:
            shown = "".join(f" - {k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} (PyTorch, {world} process"
                  f"{'es' if world > 1 else ''}, {device}){shown}", flush=True)
        if cbs or options.get("callbacks"):      # every process, in step (the stop vote)
            weights_from_torch(model, module.state_dict())
            model.epoch = done[-1] + 1
            for cb in cbs:
                cb.on_epoch_end(model.epoch - 1, logs)
            stop = torch.tensor([float(model.stop_training)])
            if world > 1:
                torch.distributed.all_reduce(stop, op=torch.distributed.ReduceOp.MAX)
            if stop.item():
                break
    seconds = time.perf_counter() - start
    weights_from_torch(model, module.state_dict())
    carry_optimizer_state(model, module, optimizer, steps)
    for cb in cbs:
        cb.on_train_end({})                 # EarlyStopping may put the best weights back
    return history, done, seconds


def _history(record, seconds):
    from ..network.callbacks import History
    history = History()
    history.history, history.epoch = record["history"], record["epochs"]
    history.seconds = seconds
    return history


def train_with_torch(model, x, y, epochs=1, batch_size=32, nproc=1, device="cpu", seed=0,
                     shuffle=True, sample_weight=None, class_weight=None, verbose=1,
                     timeout=3600, *, validation_split=0.0, validation_data=None,
                     callbacks=None, nnodes=1, node_rank=0, master_addr="127.0.0.1",
                     master_port=29500, rdzv_endpoint=None, rdzv_id="glassnet"):
    """Train a compiled glassnet model with PyTorch and put the trained weights and the
    optimiser's state back into it. Returns a ``History``, as ``fit`` does: per epoch the
    loss and the compiled metrics over the training batches, and with
    ``validation_split`` (the last fraction, as Keras) or ``validation_data`` the same
    on the validation data (``val_loss``, ...); ``history.seconds`` is the training
    loop's time.

    ``callbacks``: glassnet's EarlyStopping, ModelCheckpoint and CSVLogger (the files
    are written by the first process only; EarlyStopping stops every process).
    ``nproc`` > 1 runs that many processes per machine through PyTorch's launcher
    (``torch.distributed.run``; gloo on the CPU, NCCL on CUDA) with
    DistributedDataParallel; ``batch_size`` is the global batch, split evenly over all
    processes of all machines. Several machines: run the same call on each with
    ``nnodes``, its own ``node_rank`` (0 .. nnodes-1) and the address of node 0
    (``master_addr``/``master_port``, or ``rdzv_endpoint='host:port'`` for PyTorch's
    c10d rendezvous); see docs/interop.md. ``history.rank_weights`` then holds this
    machine's processes' final weights (they agree). ``device``: 'cpu' or 'cuda'."""
    torch = requires("torch", "torch")
    from ..network.trainer import check_data, count, require_compiled, take
    from ..validate import number
    require_compiled(model, "train_with_torch")
    what = "train_with_torch"
    epochs = whole_number(epochs, "epochs", what)
    batch_size = whole_number(batch_size, "batch_size", what)
    nproc = whole_number(nproc, "nproc", what, maximum=256)
    nnodes = whole_number(nnodes, "nnodes", what, maximum=4096)
    node_rank = whole_number(node_rank, "node_rank", what, minimum=0, maximum=nnodes - 1)
    shuffle = flag(shuffle, "shuffle", what)
    device = check_device(torch, device)
    validation_split = number(validation_split, "validation_split", what, 0, 1,
                              high_open=True)
    world = nproc * nnodes
    if batch_size % world:
        raise ValueError(f"train_with_torch: batch_size {batch_size} must split evenly over "
                         f"{world} processes (each takes batch_size / {world}).")
    torch_loss(torch, model.loss, model.fused_loss)            # refuse early if unsupported
    if type(model.optimizer).__name__ not in SLOTS:
        torch_optimizer(torch, model.optimizer, [])              # says which it lacks
    specs = check_callbacks(callbacks)
    X, T, W = check_data(model, x, y, what, sample_weight, class_weight)
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("train_with_torch: validation_data must be (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val).")
        validation = check_data(model, *validation_data[:2], f"{what} (validation_data)",
                                *validation_data[2:])
    elif validation_split:
        n = count(X)
        n_val = int(round(n * validation_split))
        if n_val in (0, n):
            raise ValueError(f"train_with_torch: validation_split={validation_split} leaves "
                             f"{n - n_val} training and {n_val} validation samples out of "
                             f"{n}; each needs at least one.")
        train, held = slice(None, n - n_val), slice(n - n_val, None)
        validation = (take(X, held), T[held], None if W is None else W[held])
        X, T, W = take(X, train), T[train], None if W is None else W[train]
    options = {"epochs": epochs, "batch_size": batch_size, "device": device, "seed": seed,
               "shuffle": shuffle, "verbose": verbose}
    if world == 1:
        cbs = callbacks and list(callbacks)
        record, done, seconds = _train(model, (X, T, W), validation, options, cbs or [])
        history = _history({"history": record, "epochs": done}, seconds)
    else:
        launch = {"nproc": nproc, "nnodes": nnodes, "node_rank": node_rank,
                  "master_addr": master_addr, "master_port": master_port,
                  "rdzv_endpoint": rdzv_endpoint, "rdzv_id": rdzv_id}
        history = _launch(model, (X, T, W), validation, options, specs, launch, timeout)
        done = history.epoch
    model.epoch = (done[-1] + 1) if done else model.epoch
    return history


def launcher_command(launch, job):
    """PyTorch's own launcher, told the machines' layout."""
    command = [sys.executable, "-m", "torch.distributed.run",
               f"--nproc-per-node={launch['nproc']}"]
    if launch["nnodes"] == 1:
        command.append("--standalone")
    elif launch["rdzv_endpoint"]:
        command += [f"--nnodes={launch['nnodes']}", "--rdzv-backend=c10d",
                    f"--rdzv-endpoint={launch['rdzv_endpoint']}",
                    f"--rdzv-id={launch['rdzv_id']}"]
    else:
        command += [f"--nnodes={launch['nnodes']}", f"--node-rank={launch['node_rank']}",
                    f"--master-addr={launch['master_addr']}",
                    f"--master-port={int(launch['master_port'])}"]
    return command + ["-m", "glassnet.interop.distributed", job]


def _launch(model, data, validation, options, specs, launch, timeout):
    """Run the workers through PyTorch's launcher; read back this machine's first
    process's weights, optimiser state and history (and every local process's weights,
    to show they agree)."""
    import safetensors.numpy
    X, T, W = data
    nproc = launch["nproc"]
    with tempfile.TemporaryDirectory(prefix="glassnet-torch-") as job:
        model.save(os.path.join(job, "model.glassnet"))
        arrays = {f"x{i}": a for i, a in enumerate(X if isinstance(X, list) else [X])}
        arrays["targets"] = T
        if W is not None:
            arrays["weights"] = W
        if validation is not None:
            vX, vT, vW = validation
            arrays.update({f"vx{i}": a for i, a in enumerate(vX if isinstance(vX, list)
                                                              else [vX])})
            arrays["vtargets"] = vT
            if vW is not None:
                arrays["vweights"] = vW
        np.savez(os.path.join(job, "data.npz"), **arrays)
        with open(os.path.join(job, "job.json"), "w") as f:
            json.dump({**options, "inputs": sum(k.startswith("x") for k in arrays),
                       "callbacks": specs}, f)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        result = subprocess.run(launcher_command(launch, job), env=env, timeout=timeout,
                                capture_output=not options["verbose"], text=True)
        if result.returncode != 0:
            lines = [line.strip() for line in (result.stderr or "").splitlines()
                     if line.strip().strip("=-")]
            detail = ([line for line in lines if "Error" in line or "what()" in line]
                      or lines)[-1:]
            raise RuntimeError(f"train_with_torch: the {nproc} PyTorch processes failed "
                               f"(exit {result.returncode})"
                               f"{': ' + detail[0] if detail else ''}")
        ranks = [safetensors.numpy.load_file(os.path.join(job, f"local{r}.st"))
                 for r in range(nproc)]
        with open(os.path.join(job, "history.json")) as f:
            record = json.load(f)
    first = ranks[0]
    model.set_weights([first[f"w{i}"] for i in range(len(model.get_weights()))])
    glass = model.optimizer
    glass.reset()
    glass.state.update({k[4:]: v for k, v in first.items() if k.startswith("opt.")})
    glass.iterations = record["iterations"]
    history = _history(record, record["seconds"])
    history.rank_weights = [{k: v for k, v in r.items() if k.startswith("w")} for r in ranks]
    return history


def worker(job):
    """One process of a ``torch.distributed.run`` job: train, write this process's weights
    and optimiser state (and, from each machine's first process, the history)."""
    torch = requires("torch", "torch")
    from ..io import load_model
    import safetensors.numpy
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", 0))
    with open(os.path.join(job, "job.json")) as f:
        options = json.load(f)
    device = options["device"]
    if device.startswith("cuda"):
        device = f"cuda:{local}"
        torch.cuda.set_device(device)
        options["device"] = device
    torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    model = load_model(os.path.join(job, "model.glassnet"))
    data = np.load(os.path.join(job, "data.npz"), allow_pickle=False)

    def arrays(prefix, targets, weights):
        X = [data[f"{prefix}{i}"] for i in range(options["inputs"])]
        return (X if len(X) > 1 else X[0], data[targets],
                data[weights] if weights in data.files else None)
    validation = arrays("vx", "vtargets", "vweights") if "vtargets" in data.files else None
    specs = [s for s in options["callbacks"] if rank == 0 or s["type"] not in FILE_WRITERS]
    start_iterations = model.optimizer.iterations
    history, done, seconds = _train(model, arrays("x", "targets", "weights"), validation,
                                    options, _rebuild(specs), rank, world)
    saved = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    saved.update({f"opt.{k}": v for k, v in model.optimizer.state.items()})
    safetensors.numpy.save_file(saved, os.path.join(job, f"local{local}.st"))
    if local == 0:
        with open(os.path.join(job, "history.json"), "w") as f:
            json.dump({"history": history, "epochs": done, "seconds": seconds,
                       "iterations": model.optimizer.iterations,
                       "start_iterations": start_iterations}, f)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    worker(sys.argv[1])
