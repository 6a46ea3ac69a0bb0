"""The frames an export is checked on: from a store, from files of corpora the caller names, or synthetic
speech (harmonics and noise). Nothing here looks for data on its own: the caller says where frames come from.
"""

import math
from pathlib import Path

import numpy as np

from data_prep.targets import FRAME_LENGTH
from fin.errors import FINError

DEFAULT_FRAMES = 512


def _spread(n_total, n):
    """``min(n, n_total)`` indices spread evenly over ``range(n_total)``, ascending."""
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).round().astype(int))


def store_frames(path, n):
    """``n`` frames spread over the test split of a store (its first split if it has no ``test``).

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32]
    source : str
    """
    from data_prep import open_store

    with open_store(path) as store:
        split = "test" if "test" in store.splits else (store.splits[0] if store.splits else None)
        if split is None or store.num_frames(split) == 0:
            raise FINError(f"{path} has no frames in split {split!r} to check the export on")
        frames = store.frames(split, _spread(store.num_frames(split), n))
    return frames, f"store {path} (split {split})"


def corpus_frames(n, corpora):
    """``n`` frames spread over a few files of each corpus (evenly spaced files), or ``None`` without any.

    Parameters
    ----------
    n : int
    corpora : dict
        Corpus name (a :mod:`data_prep.corpora` loader) -> root folder; roots that do not exist are passed over.

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32] or None
    source : str
    """
    from data_prep.audio import AudioError, load_audio
    from data_prep.corpora import discover
    from data_prep.errors import DataPrepError
    from data_prep.targets import frame_signal

    present = {name: Path(root) for name, root in corpora.items() if Path(root).exists()}
    if not present:
        return None, ""
    per_corpus = min(50, max(2, math.ceil(n / 80 / len(present))))  # EMO-DB files hold 83 frames, RAVDESS ~150
    signals, used = [], []
    for name, folder in present.items():
        try:
            utterances, _ = discover(name, folder)
        except DataPrepError:
            continue
        for utterance in [utterances[i] for i in _spread(len(utterances), per_corpus)] if utterances else []:
            try:
                signals.append(frame_signal(load_audio(utterance.path)))
            except (AudioError, DataPrepError):
                continue  # an unreadable file: the others are enough
        used.append(f"{name} ({folder})")
    if not signals:
        return None, ""
    frames = np.concatenate(signals)
    return frames[_spread(len(frames), n)], f"files of {', '.join(used)} ({len(signals)} files)"


def synthetic_frames(n, seed=0, sr=22050):
    """``n`` frames of synthetic speech: gliding harmonics with a syllable envelope, noise, and a silent stretch.

    Examples
    --------
    >>> synthetic_frames(4).shape
    (4, 2048)
    """
    from data_prep.targets import HOP_LENGTH, frame_signal

    rng = np.random.default_rng(seed)
    t = np.arange(FRAME_LENGTH + HOP_LENGTH * (max(n, 1) - 1)) / sr
    f0 = 130.0 + 70.0 * np.sin(2 * np.pi * 0.8 * t) + 20.0 * np.sin(2 * np.pi * 5.0 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h for h in range(1, 25))
    envelope = 0.3 * np.clip(np.sin(2 * np.pi * 2.5 * t), 0.05, None)
    y = envelope * voiced + 0.01 * rng.standard_normal(t.size)
    y[int(0.45 * t.size) : int(0.5 * t.size)] = 0.0  # digital silence: all-zero frames
    return frame_signal(y.astype(np.float32))[:n]


def parity_frames(n=DEFAULT_FRAMES, data=None, corpora=None):
    """The frames an export is checked on: from ``data`` (a store), else ``corpora``, else synthetic speech.

    Parameters
    ----------
    n : int
    data : str or Path or None
        A :mod:`data_prep` store: frames from its test split (:func:`store_frames`).
    corpora : dict or None
        Corpus name -> root folder (:func:`corpus_frames`), used when ``data`` is ``None``.

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32]
        Fewer than ``n`` only when the store or the corpora hold fewer.
    source : str

    Examples
    --------
    >>> frames, source = parity_frames(4)
    >>> frames.shape, source
    ((4, 2048), 'synthetic speech (harmonics and noise)')
    """
    if data is not None:
        return store_frames(data, n)
    frames, source = corpus_frames(n, corpora) if corpora else (None, "")
    if frames is not None:
        return frames, source
    return synthetic_frames(n), "synthetic speech (harmonics and noise)"
