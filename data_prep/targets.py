"""Per-frame librosa targets, computed vectorised over all frames of a signal.

The seed computes every target on one 2048-sample frame alone with ``center=False``, so each frame has
exactly one vector per feature (``../shared/reference/seed-systems.md``)::

    rms    = librosa.feature.rms(y=frame, frame_length=2048, hop_length=512, center=False)
    zcr    = librosa.feature.zero_crossing_rate(y=frame, frame_length=2048, hop_length=512, center=False)
    S      = np.abs(librosa.stft(frame, n_fft=2048, hop_length=512, center=False))
    chroma = librosa.feature.chroma_stft(S=S)                  # tuning estimated on this frame
    mfcc   = librosa.feature.mfcc(y=frame, n_fft=2048, hop_length=512, center=False)
    mel    = librosa.feature.melspectrogram(y=frame, n_fft=2048, hop_length=512, center=False)

Calling librosa once per frame costs about 4 ms a frame, almost all of it call overhead. Here the same
quantities are computed for a whole batch of frames with librosa's own batched operators (``stft``,
``piptrack``, ``filters.mel``, ``filters.chroma``, ``util.normalize``, ``zero_crossings``). Two pieces are
written by hand because librosa pools them over all channels of a multichannel input, while the seed
computes them per frame:

- ``power_to_db(top_db=80)`` inside ``mfcc`` clips at the maximum of the whole input: here, of each frame.
- ``estimate_tuning`` takes one median and one histogram over the whole input: here, per frame
  (:func:`estimate_tuning_per_frame`, which reproduces ``np.histogram``'s binning exactly).

Axis convention: librosa returns ``(..., n_features, n_frames)``; everything here returns
``(n_frames, n_features)``, the layout Keras and the store use. The transposition happens in this module only.
"""

import functools
import warnings

import librosa
import numpy as np
import scipy.fft

from data_prep.errors import DataPrepError

#: Sample rate of every signal in the toolkit.
SR = 22050
#: Samples per frame and hop between frames (the seed's values).
FRAME_LENGTH = 2048
HOP_LENGTH = 512
N_FFT = 2048

#: Feature names, in the order the store and the FIN registry list them (the SER model concatenates in
#: :data:`SEED_FEATURE_ORDER`).
FEATURES = ("rms", "zcr", "chroma", "mfcc", "mel")
#: Output size of each feature.
FEATURE_DIMS = {"rms": 1, "zcr": 1, "chroma": 12, "mfcc": 20, "mel": 128}
#: The seed's concatenation order (its SER model and baseline: 1 + 12 + 20 + 1 + 128 = 162 values per frame).
SEED_FEATURE_ORDER = ("zcr", "chroma", "mfcc", "rms", "mel")

#: Named target sets. ``seed`` is the default and reproduces the seed's calls exactly.
TARGET_SETS = {
    "seed": "the seed's librosa calls on each frame alone: chroma with per-frame estimated tuning, "
    "MFCC 20 from 128 mels with power_to_db(top_db=80), mel 128 in linear power",
    "tuning0": "as seed, but chroma with tuning 0 (a closed-form operator, no per-frame tuning estimate)",
    "logmel": "as seed, but mel in dB: power_to_db(mel, ref=1, amin=1e-10, top_db=80) per frame",
}

_AMIN = 1e-10
_TOP_DB = 80.0
_N_MFCC = 20
_N_CHROMA = 12
# estimate_tuning's histogram: resolution 0.01 of a bin over [-0.5, 0.5]
_TUNING_EDGES = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / 0.01)) + 1)


def check_target_set(target_set):
    """Raise :class:`DataPrepError` unless ``target_set`` names a known target set."""
    if target_set not in TARGET_SETS:
        raise DataPrepError(f"unknown target set {target_set!r}; expected one of {', '.join(TARGET_SETS)}")


def frame_signal(y, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH):
    """Cut a mono signal into overlapping frames (no padding, like ``center=False``).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal, at least ``frame_length`` samples long.

    Returns
    -------
    frames : np.ndarray [shape=(n_frames, frame_length), dtype=float32]
        ``n_frames = 1 + (n - frame_length) // hop_length``; a contiguous copy.

    Examples
    --------
    >>> frame_signal(np.zeros(2048 + 512)).shape
    (2, 2048)
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise DataPrepError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if len(y) < frame_length:
        raise DataPrepError(f"signal of {len(y)} samples is shorter than one frame ({frame_length} samples)")
    return np.ascontiguousarray(librosa.util.frame(y, frame_length=frame_length, hop_length=hop_length, axis=0))


@functools.lru_cache(maxsize=None)
def mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=128):
    """librosa's Slaney mel filter bank, as used by ``melspectrogram``. Shape ``(n_mels, 1 + n_fft // 2)``."""
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


