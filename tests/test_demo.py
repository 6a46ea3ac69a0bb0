"""The synthetic demo corpus: RAVDESS layout, determinism, caching, audio format, emotions that differ."""

import json
import os
import re

import librosa
import numpy as np
import pytest
import soundfile

from data_prep.demo import (
    MANIFEST_NAME,
    PROSODY,
    RAVDESS_EMOTION_CODES,
    default_demo_root,
    demo_speaker,
    generate_demo_corpus,
    main,
    synthesize_utterance,
)
from data_prep.errors import DataPrepError
from data_prep.labels import SEED_EMOTIONS

SR = 22050
RAVDESS_NAME = re.compile(r"03-01-(\d\d)-01-(0[12])-(\d\d)-(\d\d)\.wav")
CODE_TO_EMOTION = {code: emotion for emotion, code in RAVDESS_EMOTION_CODES.items()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two speakers (one male, one female) x 8 emotions x 2 utterances."""
    return generate_demo_corpus(tmp_path_factory.mktemp("demo"), n_speakers=2, utterances_per_emotion=2)


def wav_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav"))


def tree_bytes(root):
    return {rel: (root / rel).read_bytes() for rel in wav_files(root)}


def mtimes(root):
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def loud_f0_and_rms(y):
    """Median yin f0 over the loud frames, and the 95th percentile of frame RMS."""
    f0 = librosa.yin(y, fmin=60, fmax=700, sr=SR, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0]
    loud = rms > 0.3 * rms.max()
    return float(np.median(f0[loud])), float(np.percentile(rms, 95))


# ------------------------------------------------------------------------------------------- layout


def test_ravdess_layout(corpus):
    files = wav_files(corpus)
    assert len(files) == 2 * 8 * 2
    seen = set()
    for rel in files:
        folder, name = rel.split("/")
        match = RAVDESS_NAME.fullmatch(name)
        assert match, name
        code, statement, repetition, actor = match.groups()
        assert folder == f"Actor_{actor}"
        seen.add((CODE_TO_EMOTION[int(code)], int(actor), int(statement), int(repetition)))
    assert {e for e, *_ in seen} == set(SEED_EMOTIONS)
    assert {a for _, a, *_ in seen} == {1, 2}
    # two utterances per emotion: statement 1 and 2 of repetition 1
    assert {(s, r) for *_, s, r in seen} == {(1, 1), (2, 1)}
    assert not [p for p in corpus.rglob("*") if ".tmp" in p.name]  # no temporary file of an atomic write left


def test_actor_sex_follows_ravdess():
    assert [demo_speaker(a).sex for a in range(1, 9)] == ["male", "female"] * 4


def test_manifest_records_parameters(corpus):
    manifest = json.loads((corpus / MANIFEST_NAME).read_text())
    assert manifest["complete"] is True
    assert manifest["parameters"]["n_speakers"] == 2
    assert manifest["parameters"]["utterances_per_emotion"] == 2
    assert manifest["parameters"]["emotions"] == list(SEED_EMOTIONS)
    assert sorted(manifest["files"]) == wav_files(corpus)


def test_ravdess_loader_reads_it(corpus):
    corpora = pytest.importorskip("data_prep.corpora")
    if not hasattr(corpora, "discover"):
        pytest.skip("data_prep.corpora has no discover()")
    utterances, skipped = corpora.discover("ravdess", corpus)
    assert not skipped
    assert len(utterances) == 32
    assert {u.speaker for u in utterances} == {"01", "02"}
    for u in utterances:
        assert u.emotion == CODE_TO_EMOTION[int(os.path.basename(u.path).split("-")[2])]


# ------------------------------------------------------------------------------------------- audio


def test_audio_format(corpus):
    for rel in wav_files(corpus):
        info = soundfile.info(str(corpus / rel))
        assert (info.samplerate, info.channels, info.format, info.subtype) == (SR, 1, "WAV", "PCM_16")
        y, _ = soundfile.read(str(corpus / rel), dtype="float32")
        assert y.ndim == 1 and np.isfinite(y).all()
        assert 2.0 <= y.size / SR <= 3.5
        assert 0.45 <= np.abs(y).max() < 1.0
        # a little near-silence at both ends
        edge = int(0.1 * SR)
        assert np.abs(y[:edge]).max() < 0.02 and np.abs(y[-edge:]).max() < 0.02


@pytest.mark.parametrize("emotion", SEED_EMOTIONS)
def test_synthesize_utterance(emotion):
    y = synthesize_utterance(np.random.default_rng(3), demo_speaker(4), emotion)
    again = synthesize_utterance(np.random.default_rng(3), demo_speaker(4), emotion)
    assert y.dtype == np.float32 and y.ndim == 1
    assert 2.0 <= y.size / SR <= 3.5
    assert 0.5 <= np.abs(y).max() <= 0.95
    np.testing.assert_array_equal(y, again)
    other = synthesize_utterance(np.random.default_rng(4), demo_speaker(4), emotion)
    assert other.size != y.size or not np.array_equal(other, y)


def test_emotions_differ_in_the_designed_direction(corpus):
    """Angry is higher and louder than sad, fear higher than neutral, for every speaker."""
    for actor in (1, 2):
        stats = {}
        for emotion in ("angry", "sad", "fear", "neutral"):
            code = RAVDESS_EMOTION_CODES[emotion]
            paths = sorted((corpus / f"Actor_{actor:02d}").glob(f"03-01-{code:02d}-*.wav"))
            values = [loud_f0_and_rms(soundfile.read(str(p), dtype="float32")[0]) for p in paths]
            stats[emotion] = np.mean(values, axis=0)
        f0 = {e: s[0] for e, s in stats.items()}
        rms = {e: s[1] for e, s in stats.items()}
        base = demo_speaker(actor).f0_hz
        assert f0["angry"] > 1.3 * f0["sad"], (actor, f0)
        assert f0["fear"] > 1.2 * f0["neutral"], (actor, f0)
        assert 0.8 * base < f0["neutral"] < 1.25 * base, (actor, f0, base)
        assert rms["angry"] > 1.5 * rms["sad"], (actor, rms)


def test_prosody_table_covers_seed_emotions():
    assert set(PROSODY) == set(SEED_EMOTIONS) == set(RAVDESS_EMOTION_CODES)


# ----------------------------------------------------------------------------------- determinism


SMALL = dict(n_speakers=1, utterances_per_emotion=1, emotions=("angry", "sad"))


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    a = tree_bytes(generate_demo_corpus(tmp_path / "a", seed=5, **SMALL))
    b = tree_bytes(generate_demo_corpus(tmp_path / "b", seed=5, **SMALL))
    c = tree_bytes(generate_demo_corpus(tmp_path / "c", seed=6, **SMALL))
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[rel] != c[rel] for rel in a)


def test_files_do_not_depend_on_the_rest_of_the_corpus(tmp_path, corpus):
    # the sad file of actor 2 is the same whether made alone or with the whole corpus
    alone = tree_bytes(generate_demo_corpus(tmp_path, n_speakers=2, utterances_per_emotion=1, emotions=("sad",)))
    for rel, data in alone.items():
        if rel.startswith("Actor_02/"):
            assert data == (corpus / rel).read_bytes()


# -------------------------------------------------------------------------------------- caching


def test_second_call_is_a_no_op(corpus):
    before = mtimes(corpus)
    assert generate_demo_corpus(corpus, n_speakers=2, utterances_per_emotion=2) == corpus
    assert mtimes(corpus) == before


def test_other_parameters_regenerate(tmp_path):
    root = generate_demo_corpus(tmp_path, n_speakers=2, utterances_per_emotion=1, emotions=("angry",))
    assert wav_files(root) == ["Actor_01/03-01-05-01-01-01-01.wav", "Actor_02/03-01-05-01-01-01-02.wav"]
    generate_demo_corpus(tmp_path, n_speakers=1, utterances_per_emotion=2, emotions=("angry",))
    assert wav_files(root) == ["Actor_01/03-01-05-01-01-01-01.wav", "Actor_01/03-01-05-01-02-01-01.wav"]
    assert not (root / "Actor_02").exists()
    assert json.loads((root / MANIFEST_NAME).read_text())["parameters"]["n_speakers"] == 1


def test_overwrite_and_incomplete_runs_rewrite(tmp_path):
    root = generate_demo_corpus(tmp_path, **SMALL)
    before = tree_bytes(root)
    rel = next(iter(before))
    (root / rel).write_bytes(b"damaged")
    generate_demo_corpus(tmp_path, overwrite=True, **SMALL)
    assert tree_bytes(root) == before
    # a run killed half way leaves its manifest marked incomplete: the next call starts over
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    (root / MANIFEST_NAME).write_text(json.dumps({**manifest, "complete": False}))
    (root / rel).unlink()
    generate_demo_corpus(tmp_path, **SMALL)
    assert tree_bytes(root) == before
    # a missing file also triggers regeneration
    (root / rel).unlink()
    generate_demo_corpus(tmp_path, **SMALL)
    assert tree_bytes(root) == before


def test_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not a demo corpus")
    with pytest.raises(DataPrepError, match="notes|demo_corpus.json"):
        generate_demo_corpus(tmp_path, **SMALL)


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        (dict(n_speakers=0), "0"),
        (dict(n_speakers=100), "100"),
        (dict(utterances_per_emotion=0), "0"),
        (dict(emotions=("angry", "boredom")), "boredom"),
        (dict(emotions=()), "empty"),
        (dict(seed=-1), "-1"),
        (dict(sr=8000), "8000"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, bad):
    with pytest.raises(DataPrepError, match=re.escape(bad)):
        generate_demo_corpus(tmp_path, **kwargs)


def test_unknown_emotion_in_synthesis():
    with pytest.raises(DataPrepError, match="joy"):
        synthesize_utterance(np.random.default_rng(0), demo_speaker(1), "joy")


def test_default_root_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FIN_DEMO_DIR", str(tmp_path / "here"))
    assert default_demo_root() == tmp_path / "here"
    monkeypatch.delenv("FIN_DEMO_DIR")
    assert default_demo_root().parts[-3:] == (".cache", "fin-toolkit", "demo_corpus")


# ------------------------------------------------------------------------------------------- CLI


def test_cli_writes_the_corpus(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--speakers", "1", "--per-emotion", "1", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "wrote 8 files" in out and str(tmp_path) in out
    assert len(wav_files(tmp_path)) == 8
    assert main(["--out", str(tmp_path), "--speakers", "1", "--per-emotion", "1", "--seed", "2"]) == 0
    assert "already there" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--speakers", "0"], ["--per-emotion", "x"], ["--seed", "-3"], ["--bogus"]])
def test_cli_bad_arguments_exit_2(argv, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path)] + argv)
    assert exit_info.value.code == 2


def test_make_demo_hands_ser_a_corpus_argument_that_parses(tmp_path, monkeypatch, corpus):
    """experiments.demo's SER step passes ``--corpus NAME=PATH`` (as demo_corpus_arg gives it) to ser.finetune."""
    import json
    from pathlib import Path

    import ser.finetune
    from data_prep.corpora import parse_corpus_arg
    from experiments.demo import ser_step

    calls = []

    def fake_finetune(argv):  # records the arguments and writes what a run writes
        calls.append(argv)
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"ua": 0.5}))
        return 0

    monkeypatch.setattr(ser.finetune, "main", fake_finetune)
    results = ser_step(f"ravdess={corpus}", tmp_path, 0)
    assert len(calls) == len(results) == 2
    for argv in calls:
        name, root = parse_corpus_arg(argv[argv.index("--corpus") + 1])
        assert name == "ravdess" and Path(root).is_dir()
