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
their gradients). Shuffling is PyTorch's, seeded. The glassnet optimiser's own state is
left as it was (PyTorch's is not carried back).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..validate import flag, whole_number
from . import requires


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


def _train(model, X, T, W, epochs, batch_size, device, seed, shuffle, rank=0, world=1,
           verbose=1):
    """The training loop in one process (rank of world); returns (module, losses)."""
    torch = requires("torch", "torch")
    from .torch_code import to_torch
    torch.manual_seed(seed)
    fused = model.fused_loss
    net = to_torch(model, logits=fused).to(device).train()
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net)
    optimizer, schedule = torch_optimizer(torch, model.optimizer, net.parameters(),
                                          model.optimizer.iterations)
    loss_fn = torch_loss(torch, model.loss, fused)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in
               ([*X] if isinstance(X, list) else [X])]
    targets = torch.from_numpy(np.ascontiguousarray(T))
    weights = None if W is None else torch.from_numpy(W.astype(T.dtype))
    data = torch.utils.data.TensorDataset(*tensors, targets,
                                          *([] if weights is None else [weights]))
    per_rank = batch_size // world
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(
            data, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
    else:
        generator = torch.Generator().manual_seed(seed)
        sampler = torch.utils.data.RandomSampler(data, generator=generator) if shuffle \
            else torch.utils.data.SequentialSampler(data)
    loader = torch.utils.data.DataLoader(data, batch_size=per_rank, sampler=sampler)
    losses, inputs = [], len(tensors)
    start = time.perf_counter()
    for epoch in range(epochs):
        if world > 1:
            sampler.set_epoch(epoch)
        total = torch.zeros(2, dtype=torch.float64)
        for batch in loader:
            batch = [b.to(device) for b in batch]
            xs, t = batch[:inputs], batch[inputs]
            w = batch[inputs + 1] if weights is not None else None
            optimizer.zero_grad()
            loss = loss_fn(net(*xs), t, w)
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
            if schedule is not None:
                schedule.step()
            total += torch.tensor([loss.item() * len(t), len(t)], dtype=torch.float64)
        if world > 1:
            torch.distributed.all_reduce(total)
        losses.append(float(total[0] / total[1]))
        if verbose and rank == 0:
            print(f"Epoch {epoch + 1}/{epochs} (PyTorch, {world} process"
                  f"{'es' if world > 1 else ''}, {device}) - loss: {losses[-1]:.4f}",
                  flush=True)
    return (net.module if world > 1 else net), losses, time.perf_counter() - start


def train_with_torch(model, x, y, epochs=1, batch_size=32, nproc=1, device="cpu", seed=0,
                     shuffle=True, sample_weight=None, class_weight=None, verbose=1,
                     timeout=3600):
    """Train a compiled glassnet model with PyTorch and put the trained weights back into
    it. Returns ``{"loss": [...]}``, the mean loss of every epoch over all processes.

    ``nproc`` > 1 runs that many processes through ``torch.distributed.run`` (gloo on the
    CPU, NCCL on CUDA) with DistributedDataParallel: ``batch_size`` is the global batch,
    split evenly between them; the result then also holds ``rank_weights``, every
    process's final weights (they agree). ``seconds``: the training loop's time, without
    starting processes. ``device``: 'cpu' or 'cuda' ('cuda:N')."""
    torch = requires("torch", "torch")
    from ..training import check_data, require_compiled
    from .torch_code import weights_from_torch
    require_compiled(model, "train_with_torch")
    epochs = whole_number(epochs, "epochs", "train_with_torch")
    batch_size = whole_number(batch_size, "batch_size", "train_with_torch")
    nproc = whole_number(nproc, "nproc", "train_with_torch", maximum=256)
    shuffle = flag(shuffle, "shuffle", "train_with_torch")
    device = check_device(torch, device)
    if batch_size % nproc:
        raise ValueError(f"train_with_torch: batch_size {batch_size} must split evenly over "
                         f"{nproc} processes (each takes batch_size / nproc).")
    torch_loss(torch, model.loss, model.fused_loss)            # refuse early if unsupported
    X, T, W = check_data(model, x, y, "train_with_torch", sample_weight, class_weight)
    if nproc == 1:
        net, losses, seconds = _train(model, X, T, W, epochs, batch_size, device, seed,
                                      shuffle, verbose=verbose)
        weights_from_torch(model, net.state_dict())
        result = {"loss": losses, "seconds": seconds}
    else:
        losses, seconds, ranks = _launch(model, X, T, W, epochs, batch_size, nproc, device,
                                         seed, shuffle, verbose, timeout)
        result = {"loss": losses, "seconds": seconds, "rank_weights": ranks}
    model.epoch += epochs
    return result


def _launch(model, X, T, W, epochs, batch_size, nproc, device, seed, shuffle, verbose,
            timeout):
    """Run the workers through PyTorch's launcher; read back rank 0's weights (and every
    rank's, to show they agree)."""
    from .torch_code import weights_from_torch
    import safetensors.numpy
    with tempfile.TemporaryDirectory(prefix="glassnet-torch-") as job:
        model.save(os.path.join(job, "model.glassnet"))
        arrays = {f"x{i}": a for i, a in enumerate(X if isinstance(X, list) else [X])}
        arrays["targets"] = T
        if W is not None:
            arrays["weights"] = W
        np.savez(os.path.join(job, "data.npz"), **arrays)
        with open(os.path.join(job, "job.json"), "w") as f:
            json.dump({"epochs": epochs, "batch_size": batch_size, "device": device,
                       "seed": seed, "shuffle": shuffle, "verbose": verbose,
                       "inputs": len(arrays) - 1 - (W is not None)}, f)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={nproc}", "-m", "glassnet.interop.distributed", job]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        result = subprocess.run(command, env=env, timeout=timeout,
                                capture_output=not verbose, text=True)
        if result.returncode != 0:
            detail = (result.stderr or "").strip().splitlines()[-1:] if not verbose else []
            raise RuntimeError(f"train_with_torch: the {nproc} PyTorch processes failed "
                               f"(exit {result.returncode}){': ' + detail[0] if detail else ''}")
        weights_from_torch(model, safetensors.numpy.load_file(os.path.join(job, "rank0.st")))
        ranks = [safetensors.numpy.load_file(os.path.join(job, f"rank{r}.st"))
                 for r in range(nproc)]
        with open(os.path.join(job, "losses.json")) as f:
            record = json.load(f)
    return record["losses"], record["seconds"], ranks


def worker(job):
    """One process of a ``torch.distributed.run`` job: train, write this rank's weights."""
    torch = requires("torch", "torch")
    from ..io import load_model
    import safetensors.numpy
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    with open(os.path.join(job, "job.json")) as f:
        options = json.load(f)
    device = options["device"]
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    model = load_model(os.path.join(job, "model.glassnet"))
    data = np.load(os.path.join(job, "data.npz"), allow_pickle=False)
    X = [data[f"x{i}"] for i in range(options["inputs"])]
    X = X if len(X) > 1 else X[0]
    W = data["weights"] if "weights" in data.files else None
    net, losses, seconds = _train(model, X, data["targets"], W, options["epochs"],
                                  options["batch_size"], device, options["seed"],
                                  options["shuffle"], rank, world, options["verbose"])
    state = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    safetensors.numpy.save_file(state, os.path.join(job, f"rank{rank}.st"))
    if rank == 0:
        with open(os.path.join(job, "losses.json"), "w") as f:
            json.dump({"losses": losses, "seconds": seconds}, f)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    worker(sys.argv[1])