@functools.lru_cache(maxsize=None)
def chroma_filterbank(tuning=0.0, sr=SR, n_fft=N_FFT):
    """librosa's chroma filter bank for one tuning deviation. Shape ``(12, 1 + n_fft // 2)``."""
    return librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=_N_CHROMA)


@functools.lru_cache(maxsize=None)
def _stft_window(n_fft=N_FFT):
    return librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)


def magnitude_spectra(frames):
    """|STFT| of each frame on its own, as ``np.abs(librosa.stft(frame, center=False))``.

    librosa's periodic Hann window and a real FFT. ``scipy.fft.rfft`` over the batch is 3x faster than
    ``librosa.stft`` on a ``(n_frames, 2048)`` array and agrees with it to 1e-6.

    Returns
    -------
    S : np.ndarray [shape=(n_frames, 1 + n_fft // 2), dtype=float32]
    """
    return np.abs(scipy.fft.rfft(frames * _stft_window(), axis=-1))


def estimate_tuning_per_frame(S, sr=SR):
    """``librosa.estimate_tuning(S=S_i, sr=sr)`` for every frame ``i``, vectorised.

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrum of each frame.

    Returns
    -------
    tuning : np.ndarray [shape=(n_frames,)]
        Tuning deviation in fractions of a chroma bin, one of the 100 histogram edges in ``[-0.5, 0.5)``;
        0.0 where a frame has no pitch peak (as librosa returns for an empty frequency set).
    """
    # piptrack treats each column as one frame: hand it the frames as columns, (n_bins, n_frames)
    pitch, mag = librosa.piptrack(S=S.T, sr=sr, n_fft=N_FFT)
    pitch, mag = pitch.T, mag.T
    has_pitch = pitch > 0
    selected = has_pitch & (mag >= _masked_row_median(mag, has_pitch)[:, None])
    frame_idx, bin_idx = np.nonzero(selected)
    residual = np.mod(_N_CHROMA * librosa.hz_to_octs(pitch[frame_idx, bin_idx]), 1.0)
    residual[residual >= 0.5] -= 1.0
    # np.histogram's rule: value v falls in bin k where edges[k] <= v < edges[k+1], the last bin closed
    n_bins = len(_TUNING_EDGES) - 1
    hist_bin = np.clip(np.searchsorted(_TUNING_EDGES, residual, side="right") - 1, 0, n_bins - 1)
    counts = np.zeros((len(S), n_bins), dtype=np.int64)
    np.add.at(counts, (frame_idx, hist_bin), 1)
    tuning = _TUNING_EDGES[np.argmax(counts, axis=1)]
    tuning[counts.sum(axis=1) == 0] = 0.0
    return tuning


def _masked_row_median(values, mask):
    """``np.median(values[i][mask[i]])`` for every row ``i``; ``+inf`` for a row with nothing in the mask.

    ``np.nanmedian`` does this with a Python-level loop over rows; sorting once is 10x faster.
    """
    count = mask.sum(axis=1)
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    rows = np.arange(len(values))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.maximum(count, 1) // 2 - (count == 0)]
    median = np.where(count % 2 == 1, low, (low + high) / 2)
    return np.where(count > 0, median, np.inf)


def chroma_from_spectra(S, tuning):
    """``chroma_stft(S=S_i, tuning=t_i)`` per frame: chroma filter bank, then per-frame max normalisation.

    ``tuning`` is a scalar or one value per frame. Returns ``(n_frames, 12)``.
    """
    tuning = np.broadcast_to(np.asarray(tuning, dtype=np.float64), (len(S),))
    raw = np.empty((len(S), _N_CHROMA), dtype=S.dtype)
    for value in np.unique(tuning):
        rows = tuning == value
        raw[rows] = S[rows] @ chroma_filterbank(float(value)).T
    return librosa.util.normalize(raw, norm=np.inf, axis=-1)


def power_to_db_per_frame(power):
    """``librosa.power_to_db(p, ref=1.0, amin=1e-10, top_db=80)`` applied to each row ``p`` separately."""
    log_spec = 10.0 * np.log10(np.maximum(_AMIN, power))
    return np.maximum(log_spec, log_spec.max(axis=-1, keepdims=True) - _TOP_DB)


