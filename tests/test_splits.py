"""Splits and cross-validation folds never share a speaker between training and test."""

import numpy as np
import pytest

from data_prep import DataPrepError
from data_prep.corpora import Utterance
from data_prep.splits import assign_splits, leave_one_speaker_out, speaker_kfold, speaker_key, validation_speakers


def _utterances():
    out = []
    for corpus, n_speakers in (("emodb", 10), ("ravdess", 24), ("tess", 2)):
        for s in range(n_speakers):
            for e in ("angry", "sad", "happy"):
                for k in range(2):
                    out.append(Utterance(f"/{corpus}/{s}/{e}{k}.wav", corpus, f"{s:02d}", e, e))
    return out


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_speaker_split_is_disjoint_and_covers_every_corpus(seed):
    us = _utterances()
    splits = assign_splits(us, by="speaker", seed=seed)
    by_speaker = {}
    for u, s in zip(us, splits):
        by_speaker.setdefault(speaker_key(u), set()).add(s)
    assert all(len(v) == 1 for v in by_speaker.values())
    for corpus in ("emodb", "ravdess"):
        assert {s for u, s in zip(us, splits) if u.corpus == corpus} == {"train", "val", "test"}
    assert {s for u, s in zip(us, splits) if u.corpus == "tess"} == {"train", "test"}  # two speakers: no val
    assert splits == assign_splits(us, by="speaker", seed=seed)  # seeded


def test_file_split_reproduces_the_seed_fractions():
    us = _utterances()
    splits = np.array(assign_splits(us, by="file"))
    assert abs(np.mean(splits == "train") - 0.70) < 0.05
    assert any(len({s for u, s in zip(us, splits) if speaker_key(u) == k}) > 1 for k in {speaker_key(u) for u in us})


def test_leave_one_speaker_out_folds():
    us = [u for u in _utterances() if u.corpus == "emodb"]
    folds = leave_one_speaker_out(us)
    assert len(folds) == 10
    for fold in folds:
        train = {speaker_key(us[i]) for i in fold.train}
        test = {speaker_key(us[i]) for i in fold.test}
        assert test == set(fold.test_speakers) and len(test) == 1 and not train & test
        assert len(fold.train) + len(fold.test) == len(us)


def test_speaker_kfold_six_folds_of_four_actors():
    us = [u for u in _utterances() if u.corpus == "ravdess"]
    folds = speaker_kfold(us, 6, seed=0)
    seen = set()
    for fold in folds:
        test = {speaker_key(us[i]) for i in fold.test}
        assert len(test) == 4 and not test & {speaker_key(us[i]) for i in fold.train}
        seen |= test
    assert len(seen) == 24
    train, val = validation_speakers(us, folds[0].train, fraction=0.2, seed=0)
    assert not {speaker_key(us[i]) for i in train} & {speaker_key(us[i]) for i in val}
    assert len(train) + len(val) == len(folds[0].train)


def test_bad_fold_arguments():
    us = [u for u in _utterances() if u.corpus == "tess"]
    with pytest.raises(DataPrepError, match="k-fold"):
        speaker_kfold(us, 5)
    with pytest.raises(DataPrepError, match="split mode"):
        assign_splits(us, by="nope")
    with pytest.raises(DataPrepError, match="fractions"):
        assign_splits(us, fractions=(0.5, 0.5, 0.5))
