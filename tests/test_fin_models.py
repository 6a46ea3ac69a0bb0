"""FIN models: the seed's parameter counts, shapes, save/load, batch consistency, closed-form exactness, training."""

import keras
import numpy as np
import pytest
from sklearn.metrics import r2_score

import fin
from data_prep.targets import (FEATURE_DIMS, FEATURES, estimate_tuning_per_frame, frame_signal, magnitude_spectra,
                               targets_from_frames)
from fin import FINError, build_model
from fin import ops as fops
from fin.layers import FactorisedDFT, TuningEstimate

ARCHS = fin.architecture_names()
PAPER_PARAMS = {"rms": 66_241, "zcr": 263_057, "chroma": 894_412, "mfcc": 822_420, "mel": 983_680}
# (feature, target set) pairs a closed-form spectral FIN reproduces; chroma both with and without the tuning path
CLOSED_FORM_CASES = [(f, "seed") for f in FEATURES] + [("chroma", "tuning0"), ("mel", "logmel")]


def _model(feature, arch, **kw):
    kw.setdefault("seed", 0)
    if arch == "spectral":
        kw.setdefault("init", "closed-form")
    return build_model(feature, arch, **kw)


def _predict(model, frames):
    return keras.ops.convert_to_numpy(model(frames, training=False))


