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


def test_file_kfold_is_stratified_and_leaky_by_design():
    from data_prep.splits import file_kfold, validation_files

    us = _utterances()
    folds = file_kfold(us, 4, seed=3)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(us)))  # every file tested exactly once
    for f in folds:
        assert not set(f.train) & set(f.test)
        strata = [f"{us[i].corpus}/{us[i].emotion}" for i in f.test]
        # 4 files per (corpus, emotion) per speaker count: each fold holds a quarter of every stratum, +-1
        for key in {f"{u.corpus}/{u.emotion}" for u in us}:
            total = sum(f"{u.corpus}/{u.emotion}" == key for u in us)
            assert abs(strata.count(key) - total / 4) <= 1
        shared = {speaker_key(us[i]) for i in f.train} & set(f.test_speakers)
        assert shared  # the leak the protocol exists to show
        train, val = validation_files(us, f.train, fraction=0.15, seed=0)
        assert sorted(np.concatenate([train, val])) == sorted(f.train) and 0 < len(val) < len(f.train) / 4
    with pytest.raises(DataPrepError, match="k=99"):
        file_kfold(us, 99)


def test_file_kfold_runs_are_labelled_leaky():
    from ser.training import is_leaky, make_folds, resolve_config

    config = resolve_config({"protocol": "file-kfold", "folds": 3})
    assert is_leaky(config) and not is_leaky(resolve_config({"protocol": "speaker-kfold"}))
    plans = make_folds(_utterances(), config)
    assert len(plans) == 3 and all(len(p.val) for p in plans)
    for p in plans:  # validation files come from the training part, never from the test part
        assert not set(p.val) & set(p.test) and not set(p.val) & set(p.train)
