"""Recurrent, embedding and attention layers in models: counts, training, masks, errors."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.inspect import summary


def _recall_first(n, seed, steps=20, vocab=4):
    """Remember the first token until the end of the sequence."""
    X = np.random.default_rng(seed).integers(0, vocab, (n, steps))
    return X, X[:, 0].copy()


def _count_zeros(n, seed, steps=10, vocab=4):
    X = np.random.default_rng(seed).integers(0, vocab, (n, steps))
    return X, (X == 0).sum(axis=1)


@pytest.mark.parametrize("make, keras, torch_count, torch_module", [
    (lambda: gn.LSTM(64), 24_832, 25_088, lambda: torch.nn.LSTM(32, 64)),
    (lambda: gn.GRU(64), 18_816, 18_816, lambda: torch.nn.GRU(32, 64)),
    (lambda: gn.SimpleRNN(64), 6_208, 6_272, lambda: torch.nn.RNN(32, 64)),
])
def test_recurrent_counts_keras_and_pytorch(make, keras, torch_count, torch_module):
    """Keras (and glassnet) keep one bias per gate for LSTM and SimpleRNN; PyTorch keeps
    two (b_ih and b_hh), 4 * 64 = 256 (LSTM) or 64 (RNN) more. GRU with Keras's default
    reset_after=True has both biases, as PyTorch."""
    model = gn.Sequential([make()], input_shape=(10, 32))
    assert summary(model).data["params"]["total"] == keras
    assert sum(p.numel() for p in torch_module().parameters()) == torch_count


@pytest.mark.parametrize("make, input_shape, count", [
    (lambda: gn.MultiHeadAttention(8, 8), (10, 64), 16_640),
    (lambda: gn.Embedding(1000, 64), (10,), 64_000),
    (lambda: gn.LayerNorm(), (10, 64), 128),
    (lambda: gn.GlobalAveragePooling1D(), (10, 64), 0),
    (lambda: gn.Residual([gn.LayerNorm(), gn.Dense(64)]), (10, 64), 128 + 4_160),
])
def test_sequence_layer_counts_equal_keras(make, input_shape, count):
    model = gn.Sequential([make()], input_shape=input_shape)
    assert summary(model).data["params"]["total"] == count


def test_attention_weights_are_visible_and_masked():
    layer = gn.MultiHeadAttention(2, 4, causal=True)
    model = gn.Sequential([layer], input_shape=(5, 6), dtype="float64")
    model.predict(np.random.default_rng(0).normal(size=(3, 5, 6)))
    A = layer.attention_weights
    assert A.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(A.sum(axis=-1), 1.0)
    assert np.all(A[..., np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0)
    assert np.all(A[..., 0, 0] == 1.0)                    # the first position sees itself only


@pytest.mark.slow
@pytest.mark.parametrize("cell", [gn.LSTM, gn.GRU])
def test_recurrent_model_remembers_the_first_token(cell):
    X, y = _recall_first(2000, seed=0)
    X_test, y_test = _recall_first(500, seed=1)
    model = gn.Sequential([gn.Embedding(4, 8), cell(32), gn.Dense(4, activation="softmax")],
                          input_shape=(20,), seed=0)
    model.compile(gn.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=25, batch_size=32, seed=0, verbose=0)
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.95


@pytest.mark.slow
def test_attention_model_learns_to_count():
    X, y = _count_zeros(2000, seed=0)
    X_test, y_test = _count_zeros(500, seed=1)
    model = gn.Sequential([
        gn.Embedding(4, 16),
        gn.Residual([gn.LayerNorm(), gn.MultiHeadAttention(2, 8)]),
        gn.Residual([gn.LayerNorm(), gn.Dense(32, activation="relu"), gn.Dense(16)]),
        gn.GlobalAveragePooling1D(), gn.Dense(11, activation="softmax")],
        input_shape=(10,), seed=0)
    model.compile(gn.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=30, batch_size=32, seed=0, verbose=0)
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.95


def test_transformer_block_resumes_exactly_with_nested_dropout(tmp_path):
    def make():
        model = gn.Sequential([
            gn.Embedding(4, 8),
            gn.Residual([gn.LayerNorm(), gn.MultiHeadAttention(2, 4), gn.Dropout(0.2)]),
            gn.GlobalAveragePooling1D(), gn.Dense(11, activation="softmax")],
            input_shape=(10,), seed=3)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model
    X, y = _count_zeros(64, seed=0)
    straight = make()
    straight.fit(X, y, epochs=4, batch_size=16, verbose=0)
    half = make()
    half.fit(X, y, epochs=2, batch_size=16, verbose=0)
    half.save(tmp_path / "block.glassnet")
    resumed = gn.load_model(tmp_path / "block.glassnet")
    resumed.fit(X, y, epochs=4, batch_size=16, verbose=0, initial_epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(),
                                                    straight.get_weights()))


def test_sequence_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Embedding\(4, 8\) at layer 1 has 4 rows, so token "
                                         r"ids must be in \[0, 3\], but they range over "
                                         r"\[0, 7\]. Build it with input_dim=8"):
        gn.Sequential([gn.Embedding(4, 8)], input_shape=(3,)).predict(np.array([[0, 7, 1]]))
    with pytest.raises(gn.ShapeError, match=r"Residual\(Dense\(3\)\) at layer 1: its branch "
                                            r"turns \(batch, 5, 4\) into \(batch, 5, 3\), but "
                                            r"X \+ f\(X\) needs the same shape"):
        gn.Sequential([gn.Residual([gn.Dense(3)])], input_shape=(5, 4)).build()
    with pytest.raises(gn.ShapeError, match=r"LSTM\(8\) at layer 1 expects sequences of shape "
                                            r"\(batch, time, features\) but received "
                                            r"\(batch, 16\)"):
        gn.Sequential([gn.LSTM(8)], input_shape=(16,)).build()
    with pytest.raises(ValueError, match=r"MultiHeadAttention: num_heads must be a positive "
                                         r"whole number, got 0"):
        gn.MultiHeadAttention(0, 4)
