"""The zoo's feature extractors, per clip, and their on-disk caches (one per clip cache, computed once per row).

Every extractor reads the rows of a :class:`ser.data.ClipCache` (22.05 kHz clips of 2.5 s from 0.6 s, and their
augmented copies), so every zoo model sees the same audio, folds and augmentation as the FIN model. Utterance-level
features (PS_AC1D_FIF's 417 values, openSMILE functionals) are computed on each row's audio only (the clip without
its end padding), not on the whole file: the same clip the FIN model hears.

- :func:`ps_ac1d_fif_features` (417): the PS_AC1D_FIF utterance vector (see the function for the pitch fix).
- :func:`crema_frame_features` (n_frames, 16): the CREMA-D 1D model's frame-wise ZCR, RMS, 13 MFCC and spectral
  centroid, on the toolkit's frames (2048 samples, hop 512, every frame on its own as the FINs see it).
- :func:`mel_power` (n_frames, 128): the mel power spectrum of each frame; the CREMA-D 2D model takes its log
  relative to the clip's maximum in the model (:class:`ser.zoo.layers.ClipPowerToDb`), so that the librosa and the
  FIN front ends share everything after the mel spectrum.
- :func:`opensmile_functionals`: eGeMAPS v02 (88) or ComParE 2016 (6,373) functionals (the ``opensmile`` package).

:func:`cached_features` applies one of them to every row of a clip cache, once, and caches the result beside it.
"""

import numpy as np

from data_prep.targets import HOP_LENGTH, N_FFT, SR, magnitude_spectra, mel_filterbank, power_to_db_per_frame
from ser.errors import SERError

#: Size of the PS_AC1D_FIF vector for RAVDESS in the seed (427 for EMO-DB: 100 resampled MFCC values, unpublished).
PS_AC1D_FIF_DIM = 417
#: The PS_AC1D_FIF parts in order, with their sizes (sum 417).
PS_AC1D_FIF_PARTS = {"scalars": 16, "rolloff": 1, "bandwidth": 1, "chroma_cens": 12, "mfcc_mean": 50,
                     "mfcc_std": 50, "mfcc_max": 50, "chroma_stft": 12, "mel": 128, "contrast": 7,
                     "mfcc_resampled": 90}
#: The CREMA-D 1D model's frame-wise features, in the notebook's order.
CREMA_FRAME_FEATURES = {"zcr": 1, "rms": 1, "mfcc": 13, "centroid": 1}
CREMA_FRAME_DIM = sum(CREMA_FRAME_FEATURES.values())
#: openSMILE feature set name -> (opensmile.FeatureSet member name, number of functionals).
OPENSMILE_SETS = {"egemaps": ("eGeMAPSv02", 88), "compare": ("ComParE_2016", 6373)}
#: The PS_AC1D_FIF pitch search range (Hz).
PITCH_RANGE = (70.0, 400.0)


def _pitch_track(y, sr):
    """The pitch of each voiced frame: the strongest ``piptrack`` peak between 70 and 400 Hz, Hz."""
    import librosa

    pitches, magnitudes = librosa.piptrack(y=y, sr=sr, fmin=PITCH_RANGE[0], fmax=PITCH_RANGE[1])
    if pitches.shape[1] == 0:
        return np.zeros(0)
    best = magnitudes.argmax(axis=0)
    frames = np.arange(pitches.shape[1])
    track = pitches[best, frames]
    voiced = (magnitudes[best, frames] > 0) & (track >= PITCH_RANGE[0]) & (track <= PITCH_RANGE[1])
    return track[voiced]


