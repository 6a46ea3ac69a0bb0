"""Raw-waveform zoo models: parameter counts against the seeds, shapes, save/load, one training step, 16 kHz cache."""

import keras
import numpy as np
import pytest

from ser.errors import SERError
from ser.zoo.waveform import (TRAINING, asymmetric_hard_threshold, build_cnn_gru, build_sigwavnet, qmf_highpass,
                              strided_dilated_conv1d, waveform_16k)

N_SAMPLES = 40000  # 2.5 s at 16 kHz
SMALL_SIGWAVNET = {"levels": 2, "channels": 4, "hidden": 4, "gru_layers": 1}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# Trainable counts: the parameter counts of the seed's PyTorch classes (models/cnn_n_gru.py), worked out from its
# layer definitions (Conv1d, BatchNorm1d weight+bias, Linear, one-layer GRU 3 * (in*64 + 64*64 + 2*64)). CNN-18-GRU
# with 7 classes is the seed's "about 333k". Totals add BatchNorm's moving mean and variance (buffers in PyTorch).
@pytest.mark.parametrize("depth, n_classes, trainable, total", [
    (3, 7, 14_828, 14_852),
    (3, 8, 14_893, 14_917),
    (5, 7, 17_002, 17_082),
    (5, 8, 17_067, 17_147),
    (11, 7, 80_678, 81_448),
    (11, 8, 80_743, 81_513),
    (18, 7, 333_221, 335_417),
    (18, 8, 333_286, 335_482),
])
def test_cnn_gru_parameter_counts_are_the_seeds(depth, n_classes, trainable, total):
    model = build_cnn_gru(depth, n_classes, N_SAMPLES, seed=0)
    assert _trainable(model) == trainable
    assert model.count_params() == total
    assert model.input_shape == (None, N_SAMPLES) and model.output_shape == (None, n_classes)


def test_cnn_18_gru_count_by_hand():
    """CNN-18-GRU, 7 classes, summed layer by layer from the seed's definitions (not from Keras)."""
    n, conv = 18, lambda c_in, c_out, k: c_in * c_out * k + c_out
    convs = conv(1, n, 160) + 4 * conv(n, n, 3)  # conv1, conv2..5
    convs += conv(n, 2 * n, 3) + 3 * conv(2 * n, 2 * n, 3) + conv(2 * n, 4 * n, 3) + 3 * conv(4 * n, 4 * n, 3)
    convs += conv(4 * n, 8 * n, 3) + 3 * conv(8 * n, 8 * n, 3)
    bns = 2 * (5 * n + 4 * 2 * n + 4 * 4 * n + 4 * 8 * n)
    fc1, gru, fc2 = 8 * n * 4 * n + 4 * n, 3 * (4 * n * 64 + 64 * 64 + 2 * 64), 64 * 7 + 7
    assert convs + bns + fc1 + gru + fc2 == 333_221 == _trainable(build_cnn_gru(18, 7, N_SAMPLES))


def _branch_count(c, h, gru_layers):
    """One SigWavNet branch, from the seed's CNN1DSABiGRUTA: two strided convs, the 7-tap global conv, the
    attention projection, the BiGRU stack, the temporal attention's two bias-free matrices."""
    convs = (7 * 1 * c + c) + (5 * c * 2 * c + 2 * c) + (7 * 2 * c * 2 * c + 2 * c) + 2 * c
    grus = 2 * 3 * (2 * c * h + h * h + 2 * h) + (gru_layers - 1) * 2 * 3 * (2 * h * h + h * h + 2 * h)
    return convs + grus + (2 * h) ** 2 + 4 * h * 2 * h


