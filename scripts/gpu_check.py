"""The GPU check of the PyTorch export: run it wherever a CUDA device is at hand.

It exports the digits MLP and a small CNN with ``glassnet.to_torch``, runs them on the CPU
and on CUDA and compares the outputs; takes one Adam step on both and compares the
weights; and trains the MLP with ``train_with_torch(device="cuda")``, bringing the weights
back, and reports its held-out accuracy next to glassnet's own.

    python scripts/gpu_check.py         exit 0: all agree; 1: a difference; 2: no CUDA
"""
import sys

import numpy as np
import torch

import glassnet as gn


def main():
    if not torch.cuda.is_available():
        print(f"no CUDA device (torch {torch.__version__}, built with CUDA "
              f"{torch.version.cuda or 'none'}): nothing checked")
        return 2
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.get_device_name(0)}")
    rng = np.random.default_rng(0)
    failures = 0
    cases = {
        "digits MLP": (gn.Sequential([gn.Dense(64, activation="relu", input_shape=(64,)),
                                      gn.Dense(10, activation="softmax")], seed=0), (64,)),
        "small CNN": (gn.Sequential([gn.Conv2D(8, 3, padding="same", activation="relu"),
                                     gn.MaxPool2D(2), gn.BatchNorm(), gn.Flatten(),
                                     gn.Dense(10, activation="softmax")],
                                    input_shape=(8, 8, 1), seed=0), (8, 8, 1))}
    for name, (model, shape) in cases.items():
        model.build()
        X = torch.from_numpy(rng.standard_normal((64, *shape), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 64))
        cpu, gpu = gn.to_torch(model, logits=True), gn.to_torch(model, logits=True).cuda()
        out = (cpu(X) - gpu(X.cuda()).cpu()).abs().max().item()
        steps = []
        for net, device in ((cpu.train(), "cpu"), (gpu.train(), "cuda")):
            opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X.to(device)), y.to(device)).backward()
            opt.step()
            steps.append({k: v.detach().cpu() for k, v in net.state_dict().items()})
        step = max((steps[0][k].double() - steps[1][k].double()).abs().max().item()
                   for k in steps[0])
        ok = out < 1e-4 and step < 1e-4
        failures += not ok
        print(f"{name}: outputs differ by {out:.2e}, weights after one Adam step by "
              f"{step:.2e} -> {'ok' if ok else 'DIFFERENT'}")
    X, labels = gn.datasets.load_digits()
    X_train, X_test, y_train, y_test = gn.datasets.train_test_split(X, labels, 0.2, seed=0)
    X_train, X_test = gn.datasets.standardize(X_train, X_test)
    accuracies = []
    for engine in ("glassnet", "cuda"):
        model = cases["digits MLP"][0].__class__.from_config(cases["digits MLP"][0].get_config())
        model.compile(gn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        if engine == "cuda":
            gn.train_with_torch(model, X_train, y_train, epochs=10, device="cuda", verbose=0)
        else:
            model.fit(X_train, y_train, 32, 10, 0)
        accuracies.append(model.evaluate(X_test, y_test, verbose=0)[1])
    ok = abs(accuracies[0] - accuracies[1]) <= 0.03
    failures += not ok
    print(f"digits MLP, 10 epochs: glassnet {accuracies[0]:.4f}, trained on CUDA "
          f"{accuracies[1]:.4f} -> {'ok' if ok else 'DIFFERENT'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