def targets_from_frames(frames, target_set="seed", sr=SR):
    """All five targets for a batch of frames.

    Parameters
    ----------
    frames : np.ndarray [shape=(n_frames, 2048)]
    target_set : str
        A key of :data:`TARGET_SETS`.

    Returns
    -------
    targets : dict
        Feature name -> ``np.ndarray [shape=(n_frames, FEATURE_DIMS[name]), dtype=float32]``.
    """
    check_target_set(target_set)
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != FRAME_LENGTH:
        raise DataPrepError(f"expected frames of shape (n, {FRAME_LENGTH}), got {frames.shape}")
    rms = np.sqrt(np.mean(np.abs(frames) ** 2, axis=1, keepdims=True))
    zcr = np.mean(librosa.zero_crossings(frames, axis=-1, pad=False), axis=-1, keepdims=True)
    S = magnitude_spectra(frames)
    tuning = 0.0 if target_set == "tuning0" else estimate_tuning_per_frame(S, sr=sr)
    chroma = chroma_from_spectra(S, tuning)
    mel = (S**2) @ mel_filterbank(sr=sr).T
    log_mel = power_to_db_per_frame(mel)
    mfcc = scipy.fft.dct(log_mel, axis=-1, type=2, norm="ortho")[:, :_N_MFCC]
    out = {"rms": rms, "zcr": zcr, "chroma": chroma, "mfcc": mfcc, "mel": log_mel if target_set == "logmel" else mel}
    return {name: np.ascontiguousarray(out[name], dtype=np.float32) for name in FEATURES}


def frame_targets(y, target_set="seed", sr=SR, chunk_frames=2048):
    """Frame a mono 22.05 kHz signal and compute every per-frame target, vectorised.

    The values equal the seed's per-frame librosa calls (:func:`reference_frame_targets`) within float32
    round-off, and are the values the store holds.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal at 22,050 Hz, at least 2048 samples.
    target_set : str
        ``"seed"`` (default), ``"tuning0"`` or ``"logmel"``; see :data:`TARGET_SETS`.
    chunk_frames : int
        Frames processed at once, to bound memory on long signals.

    Returns
    -------
    targets : dict
        Feature name -> ``np.ndarray [shape=(n_frames, dim), dtype=float32]`` for rms (1), zcr (1),
        chroma (12), mfcc (20) and mel (128).

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> t = frame_targets(y)
    >>> t["mfcc"].shape, int(t["chroma"][0].argmax())   # 440 Hz is A, chroma bin 9
    ((40, 20), 9)
    """
    return targets_in_chunks(frame_signal(y), target_set, sr, chunk_frames)


def targets_in_chunks(frames, target_set="seed", sr=SR, chunk_frames=2048):
    """:func:`targets_from_frames` of any number of frames, ``chunk_frames`` at a time (bounded memory).

    Parameters
    ----------
    frames : np.ndarray [shape=(n_frames, 2048)]
    chunk_frames : int
        Frames per call of :func:`targets_from_frames`.

    Returns
    -------
    targets : dict
        Feature name -> ``np.ndarray [shape=(n_frames, dim), dtype=float32]``.

    Examples
    --------
    >>> frames = frame_signal(np.zeros(2048 + 4 * 512, dtype=np.float32))
    >>> {f: t.shape for f, t in targets_in_chunks(frames, chunk_frames=2).items()}["mel"]
    (5, 128)
    """
    parts = [targets_from_frames(frames[i : i + chunk_frames], target_set, sr) for i in range(0, len(frames), chunk_frames)]
    return {name: np.concatenate([p[name] for p in parts]) for name in FEATURES}


def reference_frame_targets(frame, target_set="seed", sr=SR):
    """The seed's librosa calls on one frame, one call per feature: the slow reference.

    Used by the tests and the benchmark to check :func:`frame_targets`. Returns feature -> ``(dim,)``.
    """
    check_target_set(target_set)
    kw = dict(n_fft=N_FFT, hop_length=HOP_LENGTH, center=False)
    S = np.abs(librosa.stft(frame, **kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "empty frequency set" on silent frames
        chroma = librosa.feature.chroma_stft(S=S, sr=sr, tuning=0.0 if target_set == "tuning0" else None)
    mel = librosa.feature.melspectrogram(y=frame, sr=sr, **kw)
    out = {
        "rms": librosa.feature.rms(y=frame, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH, center=False),
        "zcr": librosa.feature.zero_crossing_rate(y=frame, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH, center=False),
        "chroma": chroma,
        "mfcc": librosa.feature.mfcc(y=frame, sr=sr, **kw),
        "mel": librosa.power_to_db(mel, top_db=_TOP_DB) if target_set == "logmel" else mel,
    }
    return {name: np.asarray(v[:, 0], dtype=np.float32) for name, v in out.items()}
