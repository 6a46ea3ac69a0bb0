"""Vectorised targets against the seed's per-frame librosa calls, and signals with known answers."""

import numpy as np
import pytest

from data_prep import DataPrepError, frame_targets
from data_prep.audio import load_audio
from data_prep.targets import FEATURES, estimate_tuning_per_frame, frame_signal, magnitude_spectra, reference_frame_targets

# tolerance per quantity: linear quantities absolute (scaled by the data's range), dB-derived relative
TOLERANCE = {"rms": dict(rtol=1e-5, atol=1e-7), "zcr": dict(rtol=0, atol=1e-9), "chroma": dict(rtol=1e-4, atol=1e-5),
             "mfcc": dict(rtol=1e-4, atol=2e-3), "mel": dict(rtol=1e-4, atol=1e-6)}


def _speech_signals(shared_data):
    files = sorted((shared_data / "emodb" / "wav").glob("*.wav"))[:2] + sorted((shared_data / "ravdess" / "Actor_02").glob("*"))[:1]
    files += [sorted((shared_data / "tess").rglob("*.wav"))[0]]
    return [load_audio(f) for f in files]


@pytest.mark.parametrize("target_set", ["seed", "tuning0", "logmel"])
def test_vectorised_equals_per_frame_librosa_on_real_speech(shared_data, target_set):
    for y in _speech_signals(shared_data):
        y = y[: 2048 + 512 * 59]  # 60 frames per file keeps the per-frame loop short
        got = frame_targets(y, target_set=target_set)
        ref = [reference_frame_targets(frame, target_set=target_set) for frame in frame_signal(y)]
        for feature in FEATURES:
            expected = np.stack([r[feature] for r in ref])
            assert got[feature].shape == expected.shape and got[feature].dtype == np.float32
            scale = np.abs(expected).max()
            tol = TOLERANCE[feature]
            np.testing.assert_allclose(got[feature], expected, rtol=tol["rtol"], atol=tol["atol"] * max(scale, 1.0), err_msg=feature)


def test_silence_and_edge_frames_match_reference(rng):
    # silent, near-silent and clipped frames exercise the empty-tuning and top_db branches
    y = np.concatenate([np.zeros(4096), 1e-7 * rng.standard_normal(4096), np.clip(3 * rng.standard_normal(4096), -1, 1)])
    got = frame_targets(y.astype(np.float32))
    for i, frame in enumerate(frame_signal(y)):
        ref = reference_frame_targets(frame)
        for feature in FEATURES:
            np.testing.assert_allclose(got[feature][i], ref[feature], rtol=1e-4, atol=1e-4 * max(1, np.abs(ref[feature]).max()))


def test_tuning_estimate_matches_librosa_per_frame(rng):
    import librosa

    t = np.arange(2048 * 4) / 22050
    y = np.sin(2 * np.pi * 440 * 2 ** (0.23 / 12) * t) + 0.3 * np.sin(2 * np.pi * 660 * t) + 0.01 * rng.standard_normal(t.size)
    frames = frame_signal(y)
    S = magnitude_spectra(frames)
    expected = [librosa.estimate_tuning(S=s[:, None], sr=22050) for s in S]
    np.testing.assert_allclose(estimate_tuning_per_frame(S), expected)


def test_square_wave_zcr():
    # period of 64 samples: two crossings every 64 samples -> 2047 pairs hold 2047 // 32 crossings
    y = np.where((np.arange(22050) // 32) % 2 == 0, 0.5, -0.5).astype(np.float32)
    zcr = frame_targets(y)["zcr"][:, 0]
    assert np.all(np.abs(zcr - 1 / 32) < 2 / 2048)


def test_constant_rms():
    y = np.full(8192, -0.3, dtype=np.float32)
    np.testing.assert_allclose(frame_targets(y)["rms"][:, 0], 0.3, rtol=1e-6)


@pytest.mark.parametrize("freq,bin_", [(440.0, 9), (261.63, 0), (392.0, 7)])
def test_sine_chroma_bin(freq, bin_):
    y = np.sin(2 * np.pi * freq * np.arange(22050) / 22050).astype(np.float32)
    chroma = frame_targets(y, target_set="tuning0")["chroma"]
    assert np.all(chroma.argmax(axis=1) == bin_)
    np.testing.assert_allclose(chroma.max(axis=1), 1.0)


def test_shapes_and_errors():
    t = frame_targets(np.zeros(2048 + 512 * 3, dtype=np.float32))
    assert {k: v.shape for k, v in t.items()} == {"rms": (4, 1), "zcr": (4, 1), "chroma": (4, 12), "mfcc": (4, 20), "mel": (4, 128)}
    with pytest.raises(DataPrepError, match="shorter than one frame"):
        frame_targets(np.zeros(100))
    with pytest.raises(DataPrepError, match="unknown target set"):
        frame_targets(np.zeros(4096), target_set="nope")
    with pytest.raises(DataPrepError, match="mono"):
        frame_targets(np.zeros((2, 4096)))
