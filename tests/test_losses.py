import numpy as np
import pytest

import glassnet as gn
from gradcheck import assert_close, numeric_gradient

L = gn.losses
rng = np.random.default_rng(0)
N, C = 4, 3
LABELS = np.array([0, 2, 1, 2])
PROBS = gn.softmax(rng.normal(size=(N, C)))
LOGITS = rng.normal(size=(N, C)) * 2

# name -> (loss, predictions, raw targets)
LOSS_CASES = {
    "mse": (L.MeanSquaredError(), rng.normal(size=(N, C)), rng.normal(size=(N, C))),
    "mae": (L.MeanAbsoluteError(), rng.normal(size=(N, C)), rng.normal(size=(N, C)) + 3),
    "bce_probs": (L.BinaryCrossentropy(), rng.uniform(0.1, 0.9, (N, 2)),
                  rng.uniform(0, 1, (N, 2))),
    "bce_logits": (L.BinaryCrossentropy(from_logits=True), rng.normal(size=(N, 2)) * 3,
                   rng.uniform(0, 1, (N, 2))),
    "bce_smoothing": (L.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
                      rng.normal(size=(N, 1)), rng.integers(0, 2, (N, 1))),
    "cce_probs": (L.CategoricalCrossentropy(), PROBS, gn.datasets.one_hot(LABELS, C)),
    "cce_logits": (L.CategoricalCrossentropy(from_logits=True), LOGITS,
                   gn.datasets.one_hot(LABELS, C)),
    "cce_smoothing": (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), LOGITS,
                      gn.datasets.one_hot(LABELS, C)),
    "sparse_probs": (L.SparseCategoricalCrossentropy(), PROBS, LABELS),
    "sparse_logits": (L.SparseCategoricalCrossentropy(from_logits=True), LOGITS, LABELS),
    "sparse_smoothing": (L.SparseCategoricalCrossentropy(label_smoothing=0.3), PROBS, LABELS),
    "focal_probs": (L.CategoricalFocalCrossentropy(), PROBS, gn.datasets.one_hot(LABELS, C)),
    "focal_logits": (L.CategoricalFocalCrossentropy(gamma=1.5, alpha=0.5, from_logits=True),
                     LOGITS, gn.datasets.one_hot(LABELS, C)),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_gradient_matches_finite_differences(name):
    loss, Y, raw = LOSS_CASES[name]
    Y = Y.copy()
    T = loss.prepare(raw, Y.shape)
    loss.forward(Y, T)
    dY = loss.backward()
    assert dY.shape == Y.shape
    numeric = numeric_gradient(lambda: loss.forward(Y, T), Y)
    assert_close(dY, numeric, rtol=1e-6, atol=1e-8, what=name)


@pytest.mark.parametrize("name", ["cce_probs", "sparse_probs", "focal_probs", "bce_probs"])
def test_fused_logits_path_equals_probability_path(name):
    """softmax/sigmoid then the loss on probabilities == the fused loss on logits."""
    loss, _, raw = LOSS_CASES[name]
    Z = rng.normal(size=(N, C if "bce" not in name else 2))
    T = loss.prepare(raw if "bce" not in name else rng.uniform(0, 1, (N, 2)), Z.shape)
    act = gn.Activation("sigmoid" if "bce" in name else "softmax")
    P = act.forward(Z)
    value = loss.forward(P, T)
    dZ = act.backward(loss.backward())
    fused_value = loss.forward(Z, T, logits=True)
    assert abs(fused_value - value) < 1e-9
    assert_close(loss.backward(), dZ, rtol=1e-6, atol=1e-10, what=name)


def test_cross_entropy_with_huge_logits_is_finite_and_exact():
    loss = L.SparseCategoricalCrossentropy(from_logits=True)
    Z = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]])
    T = loss.prepare(np.array([0, 1]), Z.shape)
    value = loss.forward(Z, T)
    assert value == (0.0 + 2e4) / 2
    assert loss.backward().tolist() == [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]]


def test_bce_from_logits_at_plus_minus_100():
    loss = L.BinaryCrossentropy(from_logits=True)
    for z, t, expected in [(100.0, 0.0, 100.0), (100.0, 1.0, 0.0), (-100.0, 1.0, 100.0),
                           (-100.0, 0.0, 0.0)]:
        Z, T = np.array([[z]]), np.array([[t]])
        assert loss.forward(Z, T) == pytest.approx(expected, rel=1e-15, abs=1e-40)   # log1p(e^-100)
        sigmoid = 1.0 if z > 0 else 0.0
        assert loss.backward()[0, 0] == pytest.approx(sigmoid - t, abs=1e-40)


