"""The baseline's librosa features: the seed's 162 averaged over a clip, or per frame as the FINs see them.

The seed's baseline computes, on the clip as loaded (no padding), with librosa's defaults (``n_fft=2048``,
``hop_length=512``, ``center=True``) and averages each over the clip's frames::

    zcr    = librosa.feature.zero_crossing_rate(y=y)                         (1)
    chroma = librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr)   (12, tuning estimated on the clip)
    mfcc   = librosa.feature.mfcc(y=y, sr=sr)                                (20)
    rms    = librosa.feature.rms(y=y)                                        (1)
    mel    = librosa.feature.melspectrogram(y=y, sr=sr)                      (128, linear power)

concatenated in that order, the order of :data:`ser.model.FEATURE_ORDER`. :func:`clip_features` computes the same
numbers from one STFT per clip (the mel power spectrogram and the MFCCs from the magnitudes already computed for
chroma) with no loop over frames; :func:`reference_clip_features` is the seed's five calls, the reference the
tests compare against. :func:`librosa_features` computes them for every row of a clip cache once and caches them.

``ser.baseline --features frames`` takes instead the same 162 librosa features on every frame of a clip, the frames
the FINs see (:func:`ser.data.clip_frames`: 2048 samples every 512, centred with zeros): each frame alone with
``center=False``, chroma with its tuning estimated on that frame, exactly the per-frame targets the FINs imitate
(:func:`data_prep.targets.targets_from_frames`, vectorised over frames). :func:`frame_features` computes them for
framed clips, :func:`librosa_frame_features` for every row of a clip cache, once, cached beside it.
"""

import numpy as np

from data_prep.targets import FEATURE_DIMS, FRAME_LENGTH, HOP_LENGTH, N_FFT, SEED_FEATURE_ORDER, SR, mel_filterbank
from ser.errors import SERError

#: Feature name -> size, in the order of the vector (the seed's, :data:`data_prep.targets.SEED_FEATURE_ORDER`).
CLIP_FEATURES = {f: FEATURE_DIMS[f] for f in SEED_FEATURE_ORDER}
#: Bump when :func:`frame_features` changes: cached frame features of an older version are recomputed.
FRAME_FEATURES_VERSION = 1


def clip_features(y, sr=SR):
    """The seed's 162 averaged librosa features of one clip.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The clip's samples (its audio only, without end padding), mono at ``sr``.

    Returns
    -------
    features : np.ndarray [shape=(162,), dtype=float32]
        zcr (1), chroma (12), mfcc (20), rms (1), mel (128), each averaged over the clip's frames.

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> f = clip_features(y)
    >>> f.shape, int(np.argmax(f[1:13]))   # 440 Hz is A, chroma bin 9
    ((162,), 9)
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))  # (1025, frames), center=True
    mel = mel_filterbank(sr=sr) @ (S**2)  # melspectrogram(y): power 2 of the same STFT
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=sr)  # mfcc(y) does exactly this
    parts = [
        librosa.feature.zero_crossing_rate(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH),
        librosa.feature.chroma_stft(S=S, sr=sr),
        mfcc,
        librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH),
        mel,
    ]
    return np.concatenate([p.mean(axis=-1) for p in parts]).astype(np.float32)


def reference_clip_features(y, sr=SR):
    """The seed's five librosa calls, one per feature, averaged over frames: the slow reference."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    parts = [
        librosa.feature.zero_crossing_rate(y=y),
        librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr),
        librosa.feature.mfcc(y=y, sr=sr),
        librosa.feature.rms(y=y),
        librosa.feature.melspectrogram(y=y, sr=sr),
    ]
    return np.concatenate([np.mean(p.T, axis=0) for p in parts]).astype(np.float32)


