"""Zoo feature extractors: documented shapes on real speech, the per-frame librosa reference, known answers."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from data_prep.targets import frame_signal
from ser.zoo import features as zf


@pytest.fixture(scope="module")
def speech(request):
    """1.4 s of real speech (an EMO-DB clip as the clip cache cuts it), or a synthetic vowel without the corpora."""
    try:
        root = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        t = np.arange(int(1.4 * 22050)) / 22050
        return (sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8)) * 0.1).astype(np.float32)
    import soundfile as sf

    y, sr = sf.read(sorted((root / "emodb" / "wav").glob("*.wav"))[0], dtype="float32")
    assert sr == 22050
    return y[int(0.6 * sr) :]


def test_ps_ac1d_fif_shape_and_parts_on_speech(speech):
    f = zf.ps_ac1d_fif_features(speech)
    assert f.shape == (zf.PS_AC1D_FIF_DIM,) == (sum(zf.PS_AC1D_FIF_PARTS.values()),) and f.dtype == np.float32
    assert np.isfinite(f).all()
    pitch_mean, pitch_max, _, pitch_min = f[8:12]
    assert 70 <= pitch_min <= pitch_mean <= pitch_max <= 400  # the pitch of speech, in the 70-400 Hz search range
    assert -0.5 <= f[12] <= 0.5  # tuning offset, in bins


def test_ps_ac1d_fif_pitch_of_a_tone():
    y = np.sin(2 * np.pi * 200 * np.arange(22050) / 22050).astype(np.float32)
    f = zf.ps_ac1d_fif_features(y)
    np.testing.assert_allclose(f[8:12], [200, 200, 0, 200], atol=5)  # mean, max, std, min (Hz)
    with pytest.raises(zf.SERError, match="at least 2048 samples"):
        zf.ps_ac1d_fif_features(y[:1000])


def test_crema_frame_features_equal_the_per_frame_librosa_calls(speech):
    import librosa

    frames = frame_signal(speech)
    got = zf.crema_frame_features(frames)
    assert got.shape == (len(frames), zf.CREMA_FRAME_DIM)
    kw = dict(n_fft=2048, hop_length=512, center=False)
    for i in (3, len(frames) // 2, len(frames) - 2):
        y = frames[i]
        expected = np.concatenate([
            librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512, center=False)[:, 0],
            librosa.feature.rms(y=y, frame_length=2048, hop_length=512, center=False)[:, 0],
            librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13, **kw)[:, 0],
            librosa.feature.spectral_centroid(y=y, sr=22050, **kw)[:, 0],
        ])
        np.testing.assert_allclose(got[i, :2], expected[:2], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(got[i, 2:15], expected[2:15], atol=1e-2 * max(1.0, np.abs(expected[2:15]).max()))
        np.testing.assert_allclose(got[i, 15], expected[15], rtol=1e-4)  # Hz


def test_known_answers_of_the_frame_features():
    t = np.arange(2048) / 22050
    square = np.sign(np.sin(2 * np.pi * 441 * t) + 1e-9).astype(np.float32)
    f = zf.crema_frame_features(np.stack([square, np.full(2048, 0.5, np.float32)]))
    assert f[0, 0] == pytest.approx(2 * 441 / 22050, abs=1 / 2048)  # ZCR of a 441 Hz square wave
    assert f[1, 1] == pytest.approx(0.5, rel=1e-6)  # RMS of a constant
    mel = zf.mel_power(np.stack([square, square * 0.5]))
    assert mel.shape == (2, 128)
    np.testing.assert_allclose(mel[1], mel[0] / 4, rtol=1e-5, atol=1e-12)  # power scales with amplitude squared


def test_log_mel_image_shape_on_speech(speech):
    frames = frame_signal(speech)
    image = zf.log_mel_image(zf.mel_power(frames))
    assert image.shape == (128, len(frames))
    assert image.max() == pytest.approx(0.0) and image.min() >= -80.0 - 1e-4


@pytest.mark.parametrize(("feature_set", "dim"), [("egemaps", 88), ("compare", 6373)])
def test_opensmile_functionals_shape_on_speech(speech, feature_set, dim):
    # in a spawned process, as the zoo computes them (openSMILE and TensorFlow corrupt each other's heap)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        f = pool.submit(zf.opensmile_functionals, speech, 22050, feature_set).result()
    assert f.shape == (dim,) and f.dtype == np.float32 and np.isfinite(f).all()
    assert np.count_nonzero(f) > dim // 2


def test_unknown_feature_names():
    with pytest.raises(zf.SERError, match="unknown openSMILE feature set 'gemaps'; expected one of egemaps, compare"):
        zf.make_smile("gemaps")