def test_label_smoothing_spreads_the_targets():
    T = L.SparseCategoricalCrossentropy(label_smoothing=0.3).prepare([1], (1, 3))
    np.testing.assert_allclose(T, [[0.1, 0.8, 0.1]])


def test_focal_loss_with_gamma_0_alpha_1_is_cross_entropy():
    T = gn.datasets.one_hot(LABELS, C)
    focal = L.CategoricalFocalCrossentropy(gamma=0.0, alpha=1.0).forward(PROBS, T)
    assert focal == pytest.approx(L.CategoricalCrossentropy().forward(PROBS, T), rel=1e-12)


def test_mse_hand_computed():
    loss = L.MeanSquaredError()
    assert loss.forward(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])) == 2.5
    assert loss.backward().tolist() == [[1.0], [2.0]]         # 2 (Y - T) / 2


@pytest.mark.parametrize("labels, message", [
    ([0, 3, 1], r"labels must be class indices in \[0, 2\] for a model with 3 outputs, but "
                r"label 1 is 3 .*Give the last layer as many units"),
    ([0, -1, 1], r"label 1 is -1 .*range over \[-1, 1\]"),
    ([0.0, 1.5, 1.0], r"labels must be whole class indices in \[0, 2\] but label 1 is 1.5"),
    (["a", "b", "c"], r"labels must be integers, got dtype <U1"),
    ([[0, 1], [1, 0], [0, 1]], r"expects one integer class label per sample, shape \(3,\), but "
                               r"received \(3, 2\).*categorical_crossentropy"),
])
def test_sparse_labels_are_checked(labels, message):
    with pytest.raises((ValueError, TypeError), match=message):
        L.SparseCategoricalCrossentropy().prepare(np.array(labels), (3, 3))


@pytest.mark.parametrize("loss", [L.MeanSquaredError(), L.MeanAbsoluteError(),
                                  L.BinaryCrossentropy()])
def test_targets_n_for_one_output_unit_are_one_per_sample_as_keras(loss):
    """Dense(1) with labels of shape (N,): each target is compared with its own
    prediction (Keras expands them to (N, 1)), never broadcast against all of them."""
    T = loss.prepare(np.array([0.0, 1.0, 1.0, 0.0, 1.0]), (None, 1))
    assert T.shape == (5, 1)
    Y = np.array([[0.2], [0.7], [0.9], [0.1], [0.6]])
    assert loss.forward(Y, T) == pytest.approx(loss.forward(Y, T.reshape(-1, 1)))
    assert loss.forward(Y, T) == pytest.approx(
        float(np.mean([loss.forward(Y[i:i + 1], T[i:i + 1]) for i in range(5)])))
    with pytest.raises(gn.ShapeError, match=r"targets have shape \(5,\) but the model outputs "
                                            r"\(5, 2\)"):
        loss.prepare(np.zeros(5), (None, 2))


def test_bce_refuses_values_outside_0_1():
    loss = L.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"targets must be probabilities in \[0, 1\] but range "
                                         r"over \[0, 2\]"):
        loss.prepare(np.array([[0.0], [2.0]]), (None, 1))
    T = loss.prepare(np.array([[0.0], [1.0]]), (None, 1))
    with pytest.raises(ValueError, match=r"predictions must be probabilities.*from_logits=True"):
        loss.forward(np.array([[-3.0], [4.0]]), T)


def test_nan_targets_are_refused():
    with pytest.raises(ValueError, match=r"targets contain NaN or Inf \(first at index \(1, 0\)\)"):
        L.MeanSquaredError().prepare(np.array([[0.0], [np.nan]]), (None, 1))
    with pytest.raises(ValueError, match=r"labels contain NaN or Inf"):
        L.SparseCategoricalCrossentropy().prepare(np.array([0.0, np.nan]), (None, 3))


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_label_smoothing_outside_0_1_is_refused(value):
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\], got"):
        L.CategoricalCrossentropy(label_smoothing=value)


def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"unknown loss 'crossentropy'. Use one of: .*bce"):
        L.get("crossentropy")
