"""SER model: which weights each freeze mode trains, random init, the frozen-FIN shortcut, save/load, batching."""

import keras
import numpy as np
import pytest

from ser.data import frame_mask
from ser.errors import SERError
from ser.model import (FEATURE_DIM, FEATURE_ORDER, build_classifier, build_feature_classifier, build_fin_stack,
                       build_ser_model, fin_digest, get_fins, load_fins, parse_freeze)

N_FRAMES = 6


def _ids(variables):
    return {id(v) for v in variables}


def _fin_variables(model, features):
    fins = get_fins(model)
    return {id(v) for f in features for v in fins[f].weights if v.trainable}


@pytest.fixture(scope="module")
def frames():
    """Three clips of speech-like frames: harmonics with a gliding pitch, plus noise."""
    from ser.data import clip_frames

    rng = np.random.default_rng(0)
    t = np.arange(int(0.3 * 22050)) / 22050
    clips = []
    for k in range(3):
        phase = 2 * np.pi * np.cumsum(110 + 40 * k + 30 * np.sin(2 * np.pi * 2 * t)) / 22050
        y = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.2 + 0.01 * rng.standard_normal(t.size)
        clips.append(y.astype(np.float32))
    return clip_frames(np.stack(clips), N_FRAMES)


@pytest.mark.parametrize("freeze, frozen", [
    ("none", ()),
    ("all", FEATURE_ORDER),
    ("mel,mfcc", ("mfcc", "mel")),
    (["zcr"], ("zcr",)),
])
def test_freeze_modes_train_exactly_the_intended_weights(freeze, frozen):
    model = build_ser_model(5, freeze=freeze, n_frames=N_FRAMES)
    classifier = model.get_layer("classifier")
    trainable = _ids(model.trainable_weights)
    unfrozen = [f for f in FEATURE_ORDER if f not in frozen]
    expected = _ids(classifier.trainable_weights) | _fin_variables(model, unfrozen)
    assert trainable == expected
    for f in frozen:  # no weight of a frozen FIN is trainable, and it is marked so
        assert get_fins(model)[f].trainable is False
        assert not _fin_variables(model, [f]) & trainable
    for f in unfrozen:  # every unfrozen FIN contributes weights
        assert _fin_variables(model, [f]) and _fin_variables(model, [f]) <= trainable
    # the head's BatchNorm statistics are never trainable
    assert not any("moving" in v.path for v in model.trainable_weights)


def test_a_training_step_moves_only_unfrozen_weights(frames):
    model = build_ser_model(3, freeze="mel,zcr", n_frames=N_FRAMES, seed=0)
    fins = get_fins(model)
    before = {f: [keras.ops.convert_to_numpy(w).copy() for w in fins[f].weights] for f in FEATURE_ORDER}
    head_before = keras.ops.convert_to_numpy(model.get_layer("classifier").get_layer("emotion").kernel).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.train_on_batch(frames, np.array([0, 1, 2]))
    changed = {f: any(not np.array_equal(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before[f], fins[f].weights))
               for f in FEATURE_ORDER}
    assert changed["mel"] is False and changed["zcr"] is False
    assert changed["mfcc"] and changed["rms"]
    assert not np.array_equal(head_before, keras.ops.convert_to_numpy(model.get_layer("classifier").get_layer("emotion").kernel))


def test_random_init_differs_from_the_pretrained_fins():
    pretrained, random = load_fins("pretrained"), load_fins("random", seed=0)
    for f in FEATURE_ORDER:
        a = [keras.ops.convert_to_numpy(w) for w in pretrained[f].weights]
        b = [keras.ops.convert_to_numpy(w) for w in random[f].weights]
        assert [x.shape for x in a] == [x.shape for x in b], f
        assert all(not np.allclose(x, y, rtol=1e-3, atol=1e-6) for x, y in zip(a, b)), f
    # and a random-init model's FINs are those, not the pretrained ones
    model = build_ser_model(4, fins="random", n_frames=N_FRAMES, seed=0)
    stack_random = build_fin_stack(load_fins("random", seed=0), N_FRAMES)
    stack_pretrained = build_fin_stack(load_fins("pretrained"), N_FRAMES)
    assert fin_digest(model.get_layer("fin_stack")) == fin_digest(stack_random) != fin_digest(stack_pretrained)