@pytest.mark.parametrize("n_classes", [7, 8])
def test_sigwavnet_parameter_count(n_classes):
    # levels 5: 6 branches, 5 x 20 wavelet taps, 5 x 3 threshold scalars, 6 level weights, the 6 -> n_classes
    # 5-tap output conv. The seed publishes no count; this is its code's, with the sizes of build_sigwavnet.
    model = build_sigwavnet(n_classes, N_SAMPLES, seed=0)
    want = 6 * _branch_count(128, 64, 3) + 100 + 15 + 6 + (6 * n_classes * 5 + n_classes)
    assert want == {7: 5_677_394, 8: 5_677_425}[n_classes]
    assert model.count_params() == _trainable(model) == want
    assert model.input_shape == (None, N_SAMPLES) and model.output_shape == (None, n_classes)


def test_bad_depth_names_the_valid_ones():
    with pytest.raises(SERError, match=r"depth 4 .*3, 5, 11, 18"):
        build_cnn_gru(4, 7, N_SAMPLES)
    with pytest.raises(SERError, match="too short"):
        build_cnn_gru(18, 7, 1000)
    with pytest.raises(SERError, match="too short"):
        build_sigwavnet(7, 2000, levels=5)
    with pytest.raises(SERError, match="kernel_mode"):
        build_sigwavnet(7, 8000, kernel_mode="QMF", **{k: v for k, v in SMALL_SIGWAVNET.items()})