def ps_ac1d_fif_features(y, sr=SR):
    """The PS_AC1D_FIF utterance vector of one clip: 417 librosa values.

    In the seed's order: 16 scalars (spectral flatness mean, ZCR mean, ``|STFT|`` mean/max/std, spectral centroid
    mean/std/max, pitch mean/max/std/min, tuning offset, RMS mean/max/std), roll-off mean, bandwidth mean,
    chroma_cens mean (12), MFCC (50) mean, std and max (150), chroma_stft mean (12), mel mean (128), spectral
    contrast mean (7) and the 50 x T MFCC matrix flattened and linearly resampled to 90 values.

    The seed's pitch statistics are taken over every ``piptrack`` bin, zeros included, so they mostly measure how
    many bins are empty. Here the intent is reproduced instead: per frame the strongest ``piptrack`` peak between
    70 and 400 Hz, statistics over the frames that have one (0 when none has), and the tuning offset
    ``librosa.pitch_tuning`` of that track. librosa runs at the clip's 22.05 kHz, not the file's own rate.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``sr`` (at least 2048 samples).

    Returns
    -------
    features : np.ndarray [shape=(417,), dtype=float32]

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 200 * np.arange(22050) / 22050).astype(np.float32)
    >>> f = ps_ac1d_fif_features(y)
    >>> f.shape, bool(190 < f[8] < 210)     # the pitch mean of a 200 Hz tone
    ((417,), True)
    """
    import warnings

    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.size < N_FFT:
        raise SERError(f"PS_AC1D_FIF features need at least {N_FFT} samples, got {y.size}")
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))
    centroid = librosa.feature.spectral_centroid(S=S, sr=sr)[0]
    rms = librosa.feature.rms(S=S)[0]
    pitch = _pitch_track(y, sr)
    tuning = float(librosa.pitch_tuning(pitch)) if pitch.size else 0.0
    pitch_stats = [pitch.mean(), pitch.max(), pitch.std(), pitch.min()] if pitch.size else [0.0] * 4
    scalars = [librosa.feature.spectral_flatness(S=S).mean(), librosa.feature.zero_crossing_rate(y).mean(),
               S.mean(), S.max(), S.std(), centroid.mean(), centroid.std(), centroid.max(), *pitch_stats, tuning,
               rms.mean(), rms.max(), rms.std()]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=50)
    with warnings.catch_warnings():  # chroma_cens' CQT warns that its lowest octaves exceed a short clip
        warnings.simplefilter("ignore", UserWarning)
        cens = librosa.feature.chroma_cens(y=y, sr=sr).mean(axis=1)
    flat = mfcc.ravel()
    resampled = np.interp(np.linspace(0, flat.size - 1, PS_AC1D_FIF_PARTS["mfcc_resampled"]), np.arange(flat.size), flat)
    parts = [scalars, [librosa.feature.spectral_rolloff(S=S, sr=sr).mean()],
             [librosa.feature.spectral_bandwidth(S=S, sr=sr).mean()],
             cens, mfcc.mean(axis=1), mfcc.std(axis=1),
             mfcc.max(axis=1), librosa.feature.chroma_stft(S=S, sr=sr).mean(axis=1),
             librosa.feature.melspectrogram(S=S**2, sr=sr).mean(axis=1),
             librosa.feature.spectral_contrast(S=S, sr=sr).mean(axis=1), resampled]
    out = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts]).astype(np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def crema_frame_features(frames, sr=SR):
    """The CREMA-D 1D model's features of each frame: ZCR, RMS, 13 MFCC, spectral centroid.

    Each 2048-sample frame on its own (``center=False``), as the FINs and :mod:`data_prep.targets` compute them:
    ``zero_crossing_rate``, ``rms``, ``mfcc(n_mfcc=13)`` (128 mels, ``power_to_db`` with top 80 dB of the frame)
    and ``spectral_centroid`` of the frame's ``|STFT|``.

    Parameters
    ----------
    frames : np.ndarray [shape=(n_frames, 2048)]

    Returns
    -------
    features : np.ndarray [shape=(n_frames, 16), dtype=float32]
        Columns ``zcr, rms, mfcc_0 .. mfcc_12, centroid`` (Hz); Keras' axis order (frames first). The notebook's
        flattened vector is ``features.T.ravel()`` (every ZCR, every RMS, the MFCC matrix row by row, every
        centroid), which the model computes itself.

    Examples
    --------
    >>> t = np.arange(2048) / 22050
    >>> f = crema_frame_features(np.stack([np.sin(2 * np.pi * 1000 * t), np.zeros(2048)]))
    >>> f.shape, int(round(f[0, -1], -2)), float(f[1, 0]), float(f[1, -1])
    ((2, 16), 1000, 0.0, 0.0)
    """
    import librosa
    import scipy.fft

    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != N_FFT:
        raise SERError(f"expected frames of shape (n_frames, {N_FFT}), got {frames.shape}")
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1, keepdims=True))
    zcr = np.mean(librosa.zero_crossings(frames, axis=-1, pad=False), axis=-1, keepdims=True)
    S = magnitude_spectra(frames)
    mfcc = scipy.fft.dct(power_to_db_per_frame((S**2) @ mel_filterbank(sr=sr).T), axis=-1, type=2, norm="ortho")[:, :13]
    centroid = librosa.feature.spectral_centroid(S=S.T, sr=sr, n_fft=N_FFT).T
    return np.concatenate([zcr, rms, mfcc, centroid], axis=1).astype(np.float32)


