"""PyTorch's engine with what fit gives: a History with the same keys and values as fit
(metrics, validation), the optimiser's state carried back so fit continues exactly, the
callbacks that make sense there, the command line's --validation-split, and two
"machines" on 127.0.0.1 (two launchers, --nnodes 2, gloo) training to the weights one
machine reaches with the same global batch."""
import csv
import socket
import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.interop.distributed import launcher_command


def _data(n=96):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _model(optimizer=None):
    model = gn.Sequential([gn.Dense(8, activation="tanh"), gn.Dense(2, activation="softmax")],
                          input_shape=(5,), seed=1)
    model.compile(optimizer or gn.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("optimizer", [lambda: gn.optimizers.Adam(0.01),
                                       lambda: gn.optimizers.SGD(0.05, momentum=0.9),
                                       lambda: gn.optimizers.RMSprop(0.01, momentum=0.5)])
def test_history_matches_fit_and_fit_continues_from_pytorchs_state(optimizer):
    X, y = _data()
    own = _model(optimizer())
    expected = own.fit(X, y, 16, 3, 0, shuffle=False, validation_split=0.25).history
    model = _model(optimizer())
    history = gn.train_with_torch(model, X, y, epochs=2, batch_size=16, shuffle=False,
                                  verbose=0, validation_split=0.25)
    assert isinstance(history, gn.History) and history.epoch == [0, 1]
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    for key, values in history.history.items():
        np.testing.assert_allclose(values, expected[key][:2], rtol=1e-5, atol=1e-6)
    assert model.epoch == 2 and model.optimizer.iterations == 2 * 5
    rest = model.fit(X, y, 16, 3, 0, shuffle=False, validation_split=0.25, initial_epoch=2)
    np.testing.assert_allclose(rest.history["loss"], expected["loss"][2:], rtol=1e-5)
    for a, b in zip(model.get_weights(), own.get_weights()):      # as if fit had run it all
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_validation_data_and_the_callbacks_that_make_sense(tmp_path):
    X, y = _data()
    split = 72
    stop = gn.EarlyStopping(monitor="loss", min_delta=10.0)         # stops after epoch 2
    checkpoint = gn.ModelCheckpoint(str(tmp_path / "ck-{epoch}.glassnet"))
    log = gn.CSVLogger(tmp_path / "log.csv")
    model = _model()
    history = gn.train_with_torch(model, X[:split], y[:split], epochs=5, batch_size=8,
                                  verbose=0, validation_data=(X[split:], y[split:]),
                                  callbacks=[stop, checkpoint, log])
    assert history.epoch == [0, 1] and stop.stopped_epoch == 1 and model.epoch == 2
    assert [p.rsplit("/", 1)[-1] for p in checkpoint.saved] == ["ck-1.glassnet",
                                                                "ck-2.glassnet"]
    saved = gn.load_model(checkpoint.saved[-1])
    for a, b in zip(saved.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["val_loss"]) == pytest.approx(history.history["val_loss"][1])
    with pytest.raises(TypeError, match=r"the callback .*ReduceLROnPlateau.* does not run on "
                                        r"PyTorch's engine; it runs EarlyStopping, "
                                        r"ModelCheckpoint, CSVLogger"):
        gn.train_with_torch(model, X, y, callbacks=[gn.ReduceLROnPlateau()])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_train_to_the_weights_of_one_with_the_same_global_batch(tmp_path):
    """Also: the History with validation comes back on both machines, the optimiser's
    state too, and a file-writing callback writes on machine 0 only."""
    X, y = _data(80)
    one = _model()
    expected = gn.train_with_torch(one, X, y, epochs=2, batch_size=16, shuffle=False,
                                   verbose=0, validation_split=0.2)
    port, nodes, results = _free_port(), [_model(), _model()], {}

    def node(rank):
        try:
            results[rank] = gn.train_with_torch(
                nodes[rank], X, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
                validation_split=0.2, callbacks=[gn.CSVLogger(tmp_path / f"log{rank}.csv")],
                nnodes=2, node_rank=rank, master_addr="127.0.0.1", master_port=port,
                timeout=300)
        except BaseException as error:                      # reported below
            results[rank] = error
    threads = [threading.Thread(target=node, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(360)
    assert all(isinstance(results.get(r), gn.History) for r in (0, 1)), results
    for machine in nodes:
        for a, b in zip(machine.get_weights(), one.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert machine.optimizer.iterations == one.optimizer.iterations == 2 * 4
        for slot in ("m", "v"):
            np.testing.assert_allclose(machine.optimizer.state[slot],
                                       one.optimizer.state[slot], rtol=1e-4, atol=1e-7)
    assert not np.allclose(one.get_weights()[0], _model().get_weights()[0])   # it trained
    for result in results.values():
        assert list(result.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
        for key, values in result.history.items():
            np.testing.assert_allclose(values, expected.history[key], rtol=1e-5)
        first, second = result.rank_weights[0], nodes[0].get_weights()
        assert len(result.rank_weights) == 1 and len(first) == len(second)
    assert len(list(csv.reader(open(tmp_path / "log0.csv")))) == 3   # a header, 2 epochs
    assert not (tmp_path / "log1.csv").exists()                    # machine 1 writes none


def test_the_launcher_is_told_the_machines():
    base = {"nproc": 2, "nnodes": 3, "node_rank": 1, "master_addr": "10.0.0.5",
            "master_port": 29400, "rdzv_endpoint": None, "rdzv_id": "run"}
    static = launcher_command(base, "/job")
    assert static[1:3] == ["-m", "torch.distributed.run"] and static[-3:] == [
        "-m", "glassnet.interop.distributed", "/job"]
    assert {"--nproc-per-node=2", "--nnodes=3", "--node-rank=1", "--master-addr=10.0.0.5",
            "--master-port=29400"} <= set(static)
    dynamic = launcher_command({**base, "rdzv_endpoint": "10.0.0.5:29400"}, "/job")
    assert {"--rdzv-backend=c10d", "--rdzv-endpoint=10.0.0.5:29400",
            "--rdzv-id=run"} <= set(dynamic)
    assert "--standalone" in launcher_command({**base, "nnodes": 1}, "/job")


def test_the_command_line_validates_on_pytorchs_engine(capsys):
    code = cli.main(["train", "--engine", "torch", "--epochs", "2", "--validation-split",
                     "0.2", "--model", "64-16:relu-10:softmax"])
    out = capsys.readouterr().out
    assert code == 0 and "val_loss" in out and "val_accuracy" in out
    code = cli.main(["train", "--nnodes", "2"])
    assert code == 2 and "add --engine torch" in capsys.readouterr().err
    code = cli.main(["train", "--engine", "torch", "--nnodes", "2", "--node-rank", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "--node-rank" in err and len(err.strip().splitlines()) == 1


def test_regularizers_train_in_pytorch_as_in_fit():
    """Keras's kernel_regularizer and bias_regularizer: the generated module writes them
    out as its regularization_loss, and PyTorch's loop adds it to each batch's loss, so
    history and weights are fit's."""
    X, y = _data()

    def model():
        m = gn.Sequential([gn.Dense(8, activation="tanh",
                                    kernel_regularizer=gn.regularizers.L1L2(0.01, 0.02)),
                           gn.Dense(2, activation="softmax", bias_regularizer="l1")],
                          input_shape=(5,), seed=1, dtype="float64")
        m.compile(gn.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        return m
    own = model()
    expected = own.fit(X, y, 16, 2, 0, shuffle=False).history
    code = gn.torch_code(own)
    assert "def regularization_loss(self):" in code and "0.02 * self." in code
    trained = model()
    history = gn.train_with_torch(trained, X, y, epochs=2, batch_size=16, shuffle=False,
                                  verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-10)
    for a, b in zip(trained.get_weights(), own.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