def test_pretrained_fins_compute_the_librosa_features(frames):
    """The pretrained FIN stack reproduces data_prep's per-frame targets (exact in closed form; presets are learned,
    so an R² threshold)."""
    from sklearn.metrics import r2_score

    from data_prep.targets import targets_from_frames

    stack = build_fin_stack(load_fins("pretrained"), N_FRAMES)
    out = keras.ops.convert_to_numpy(stack(frames)).reshape(-1, FEATURE_DIM)
    targets = targets_from_frames(frames.reshape(-1, frames.shape[-1]))
    start = 0
    for f in FEATURE_ORDER:
        dim = targets[f].shape[1]
        assert r2_score(targets[f], out[:, start : start + dim], multioutput="variance_weighted") > 0.9, f
        start += dim
    assert start == FEATURE_DIM


def test_frames_are_batched_not_looped(frames):
    """Per-clip results stacked equal the batched result; the graph holds one call per FIN."""
    stack = build_fin_stack(load_fins("pretrained"), N_FRAMES)
    batched = keras.ops.convert_to_numpy(stack(frames))
    single = np.concatenate([keras.ops.convert_to_numpy(stack(frames[i : i + 1])) for i in range(len(frames))])
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6)
    assert batched.shape == (3, N_FRAMES, FEATURE_DIM)
    assert not any(isinstance(layer, keras.layers.TimeDistributed) for layer in stack.layers)
    assert sum(isinstance(layer, keras.Model) for layer in stack.layers) == len(FEATURE_ORDER)


def test_frozen_shortcut_equals_running_the_frozen_fins(frames):
    """Training the classifier on cached FIN outputs is exact: same numbers as the full frozen model."""
    model = build_ser_model(4, freeze="all", n_frames=N_FRAMES, seed=1)
    cached = keras.ops.convert_to_numpy(build_fin_stack(load_fins("pretrained"), N_FRAMES)(frames))
    stack = model.get_layer("fin_stack")
    # a frozen FIN is a fixed function, in training mode too
    np.testing.assert_allclose(keras.ops.convert_to_numpy(stack(frames, training=True)), cached, rtol=1e-6, atol=1e-6)
    full = keras.ops.convert_to_numpy(model(frames, training=False))
    shortcut = keras.ops.convert_to_numpy(model.get_layer("classifier")([cached, frame_mask(frames)], training=False))
    np.testing.assert_allclose(full, shortcut, rtol=1e-5, atol=1e-6)
    assert not model.get_layer("fin_stack").trainable_weights


@pytest.mark.parametrize("pooling", ["mean", "stats", "attention"])
def test_masked_pooling_ignores_end_padding(frames, pooling):
    """With mask_padding a clip's prediction does not depend on how much zero padding follows it."""
    from ser.data import clip_frames, fit_clip

    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(6000)).astype(np.float32)
    short, long = (clip_frames(fit_clip(y, n)[0][None]) for n in (8192, 16384))  # 17 and 33 frames
    masked = build_ser_model(4, freeze="all", n_frames=None, pooling=pooling, seed=0)
    a, b = (keras.ops.convert_to_numpy(masked(x, training=False)) for x in (short, long))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    plain = build_ser_model(4, freeze="all", n_frames=None, pooling=pooling, mask_padding=False, seed=0)
    pooled = [keras.ops.convert_to_numpy(plain.get_layer("fin_stack")(x)).mean(axis=1) for x in (short, long)]
    assert not np.allclose(pooled[0], pooled[1], rtol=1e-3)  # the seed's plain mean depends on the padding


