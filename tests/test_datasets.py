import gzip

import numpy as np
import pytest

import glassnet as gn

D = gn.datasets


@pytest.mark.parametrize("make, classes", [
    (lambda s: D.make_moons(101, seed=s), 2), (lambda s: D.make_circles(101, seed=s), 2),
    (lambda s: D.make_spirals(99, arms=3, seed=s), 3),
    (lambda s: D.make_spirals(100, arms=5, seed=s), 5),
    (lambda s: D.make_xor(100, seed=s), 2), (lambda s: D.make_blobs(90, centers=4, seed=s), 4),
])
def test_generated_sets_are_seeded_and_balanced(make, classes):
    X, y = make(0)
    X2, y2 = make(0)
    X3, _ = make(1)
    assert X.shape == (len(y), 2) and y.dtype == np.int64
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and not np.array_equal(X, X3)
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1


def test_seeds_accept_a_generator():
    X, _ = D.make_moons(10, seed=np.random.default_rng(3))
    assert np.array_equal(X, D.make_moons(10, seed=np.random.default_rng(3))[0])


def test_xor_labels_follow_the_quadrants():
    X, y = D.make_xor(200, noise=0.05, seed=0)
    assert np.array_equal(y, ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int))


def test_digits_ship_with_the_package():
    X, y = D.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and sorted(set(y)) == list(range(10))
    assert np.bincount(y).min() >= 170
    assert X[0].reshape(8, 8)[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_idx_round_trip_and_mnist_loader(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    D.save_idx(tmp_path / "images.idx", images)
    with gzip.open(tmp_path / "labels.idx.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + labels.tobytes())
    raw = (tmp_path / "images.idx").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and raw[4:8] == (5).to_bytes(4, "big")
    assert np.array_equal(D.load_idx(tmp_path / "images.idx"), images)
    X, y = D.load_mnist_idx(tmp_path / "images.idx", tmp_path / "labels.idx.gz")
    assert X.shape == (5, 784) and X.max() <= 1 and np.array_equal(y, labels)
    floats = rng.normal(size=(3, 4)).astype(np.float32)
    D.save_idx(tmp_path / "f.idx", floats)
    assert np.array_equal(D.load_idx(tmp_path / "f.idx"), floats)


def test_malformed_idx_files_are_refused(tmp_path):
    (tmp_path / "bad.idx").write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(ValueError, match=r"is not an IDX file \(bad magic number 12340801\)"):
        D.load_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"ab")
    with pytest.raises(ValueError, match=r"short.idx' should hold 10 bytes of data for shape "
                                         r"\(10,\) but holds 2 \(the file is truncated\)"):
        D.load_idx(tmp_path / "short.idx")


def test_csv_loader(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,1\n")
    X, y = D.load_csv(tmp_path / "t.csv")
    assert X.tolist() == [[1, 2], [3, 4], [5, 6]] and y.tolist() == [0, 1, 1]
    assert y.dtype == np.int64


def test_split_is_stratified_seeded_and_disjoint():
    X, y = D.load_digits()
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_test) == pytest.approx(0.2 * len(X), abs=10)
    assert np.abs(np.bincount(y_test) / len(y_test) - np.bincount(y) / len(y)).max() < 0.01
    rows = {row.tobytes() for row in X_train}
    assert not any(row.tobytes() in rows for row in X_test[:50] if
                   (X == row).all(1).sum() == 1)
    again = D.train_test_split(X, y, test_size=0.2, seed=0)
    assert np.array_equal(again[1], X_test)


def test_one_hot_and_standardize():
    assert D.one_hot(np.array([2, 0])).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="label 3 does not fit 3 classes"):
        D.one_hot(np.array([3]), 3)
    train, test = D.standardize(np.array([[1.0, 5], [3, 5]]), np.array([[2.0, 6]]))
    assert train.tolist() == [[-1, 0], [1, 0]] and test.tolist() == [[0, 1]]
