"""Train/val/test splits and cross-validation folds, by speaker unless asked otherwise.

Speakers are keyed by corpus and speaker id (``"ravdess:01"``), so two corpora that both number their
speakers from 01 never share one. Augmented copies inherit their source file's split: splits and
folds are computed on source files, before augmentation.

The seed split per file (70/15/15 per corpus and emotion, shuffled with seed 0), which puts one speaker's
recordings in train and test alike, is available as ``by="file"`` to reproduce its numbers.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from data_prep.errors import DataPrepError

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


def speaker_key(utterance):
    """Corpus-qualified speaker id, e.g. ``"emodb:03"``."""
    return f"{utterance.corpus}:{utterance.speaker}"


def _check_fractions(fractions):
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise DataPrepError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    return fractions


def split_by_speaker(utterances, fractions=DEFAULT_FRACTIONS, seed=0):
    """Assign each utterance to train, val or test so that no speaker is in two splits.

    Within each corpus the speakers are shuffled (seeded) and dealt out: ``round(f_test * n)`` test
    speakers (at least one when the corpus has two or more), ``round(f_val * n)`` validation speakers
    (at least one when it has three or more), the rest for training.

    Parameters
    ----------
    utterances : list of Utterance
    fractions : (train, val, test)
    seed : int

    Returns
    -------
    splits : list of str
        One split name per utterance.

    Examples
    --------
    >>> from data_prep.corpora import Utterance
    >>> us = [Utterance(f"{s}.wav", "c", s, "sad", "x") for s in "abcdefghij"]
    >>> from collections import Counter
    >>> Counter(split_by_speaker(us))   # 10 speakers with one file each
    Counter({'train': 6, 'val': 2, 'test': 2})
    """
    _, f_val, f_test = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    assignment = {}
    for corpus in sorted({u.corpus for u in utterances}):
        speakers = sorted({speaker_key(u) for u in utterances if u.corpus == corpus})
        rng.shuffle(speakers)
        n = len(speakers)
        n_test = max(int(round(f_test * n)), 1 if n >= 2 and f_test > 0 else 0)
        n_val = max(int(round(f_val * n)), 1 if n >= 3 and f_val > 0 else 0)
        n_val = min(n_val, n - n_test - 1) if n > n_test else 0
        for i, spk in enumerate(speakers):
            assignment[spk] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return [assignment[speaker_key(u)] for u in utterances]


def split_by_file(utterances, fractions=DEFAULT_FRACTIONS, seed=0):
    """The seed's split: per corpus and emotion, files shuffled (seeded) and cut 70/15/15.

    Leaky: a speaker's recordings land in every split. Use it only to reproduce the seed's numbers.
    """
    f_train, f_val, _ = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    out = [None] * len(utterances)
    groups = {}
    for i, u in enumerate(utterances):
        groups.setdefault((u.corpus, u.emotion), []).append(i)
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        n_train, n_val = int(round(f_train * len(idx))), int(round(f_val * len(idx)))
        for rank, i in enumerate(idx):
            out[i] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return out


SPLITTERS = {"speaker": split_by_speaker, "file": split_by_file}


def assign_splits(utterances, by="speaker", fractions=DEFAULT_FRACTIONS, seed=0):
    """Split names for ``utterances`` by ``"speaker"`` (default) or ``"file"`` (the seed's, leaky)."""
    if by not in SPLITTERS:
        raise DataPrepError(f"unknown split mode {by!r}; expected one of {', '.join(SPLITTERS)}")
    return SPLITTERS[by](utterances, fractions=fractions, seed=seed)


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: indices into the utterance list, and the held-out speakers."""

    name: str
    train: np.ndarray
    test: np.ndarray
    test_speakers: tuple


def _folds(utterances, splitter, prefix):
    groups = np.array([speaker_key(u) for u in utterances])
    folds = []
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(groups)), groups=groups)):
        speakers = tuple(sorted(set(groups[test])))
        name = f"{prefix}{k}" if len(speakers) > 1 else speakers[0]
        folds.append(Fold(name, np.sort(train), np.sort(test), speakers))
    return folds


def leave_one_speaker_out(utterances):
    """One fold per speaker: that speaker's files are the test part, everyone else's the training part."""
    if len({speaker_key(u) for u in utterances}) < 2:
        raise DataPrepError("leave-one-speaker-out needs at least two speakers")
    return _folds(utterances, LeaveOneGroupOut(), "speaker")


def speaker_kfold(utterances, k, seed=0):
    """``k`` folds of disjoint speaker sets (``sklearn.model_selection.GroupKFold``, shuffled with ``seed``).

    RAVDESS's usual speaker-independent protocol is ``k=6``: four actors per fold.
    """
    n_speakers = len({speaker_key(u) for u in utterances})
    if not 2 <= k <= n_speakers:
        raise DataPrepError(f"speaker k-fold needs 2 <= k <= number of speakers ({n_speakers}), got k={k}")
    return _folds(utterances, GroupKFold(n_splits=k, shuffle=True, random_state=seed), "fold")


def file_kfold(utterances, k, seed=0):
    """``k`` folds over files, stratified by corpus and emotion (``StratifiedKFold``, shuffled with ``seed``).

    Leaky: every speaker has files in every fold, so a test speaker is also a training speaker. The protocol of
    several seed papers (PS_AC1D_FIF's 5-fold ``KFold`` over utterances); use it only to show the size of the leak.
    """
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([f"{u.corpus}/{u.emotion}" for u in utterances])
    smallest = min(np.unique(strata, return_counts=True)[1]) if len(strata) else 0
    if not 2 <= k <= smallest:
        raise DataPrepError(f"file k-fold needs 2 <= k <= the smallest (corpus, emotion) group ({smallest} files), "
                            f"got k={k}")
    groups = np.array([speaker_key(u) for u in utterances])
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [Fold(f"files{i}", np.sort(train), np.sort(test), tuple(sorted(set(groups[test]))))
            for i, (train, test) in enumerate(splitter.split(np.zeros(len(strata)), strata))]


def validation_files(utterances, indices, fraction=0.15, seed=0):
    """Split ``indices`` into (train, val) by file, stratified by corpus and emotion (leaky protocols only)."""
    rng = np.random.default_rng(seed)
    val = []
    groups = {}
    for i in indices:
        groups.setdefault((utterances[i].corpus, utterances[i].emotion), []).append(i)
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        val.extend(idx[: int(round(fraction * len(idx)))])
    is_val = np.isin(indices, val)
    return np.asarray(indices)[~is_val], np.asarray(indices)[is_val]


def validation_speakers(utterances, indices, fraction=0.15, seed=0):
    """Split ``indices`` (a fold's training part) into (train, val) by speaker, for early stopping.

    Every speaker of ``utterances`` is put in one seeded order, read as a circle; the validation speakers are the
    first ``n_val`` training speakers that follow the fold's held-out speakers (the speakers of ``utterances`` with
    no file in ``indices``; after the last of them in the order), or the first ``n_val`` of the order when none is
    held out. So each fold of a protocol gets its own validation speakers, reproducibly: over leave-one-speaker-out
    folds with one validation speaker each, every speaker validates exactly once. (The same seed for every fold
    with a shuffle of the training speakers alone picked the same validation speaker in 9 of EMO-DB's 10 folds.)

    At least one validation speaker, and at least one left for training.

    Parameters
    ----------
    utterances : list of Utterance
        Every utterance of the protocol (training and held-out).
    indices : np.ndarray [shape=(n,), dtype=int]
        The fold's training part, indices into ``utterances``.
    fraction : float
        Share of the training speakers held out for validation (rounded, at least one).
    seed : int
        Seeds the order of the speakers.

    Returns
    -------
    train, val : np.ndarray [dtype=int]
        ``indices`` split by speaker, in their order.

    Examples
    --------
    >>> from data_prep.corpora import Utterance
    >>> us = [Utterance(f"{s}.wav", "c", s, "sad", "x") for s in "abcde"]
    >>> [sorted({us[i].speaker for i in validation_speakers(us, [j for j in range(5) if j != k])[1]})
    ...  for k in range(5)]   # leave one speaker out: each speaker validates once
    [['b'], ['c'], ['e'], ['a'], ['d']]
    """
    indices = np.asarray(indices, dtype=int)
    train_speakers = {speaker_key(utterances[i]) for i in indices}
    if len(train_speakers) < 2:
        raise DataPrepError("a validation part needs at least two training speakers")
    order = list(np.random.default_rng(seed).permutation(sorted({speaker_key(u) for u in utterances})))
    held_out = [k for k, spk in enumerate(order) if spk not in train_speakers]
    start = held_out[-1] + 1 if held_out else 0
    circle = [spk for spk in order[start:] + order[:start] if spk in train_speakers]
    n_val = min(max(1, int(round(fraction * len(circle)))), len(circle) - 1)
    val = set(circle[:n_val])
    is_val = np.array([speaker_key(utterances[i]) in val for i in indices], dtype=bool)
    return indices[~is_val], indices[is_val]