@pytest.mark.parametrize("pooling, dim", [("mean", FEATURE_DIM), ("stats", 2 * FEATURE_DIM), ("attention", FEATURE_DIM)])
def test_poolings_and_save_load_round_trip(tmp_path, frames, pooling, dim):
    model = build_ser_model(4, freeze="all", n_frames=N_FRAMES, pooling=pooling, feature_norm="batchnorm", seed=0)
    classifier = model.get_layer("classifier")
    assert classifier.get_layer("pooling").compute_output_shape((None, N_FRAMES, FEATURE_DIM))[-1] == dim
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(frames)), keras.ops.convert_to_numpy(model(frames)),
                               rtol=1e-5, atol=1e-6)


def test_head_shapes_and_the_baseline_model():
    classifier = build_classifier(7, n_frames=108)
    assert classifier.input_shape == [(None, 108, FEATURE_DIM), (None, 108)] and classifier.output_shape == (None, 7)
    assert build_classifier(7, n_frames=108, mask_padding=False).input_shape == (None, 108, FEATURE_DIM)
    baseline = build_feature_classifier(7)
    assert baseline.input_shape == (None, FEATURE_DIM) and baseline.output_shape == (None, 7)
    # the seed's head: 2 x 256, 4 x 128, 2 x 64 convolutions of width 8, 'same' padding
    convs = [layer for layer in baseline.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [c.filters for c in convs] == [256, 256, 128, 128, 128, 128, 64, 64]
    assert {c.kernel_size for c in convs} == {(8,)} and {c.padding for c in convs} == {"same"}


def test_bad_names_raise_one_clear_error():
    assert parse_freeze("mfcc, mel") == ("mfcc", "mel")
    with pytest.raises(SERError, match="pitch"):
        parse_freeze("mel,pitch")
    with pytest.raises(SERError, match="mean, stats, attention"):
        build_ser_model(4, pooling="max")
    with pytest.raises(SERError, match="pretrained, random"):
        load_fins("imagenet")
    with pytest.raises(SERError, match="at least 2"):
        build_ser_model(1)


def test_log_compress_touches_only_the_energy_columns():
    from ser.layers import LogCompress
    from ser.model import energy_columns

    columns = energy_columns()
    assert columns == [33] + list(range(34, 162))  # rms, then the 128 mel bands
    x = np.random.default_rng(0).uniform(0.01, 2.0, (2, 5, FEATURE_DIM)).astype(np.float32)
    y = keras.ops.convert_to_numpy(LogCompress(columns)(x))
    np.testing.assert_allclose(y[..., columns], np.log(x[..., columns] + 1e-6), rtol=1e-5)
    others = [c for c in range(FEATURE_DIM) if c not in columns]
    np.testing.assert_array_equal(y[..., others], x[..., others])


def test_speaker_norm_shortcut_is_exact(frames):
    """Training the head on per-speaker normalised pooled vectors is the full model with that speaker's statistics."""
    from ser.layers import normalise_by_speaker, speaker_statistics
    from ser.model import head_model, pooled_model

    model = build_ser_model(4, freeze="all", n_frames=N_FRAMES, pooling="stats", compress="log", head="mlp",
                            speaker_norm=True, seed=3)
    classifier = model.get_layer("classifier")
    cached = keras.ops.convert_to_numpy(model.get_layer("fin_stack")(frames))
    pooled = keras.ops.convert_to_numpy(pooled_model(classifier)([cached, frame_mask(frames)]))
    assert pooled.shape == (3, 2 * FEATURE_DIM)
    speakers = np.array(["a", "a", "a"])
    stats = speaker_statistics(pooled, speakers)
    shortcut = keras.ops.convert_to_numpy(head_model(classifier)(normalise_by_speaker(pooled, speakers, stats)))
    classifier.get_layer("speaker_norm").set_statistics(*stats["a"])
    full = keras.ops.convert_to_numpy(model(frames, training=False))
    np.testing.assert_allclose(full, shortcut, rtol=1e-4, atol=1e-6)
    # and the statistics matter: the layer's defaults (0, 1) give other probabilities
    classifier.get_layer("speaker_norm").set_statistics(np.zeros(2 * FEATURE_DIM), np.ones(2 * FEATURE_DIM))
    assert not np.allclose(keras.ops.convert_to_numpy(model(frames, training=False)), full, atol=1e-4)