def librosa_features(cache, progress=False, block=256):
    """The clip features of every row of a clip cache, computed once and cached beside it.

    Each row's features are computed on its audio only (``cache.lengths``), not on the end padding, as the seed
    computed them on the clip as loaded.

    Parameters
    ----------
    cache : ser.data.ClipCache

    Returns
    -------
    features : np.ndarray [shape=(len(cache), 162), dtype=float32]
    """
    from tqdm import tqdm

    from ser.data import derived_cache_path, read_array_cache, write_array_cache

    path = derived_cache_path(cache, "librosa")
    features = read_array_cache(path) if path.is_file() else None
    if features is not None and features.shape == (len(cache), sum(CLIP_FEATURES.values())):
        return features
    features = np.empty((len(cache), sum(CLIP_FEATURES.values())), dtype=np.float32)
    bar = tqdm(total=len(cache), unit="clip", desc="librosa features", disable=not progress)
    for start in range(0, len(cache), block):
        rows = np.arange(start, min(start + block, len(cache)))
        clips = cache.clips(rows)
        for i, row in enumerate(rows):
            features[row] = clip_features(clips[i, : cache.lengths[row]], sr=cache.settings.sr)
        bar.update(len(rows))
    bar.close()
    write_array_cache(path, features, {"features": CLIP_FEATURES})
    return features


def frame_features(frames, sr=SR, chunk_frames=2048):
    """The seed's 162 librosa features of every frame, each frame alone (the per-frame targets of the FINs).

    All-zero frames (the end padding of a short clip) all have the same features; they are computed once.

    Parameters
    ----------
    frames : np.ndarray [shape=(..., n_frames, 2048)]
        Frames as :func:`ser.data.clip_frames` cuts them.
    chunk_frames : int
        Frames per vectorised librosa call (bounds memory).

    Returns
    -------
    features : np.ndarray [shape=(..., n_frames, 162), dtype=float32]
        zcr (1), chroma (12), mfcc (20), rms (1), mel (128) per frame, the order of
        :data:`ser.model.FEATURE_ORDER` (the FIN stack's).

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> from ser.data import clip_frames
    >>> f = frame_features(clip_frames(y))
    >>> f.shape, int(np.argmax(f[20, 1:13]))   # 440 Hz is A, chroma bin 9
    ((44, 162), 9)
    """
    from data_prep.targets import targets_in_chunks

    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim < 2 or frames.shape[-1] != FRAME_LENGTH:
        raise SERError(f"expected frames of shape (..., n_frames, {FRAME_LENGTH}), got {frames.shape}")
    flat = frames.reshape(-1, FRAME_LENGTH)
    audio = np.any(flat != 0, axis=1)
    out = np.empty((len(flat), sum(CLIP_FEATURES.values())), dtype=np.float32)
    for rows in (np.flatnonzero(audio), np.flatnonzero(~audio)[:1]):  # every frame with audio, one silent frame
        if len(rows):
            targets = targets_in_chunks(flat[rows], sr=sr, chunk_frames=chunk_frames)
            out[rows] = np.concatenate([targets[f] for f in SEED_FEATURE_ORDER], axis=-1)
    out[~audio] = out[np.flatnonzero(~audio)[:1]]
    return out.reshape(*frames.shape[:-1], out.shape[-1])


def librosa_frame_features(cache, progress=False, block=32):
    """:func:`frame_features` of every row of a clip cache, computed once and cached beside it.

    The frames are the FINs' (:meth:`ser.data.ClipCache.frames`), so the result is what a frozen closed-form FIN
    stack gives (:func:`ser.inputs.fin_features`) up to float32 round-off and the chroma tuning estimate.

    Parameters
    ----------
    cache : ser.data.ClipCache
    progress : bool
        Show a progress bar.
    block : int
        Clips framed at once.

    Returns
    -------
    features : np.ndarray [shape=(len(cache), n_frames, 162), dtype=float32]
    """
    from tqdm import tqdm

    from ser.data import derived_cache_path, read_array_cache, write_array_cache

    shape = (len(cache), cache.settings.n_frames, sum(CLIP_FEATURES.values()))
    path = derived_cache_path(cache, f"librosa-frames-v{FRAME_FEATURES_VERSION}")
    features = read_array_cache(path) if path.is_file() else None
    if features is not None and features.shape == shape:
        return features
    features = np.empty(shape, dtype=np.float32)
    bar = tqdm(total=len(cache), unit="clip", desc="librosa frame features", disable=not progress)
    for start in range(0, len(cache), block):
        rows = np.arange(start, min(start + block, len(cache)))
        features[rows] = frame_features(cache.frames(rows), sr=cache.settings.sr)
        bar.update(len(rows))
    bar.close()
    write_array_cache(path, features, {"features": CLIP_FEATURES, "version": FRAME_FEATURES_VERSION})
    return features
