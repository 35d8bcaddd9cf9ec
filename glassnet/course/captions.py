"""Captions of the tour's pictures that state numbers: the sentence is the language
file's (``[captions.<picture>]``), every number in it is read here from the values the
picture draws (``picture.data``), never typed. A picture without such an entry keeps
the caption glassnet.viz gave it."""
import numpy as np

from ..lectures import fill


def attention(data):
    """How much attention the positions put on the signal token, as drawn: the share of
    each row of A in the signal's column, over every row of every sequence shown."""
    A, tokens = np.asarray(data["A"]), np.asarray(data["tokens"])
    shares = np.concatenate([A[s][:, tokens[s] >= 7].sum(axis=1) for s in range(len(A))])
    return {"mean": 100 * shares.mean(), "low": 100 * shares.min(),
            "high": 100 * shares.max(), "uniform": 100 / A.shape[-1],
            "sequences": len(A), "positions": A.shape[-1]}


def losses(data):
    at = data["at_0.02"]
    return {"p": 0.02, "mse": at["MSE"], "ce": at["cross-entropy"]}


def optimizers(data):
    """Where each optimiser's drawn path ends and how far momentum overshoots."""
    paths = {name.split(" ")[0]: np.asarray(path) for name, path in data["paths"].items()}
    return {"steps": len(paths["SGD"]) - 1, "sgd_w1": paths["SGD"][-1, 0],
            "overshoot": paths["Momentum"][:, 0].max(),
            "start_w1": paths["SGD"][0, 0], "start_w2": paths["SGD"][0, 1]}


def overfitting(data, epoch=5):
    """The batch-norm panel at ``epoch``: the drawn inference-mode loss over the drawn
    loss of fit (each batch's own statistics)."""
    inference, batch = np.asarray(data["inference_loss"]), np.asarray(data["batch_loss"])
    return {"best": data["best_epoch"], "stopped": data["stopped_epoch"], "epoch": epoch,
            "lag": inference[epoch - 1] / batch[epoch - 1],
            "last_lag": inference[-1] / batch[-1], "epochs": len(batch)}


VALUES = {"attention": attention, "losses": losses, "optimizers": optimizers,
          "overfitting": overfitting}


def caption(name, picture, words):
    """The language file's caption for the picture ``name`` with the numbers it draws,
    or None where the language file has none."""
    template = words.get("captions", {}).get(name)
    if template is None:
        return None
    return fill(template, VALUES[name](picture.data), f"caption of {name!r}")