def mel_power(frames, sr=SR):
    """The mel power spectrum of each frame (128 Slaney mels of the frame's Hann-windowed 2048-point STFT).

    Parameters
    ----------
    frames : np.ndarray [shape=(n_frames, 2048)]

    Returns
    -------
    mel : np.ndarray [shape=(n_frames, 128), dtype=float32]
    """
    frames = np.asarray(frames, dtype=np.float32)
    return ((magnitude_spectra(frames) ** 2) @ mel_filterbank(sr=sr).T).astype(np.float32)


def log_mel_image(mel, top_db=80.0):
    """The CREMA-D 2D model's input: ``librosa.power_to_db(mel.T, ref=np.max)``, shape ``(128, n_frames)``.

    Parameters
    ----------
    mel : np.ndarray [shape=(n_frames, 128)]
        :func:`mel_power` of a clip's frames.

    Returns
    -------
    image : np.ndarray [shape=(128, n_frames), dtype=float32]
        dB relative to the clip's loudest bin, floored 80 dB below it (librosa's axis order).
    """
    import librosa

    return librosa.power_to_db(np.asarray(mel).T, ref=np.max, top_db=top_db).astype(np.float32)


def opensmile_functionals(y, sr=SR, feature_set="compare", smile=None):
    """The openSMILE functionals of one clip.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    feature_set : {"egemaps", "compare"}
        eGeMAPS v02 (88 values) or ComParE 2016 (6,373 values).
    smile : opensmile.Smile or None
        Reuse one (building it parses the configuration).

    Returns
    -------
    features : np.ndarray [shape=(88,) or (6373,), dtype=float32]
    """
    smile = smile or make_smile(feature_set)
    out = smile.process_signal(np.asarray(y, dtype=np.float32), sr).to_numpy()[0]
    return np.nan_to_num(out.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def make_smile(feature_set):
    """An ``opensmile.Smile`` for the functionals of ``feature_set`` (``egemaps`` or ``compare``)."""
    if feature_set not in OPENSMILE_SETS:
        raise SERError(f"unknown openSMILE feature set {feature_set!r}; expected one of {', '.join(OPENSMILE_SETS)}")
    try:
        import opensmile
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise SERError("the opensmile package is needed for opensmile_svm: pip install opensmile") from err
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, OPENSMILE_SETS[feature_set][0]),
                           feature_level=opensmile.FeatureLevel.Functionals)


# ------------------------------------------------------------------------------------------------ caches