def test_pure_functions_against_numpy(rng):
    assert np.asarray(qmf_highpass(np.array([1, 2, 3, 4], "float32"))).tolist() == [4, -3, 2, -1]
    # a strided, dilated, valid correlation, against a loop
    x = rng.standard_normal((2, 50, 3)).astype("float32")
    w = rng.standard_normal((5, 3, 4)).astype("float32")
    b = rng.standard_normal(4).astype("float32")
    got = np.asarray(strided_dilated_conv1d(x, w, b, stride=4, dilation=2))
    n_out = (50 - 2 * 4 - 1) // 4 + 1
    want = np.stack([sum(x[:, 4 * t + 2 * j] @ w[j] for j in range(5)) + b for t in range(n_out)], axis=1)
    assert got.shape == (2, n_out, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # hard thresholding: small coefficients vanish, large ones pass, asymmetric thresholds
    y = np.asarray(asymmetric_hard_threshold(np.array([-3.0, -0.2, 0.0, 0.2, 0.7, 3.0], "float32"), 0.5, 2.0, 50.0))
    np.testing.assert_allclose(y, [-3.0, 0.0, 0.0, 0.0, 0.7, 3.0], atol=1e-3)


@pytest.fixture(scope="module")
def speech(shared_data):
    """Four EMO-DB utterances (four emotions), 1 s from 0.5 s, at 16 kHz, and their labels."""
    import librosa

    files = ["03a01Fa.wav", "03a01Nc.wav", "03a01Wa.wav", "03a02Fc.wav"]
    waves = [librosa.load(shared_data / "emodb" / "wav" / f, sr=16000, offset=0.5, duration=1.0)[0] for f in files]
    assert all(len(w) == 16000 for w in waves)
    return np.stack(waves).astype("float32"), np.array([0, 1, 2, 0])


def _one_step_changes_weights(model, speech):
    waves, labels = speech
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    before = [np.array(w) for w in model.trainable_weights]
    loss = float(model.train_on_batch(waves, labels))
    after = [np.array(w) for w in model.trainable_weights]
    changed = [not np.allclose(a, b, rtol=0, atol=1e-7) for a, b in zip(after, before)]
    return loss, dict(zip([w.path for w in model.trainable_weights], changed))


def test_cnn_gru_one_training_step_on_speech(speech):
    loss, changed = _one_step_changes_weights(build_cnn_gru(3, 3, 16000, seed=1), speech)
    assert np.isfinite(loss) and 0 < loss < 10
    # every weight learns but the GRU's recurrent kernel: the GRU runs one step from a zero state (as the seed's)
    assert [k for k, v in changed.items() if not v] == ["gru/gru_cell/recurrent_kernel"]


def test_sigwavnet_one_training_step_on_speech(speech):
    loss, changed = _one_step_changes_weights(build_sigwavnet(3, 16000, seed=1, **SMALL_SIGWAVNET), speech)
    assert np.isfinite(loss) and 0 < loss < 10
    assert changed["wavelet/lowpass"] and changed["threshold1/thr_pos"] and changed["level_weighting/scale"]
    # every weight learns but, possibly, the biases of convolutions that feed only an instance norm (conv1 and the
    # global conv of each branch): the norm removes a per-channel constant, so their gradient is zero but for
    # rounding, and whether Adam's first step moves them past 1e-7 depends on the processor's kernels
    in_norm_biases = {f"{branch}_{conv}/bias" for branch in ("approximation", "detail1", "detail2")
                      for conv in ("conv1", "global")}
    assert {k for k, v in changed.items() if not v} <= in_norm_biases


@pytest.mark.parametrize("build", [
    lambda: build_cnn_gru(5, 4, 8000, seed=2),
    lambda: build_sigwavnet(4, 8000, seed=2, kernel_mode="PerFilter", **SMALL_SIGWAVNET),
    lambda: build_sigwavnet(4, 8000, seed=2, kernel_mode="CQF", **SMALL_SIGWAVNET),
], ids=["cnn_5_gru", "sigwavnet_perfilter", "sigwavnet_cqf"])
def test_save_load_round_trip(build, tmp_path, rng):
    model = build()
    x = (0.1 * rng.standard_normal((3, 8000))).astype("float32")
    want = model.predict(x, verbose=0)
    assert want.shape == (3, 4)
    np.testing.assert_allclose(want.sum(axis=1), 1.0, atol=1e-5)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    assert again.count_params() == model.count_params()


def test_same_seed_same_model_other_seed_other_model(rng):
    x = (0.1 * rng.standard_normal((2, 8000))).astype("float32")
    a, b, c = (build_sigwavnet(4, 8000, seed=s, **SMALL_SIGWAVNET).predict(x, verbose=0) for s in (3, 3, 4))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert np.abs(a - c).max() > 1e-4


def test_training_settings_have_the_contract_keys():
    for name in ("cnn_gru", "sigwavnet"):
        assert {"optimizer", "lr", "batch_size", "epochs"} <= set(TRAINING[name])
        assert TRAINING[name]["optimizer"] in ("adam", "rmsprop", "sgd")
    assert (TRAINING["cnn_gru"]["lr"], TRAINING["cnn_gru"]["batch_size"]) == (1e-3, 32)
    assert TRAINING["sigwavnet"]["lr"] == 1e-5


def test_waveform_16k_resamples_and_caches(tmp_path, monkeypatch):
    from scipy.signal import resample_poly

    from data_prep.corpora import discover
    from data_prep.demo import generate_demo_corpus
    from ser.data import ClipSettings, build_clip_cache, derived_cache_path

    root = generate_demo_corpus(tmp_path / "demo", n_speakers=1, utterances_per_emotion=1)
    utterances, _ = discover("ravdess", root)
    cache = build_clip_cache(utterances[:3], ClipSettings(duration=0.6), seed=0, cache_dir=tmp_path, workers=1)
    waves = waveform_16k(cache)
    assert waves.shape == (len(cache), 9600) and len(cache) == 9 and waves.dtype == np.float32
    # against an independent polyphase resampler (22050 -> 16000 = 320/441). They differ only in their
    # anti-aliasing transition bands, which matter for the noise copies' white noise: up to 4 % of the norm
    # (a wrong rate or a shifted output gives ~100 %)
    clips = cache.clips(np.arange(len(cache)))
    reference = resample_poly(clips.astype("float64"), 320, 441, axis=-1)[:, :9600]
    error = np.linalg.norm(waves[:, 200:-200] - reference[:, 200:-200], axis=1)
    assert np.all(error <= 0.05 * np.linalg.norm(reference[:, 200:-200], axis=1))
    assert derived_cache_path(cache, "wave16k").is_file()
    # the second call reads the cache and resamples nothing
    import librosa

    monkeypatch.setattr(librosa, "resample", lambda *a, **k: pytest.fail("resampled again"))
    np.testing.assert_array_equal(waveform_16k(cache), waves)
    cache.close()
