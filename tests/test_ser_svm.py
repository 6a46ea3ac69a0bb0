"""Descriptive pooling and the SVM head: numpy's functionals, sklearn's decisions, one .keras model."""

import keras
import numpy as np
import pytest

from ser.layers import DESCRIPTIVE_FUNCTIONALS, DescriptivePooling, OneVsOneSVM, descriptive_pool
from ser.svm import fit_svm_head, ovo_weights, pair_index


def _functionals(x):
    """The 15 functionals of :func:`descriptive_pool` by numpy, on the kept frames ``x`` (T, dim)."""
    d = np.diff(x, axis=0)
    t = np.arange(len(x), dtype=float)
    t = (t - t.mean()) / t.std()
    p = np.percentile(x, [1, 25, 50, 75, 99], axis=0)
    z = (x - x.mean(0)) / x.std(0)
    return np.concatenate([x.mean(0), x.std(0), *p, p[4] - p[0], p[3] - p[1], (t[:, None] * (x - x.mean(0))).mean(0),
                           (z ** 3).mean(0), (z ** 4).mean(0), d.mean(0), d.std(0), np.abs(d).mean(0)])


def test_descriptive_pooling_matches_numpy_over_the_kept_frames():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 30, 5)).astype("float32") * np.array([1, 10, 0.1, 3, 1], "float32")
    mask = np.ones((4, 30), "float32")
    mask[1, 17:] = 0  # a short clip padded at the end
    mask[2, :] = 0  # nothing kept: zeros
    mask[3, :3] = 0  # padding in front
    out = keras.ops.convert_to_numpy(descriptive_pool(x, mask))
    assert out.shape == (4, len(DESCRIPTIVE_FUNCTIONALS) * 5)
    for row, kept in ((0, slice(None)), (1, slice(0, 17)), (3, slice(3, None))):
        expected = _functionals(x[row, kept].astype(np.float64))
        # float32 sums over 30 frames; skewness and kurtosis are ratios of such sums
        np.testing.assert_allclose(out[row], expected, rtol=1e-3, atol=1e-3)
    assert not np.any(out[2])
    layer = DescriptivePooling()
    assert keras.Sequential([keras.Input((30, 5)), layer]).output_shape == (None, 75)


def _svm_data(n_classes=5, dim=12, per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), per_class)
    x = centres[y] + rng.normal(size=(len(y), dim)) * rng.uniform(0.5, 3, size=dim)
    return x + rng.normal(scale=5, size=dim), y  # offset and uneven scales: the scaler matters


@pytest.mark.parametrize("absent", [None, 2])
def test_one_vs_one_layer_gives_sklearns_decision_and_predictions(absent):
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    n_classes = 5
    x, y = _svm_data(n_classes)
    keep = y != absent
    scaler = StandardScaler().fit(x[keep])
    model = SVC(C=0.05, kernel="linear", class_weight="balanced").fit(scaler.transform(x[keep]), y[keep])
    layer = OneVsOneSVM(n_classes)
    layer.build((None, x.shape[1]))
    layer.set_weights(list(ovo_weights(model, scaler, n_classes)))
    decision = keras.ops.convert_to_numpy(layer.decision(keras.ops.convert_to_tensor(x, "float32")))
    probs = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x, "float32")))
    reference = model.decision_function(scaler.transform(x))
    present = [int(c) for c in model.classes_]
    if absent is None:  # float32 weights against sklearn's float64: decisions agree to about 1e-4 of their range
        np.testing.assert_allclose(decision[:, present], reference, atol=2e-3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    agree = np.mean(np.argmax(probs, axis=1) == model.predict(scaler.transform(x)))
    assert agree > 0.99
    if absent is not None:
        assert not np.any(np.argmax(probs, axis=1) == absent)
        assert decision[:, absent].max() < 1  # it loses every pair it is in
    assert len(pair_index(n_classes)) == layer.n_pairs == 10


def test_svm_head_fit_chooses_c_by_speaker_and_separates_the_classes():
    x, y = _svm_data(4, dim=8, per_class=40)
    groups = np.tile(np.arange(8), len(y) // 8)  # eight "speakers"
    inputs = keras.Input((x.shape[1],))
    head = keras.Model(inputs, OneVsOneSVM(4, name="emotion")(inputs))
    info = fit_svm_head(head, x, y, groups, 4)
    assert info["C"] in info["grid"] and len(info["inner_cv_ua"]) == len(info["grid"])
    assert max(info["inner_cv_ua"]) > 0.8
    accuracy = np.mean(np.argmax(head.predict(x.astype("float32"), verbose=0), axis=1) == y)
    assert accuracy > 0.85  # an unfitted layer (all zeros) predicts one class: 0.25
    assert head.trainable_weights == []