def _synthetic_speech(rng, seconds=2.0, sr=22050):
    """Voiced harmonics with a gliding pitch, noise bursts and a stretch of digital silence."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 60 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h for h in range(1, 25))
    envelope = 0.3 * (0.55 + 0.45 * np.sin(2 * np.pi * 3 * t))
    y = envelope * voiced + 0.02 * rng.standard_normal(t.size)
    y[int(0.8 * sr) : int(1.0 * sr)] = 0.0
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def speech_frames(request):
    """About 550 frames of real speech (3 EMO-DB + 2 RAVDESS files), or synthetic speech without the corpora."""
    try:
        root = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        return np.concatenate([frame_signal(_synthetic_speech(np.random.default_rng(i))) for i in range(3)])
    import soundfile as sf

    files = sorted((root / "emodb" / "wav").glob("*.wav"))[:3] + sorted((root / "ravdess" / "Actor_02").glob("*"))[:2]
    signals = []
    for path in files:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        assert sr == 22050, path
        signals.append(frame_signal(y.mean(axis=1)))
    return np.concatenate(signals)


@pytest.fixture(scope="module")
def four_frames(speech_frames):
    return np.ascontiguousarray(speech_frames[[5, 40, 80, 120]])


# --- the registry ------------------------------------------------------------------------------------------


def test_registry_names_and_errors():
    assert fin.feature_names() == FEATURES
    assert set(ARCHS) == {"paper", "compact", "quadratic", "spectral"}
    spec = fin.get_feature("chroma")
    assert (spec.dim, spec.loss, spec.epochs, spec.metric) == (12, "mae", 50, "r2")
    assert fin.get_feature("mel").metric == "r2_vw" and fin.get_feature("rms").epochs == 100
    with pytest.raises(FINError, match="rms, zcr, chroma, mfcc, mel"):
        fin.get_feature("pitch")
    with pytest.raises(FINError, match="paper, compact, quadratic, spectral"):
        build_model("mfcc", "resnet")
    with pytest.raises(FINError, match="closed-form"):
        build_model("mfcc", "paper", init="closed-form")
    with pytest.raises(FINError, match="init"):
        build_model("mfcc", "spectral", init="zeros")
    with pytest.raises(FINError, match="target_mean"):
        build_model("mfcc", "compact", target_mean=np.zeros(3))


# --- structure -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", FEATURES)
def test_paper_parameter_counts_equal_the_seed(feature):
    model = build_model(feature, "paper", seed=0)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == model.count_params() == PAPER_PARAMS[feature]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("feature", FEATURES)
def test_every_model_maps_frames_to_its_feature(feature, arch, four_frames):
    model = _model(feature, arch)
    out = model(four_frames)
    assert model.name == f"{feature}_{arch}"
    assert tuple(out.shape) == (4, FEATURE_DIMS[feature]) and keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    if arch == "compact":
        assert model.count_params() < 300_000


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("feature", FEATURES)
def test_save_load_round_trip(feature, arch, four_frames, tmp_path):
    model = _model(feature, arch, target_mean=np.full(FEATURE_DIMS[feature], 0.5), target_std=2.0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == model.name
    np.testing.assert_allclose(_predict(loaded, four_frames), _predict(model, four_frames), rtol=1e-6, atol=1e-7)


def test_save_load_round_trip_of_random_and_tuning0_spectral(four_frames, tmp_path):
    for i, model in enumerate([_model("chroma", "spectral", target_set="tuning0"), _model("mfcc", "spectral", init="random")]):
        model.save(tmp_path / f"{i}.keras")
        loaded = keras.saving.load_model(tmp_path / f"{i}.keras")
        np.testing.assert_allclose(_predict(loaded, four_frames), _predict(model, four_frames), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("feature", FEATURES)
def test_batch_consistency(feature, arch, four_frames):
    model = _model(feature, arch)
    batched = _predict(model, four_frames)
    stacked = np.concatenate([_predict(model, four_frames[i : i + 1]) for i in range(len(four_frames))])
    np.testing.assert_allclose(stacked, batched, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(batched).max()))


def test_compact_destandardizes_inside_the_model(four_frames):
    model = build_model("mfcc", "compact", target_mean=np.arange(20.0), target_std=3.0, seed=1)
    standardized = keras.Model(model.input, model.get_layer("standardized").output)
    expected = 3.0 * _predict(standardized, four_frames) + np.arange(20.0)
    np.testing.assert_allclose(_predict(model, four_frames), expected, rtol=1e-5, atol=1e-4)
    assert not model.get_layer("mfcc").trainable_weights  # the statistics are not trained


# --- the closed form ------------------------------------------------------------------------------------------


def test_factorised_dft_equals_rfft(rng):
    frames = rng.standard_normal((3, 2048)).astype(np.float32)
    real, imag = FactorisedDFT()(frames)
    expected = np.fft.rfft(frames.astype(np.float64), axis=-1)
    got = keras.ops.convert_to_numpy(real) + 1j * keras.ops.convert_to_numpy(imag)
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_tuning_estimate_equals_librosa_on_equal_spectra(speech_frames, rng):
    t = np.arange(2048 * 6) / 22050
    tone = np.sin(2 * np.pi * 440 * 2 ** (0.23 / 12) * t) + 0.3 * np.sin(2 * np.pi * 660 * t) + 0.01 * rng.standard_normal(t.size)
    S = magnitude_spectra(np.concatenate([speech_frames, frame_signal(tone.astype(np.float32)), np.zeros((1, 2048), np.float32)]))
    index = keras.ops.convert_to_numpy(TuningEstimate()(S))
    tuning = fops.tuning_edges()[index]
    # exact on purpose: a histogram edge, not a float to compare within a tolerance; the layer follows librosa's
    # rounding step by step (fin.ops.estimate_tuning_index), which this checks (also with numpy's SSE, AVX2
    # and AVX-512 paths and OPENBLAS_CORETYPE=Haswell)
    np.testing.assert_array_equal(tuning, estimate_tuning_per_frame(S))
    assert np.allclose(tuning[len(speech_frames) : -1], 0.23, atol=0.03)  # librosa says 0.21 here and tuning[-1] == 0.0


def test_spectral_chroma_compiles_with_xla(four_frames):
    # Keras compiles with XLA by default on GPUs: the tuning path must keep static shapes
    import tensorflow as tf

    model = build_model("chroma", "spectral", init="closed-form")
    compiled = tf.function(lambda x: model(x), jit_compile=True)
    np.testing.assert_allclose(compiled(tf.constant(four_frames)).numpy(), _predict(model, four_frames), atol=1e-5)


def test_tuned_chroma_training_path_equals_inference_path(speech_frames):
    # in training (outside XLA) the frames are partitioned by tuning, each group projected with its own bank; at
    # inference and under XLA every bank projects every frame: the same chroma and gradients up to round-off
    import tensorflow as tf

    model = build_model("chroma", "spectral", init="closed-form")
    frames = tf.constant(speech_frames)
    bank = model.get_layer("chroma_filterbank").banks

    def value_and_grads(training):
        with tf.GradientTape() as tape:
            tape.watch(frames)
            out = model(frames, training=training)
            loss = tf.reduce_sum(tf.square(out - 0.5))
        g_bank, g_frames = tape.gradient(loss, [bank, frames])
        return out.numpy(), tf.convert_to_tensor(g_bank).numpy(), g_frames.numpy()

    train_out, train_bank, train_frames = value_and_grads(True)
    infer_out, infer_bank, infer_frames = value_and_grads(False)
    index = _predict(keras.Model(model.input, model.get_layer("tuning").output), speech_frames)
    assert len(np.unique(index)) >= 3  # several banks in play
    np.testing.assert_allclose(train_out, infer_out, atol=1e-5)
    for got, expected in ((train_bank, infer_bank), (train_frames, infer_frames)):
        assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()
    assert np.count_nonzero(np.abs(train_bank).sum(axis=(1, 2))) == len(np.unique(index))  # only the used banks learn

    def op_types(fn):
        return {op.type for op in fn.get_concrete_function(frames).graph.get_operations()}

    assert "DynamicPartition" in op_types(tf.function(lambda x: model(x, training=True)))
    assert "DynamicPartition" not in op_types(tf.function(lambda x: model(x, training=False)))
    # under XLA (Keras' default on GPUs) training takes the static path and compiles
    compiled = tf.function(lambda x: model(x, training=True), jit_compile=True)
    np.testing.assert_allclose(compiled(frames).numpy(), infer_out, atol=1e-5)

@pytest.mark.parametrize(("feature", "target_set"), CLOSED_FORM_CASES)
def test_closed_form_spectral_reproduces_the_targets(feature, target_set, speech_frames):
    model = build_model(feature, "spectral", init="closed-form", target_set=target_set)
    expected = targets_from_frames(speech_frames, target_set)[feature]
    got = _predict(model, speech_frames)
    r2 = r2_score(expected, got, multioutput="variance_weighted" if feature == "mel" else "uniform_average")
    assert r2 >= 0.999, (feature, target_set, r2)
    # and value by value: float32 round-off of a different FFT, dB quantities judged relative to their range
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * max(scale, 1.0))


@pytest.mark.parametrize("feature", FEATURES)
def test_random_spectral_differs_from_closed_form(feature, four_frames):
    closed = _predict(build_model(feature, "spectral", init="closed-form"), four_frames)
    random = _predict(build_model(feature, "spectral", init="random", seed=3), four_frames)
    assert np.abs(random - closed).max() > 1e-3 * np.abs(closed).max() > 0


@pytest.mark.parametrize("feature", FEATURES)
def test_closed_form_spectral_trains_end_to_end(feature, four_frames):
    import tensorflow as tf  # the gradient tape is backend-specific; the models themselves are not

    model = build_model(feature, "spectral", init="closed-form")
    frames = tf.constant(four_frames)
    before = _predict(model, four_frames)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(frames)
        out = model(frames, training=True)
        loss = tf.reduce_sum(tf.square(out - (before + 0.1)))  # pull every output up a little
    grads = tape.gradient(loss, model.trainable_weights)
    assert model.trainable_weights and all(g is not None for g in grads)
    assert np.all(np.isfinite(tape.gradient(loss, frames).numpy())) and np.any(tape.gradient(loss, frames).numpy() != 0)
    keras.optimizers.SGD(1e-3).apply_gradients(zip(grads, model.trainable_weights))
    assert np.abs(_predict(model, four_frames) - before).max() > 0