def _extractors(feature_set=None):
    """Cache name -> (``"audio"`` or ``"frames"``, the function, shape per row with ``None`` for n_frames)."""
    return {
        "ps_ac1d_fif": ("audio", ps_ac1d_fif_features, (PS_AC1D_FIF_DIM,)),
        "crema_frames": ("frames", crema_frame_features, (None, CREMA_FRAME_DIM)),
        "mel_power": ("frames", mel_power, (None, 128)),
        f"opensmile_{feature_set}": ("audio", None, (OPENSMILE_SETS[feature_set][1],)) if feature_set else None,
    }


def cached_features(cache, name, feature_set=None, progress=False, block=64):
    """Features ``name`` of every row of a clip cache, computed once and cached beside it.

    Parameters
    ----------
    cache : ser.data.ClipCache
    name : {"ps_ac1d_fif", "crema_frames", "mel_power", "opensmile"}
        ``opensmile`` needs ``feature_set`` (``egemaps`` or ``compare``).
    progress : bool

    Returns
    -------
    features : np.ndarray [dtype=float32]
        ``(len(cache), 417)``, ``(len(cache), n_frames, 16)``, ``(len(cache), n_frames, 128)`` or
        ``(len(cache), 88 | 6373)``.
    """
    from tqdm import tqdm

    from ser.data import derived_cache_path, read_array_cache, write_array_cache

    key = f"opensmile_{feature_set}" if name == "opensmile" else name
    table = _extractors(feature_set if name == "opensmile" else None)
    if key not in table or table[key] is None:
        raise SERError(f"unknown zoo feature {name!r}; expected one of ps_ac1d_fif, crema_frames, mel_power, opensmile")
    source, function, shape = table[key]
    n_frames = cache.settings.n_frames
    shape = (len(cache), *[n_frames if s is None else s for s in shape])
    path = derived_cache_path(cache, f"zoo-{key}")
    features = read_array_cache(path) if path.is_file() else None
    if features is not None and features.shape == shape:
        return features
    if name == "opensmile":
        features = _opensmile_in_subprocess(cache.path, feature_set)
        write_array_cache(path, features, {"features": key})
        return features
    features = np.empty(shape, dtype=np.float32)
    bar = tqdm(total=len(cache), unit="clip", desc=f"{key} features", disable=not progress)
    for start in range(0, len(cache), block):
        rows = np.arange(start, min(start + block, len(cache)))
        if source == "frames":
            frames = cache.frames(rows)
            for i, row in enumerate(rows):
                features[row] = function(frames[i], sr=cache.settings.sr)
        else:
            clips = cache.clips(rows)
            for i, row in enumerate(rows):
                y = clips[i, : max(int(cache.lengths[row]), N_FFT)]
                features[row] = function(y, sr=cache.settings.sr)
        bar.update(len(rows))
    bar.close()
    write_array_cache(path, features, {"features": key})
    return features


def _opensmile_rows(cache_path, feature_set, block=64):
    """Every row's openSMILE functionals, reading the clip cache at ``cache_path`` (runs in a worker process)."""
    from ser.data import ClipCache

    smile = make_smile(feature_set)
    with ClipCache(cache_path) as cache:
        features = np.empty((len(cache), OPENSMILE_SETS[feature_set][1]), dtype=np.float32)
        for start in range(0, len(cache), block):
            rows = np.arange(start, min(start + block, len(cache)))
            clips = cache.clips(rows)
            for i, row in enumerate(rows):
                y = clips[i, : max(int(cache.lengths[row]), N_FFT)]
                features[row] = opensmile_functionals(y, cache.settings.sr, feature_set, smile)
    return features


def _opensmile_in_subprocess(cache_path, feature_set):
    """:func:`_opensmile_rows` in a fresh (spawned) process that never imports TensorFlow.

    openSMILE's native library and TensorFlow corrupt each other's heap in one process ("malloc(): corrupted top
    size" once TensorFlow is imported before openSMILE first runs), and a SER run has usually imported TensorFlow.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_opensmile_rows, str(cache_path), feature_set).result()
