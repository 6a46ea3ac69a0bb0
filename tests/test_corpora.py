"""Corpus loaders: speaker, emotion and original label parsed from each corpus's real layout."""

import os
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from data_prep.corpora import (
    AUDIO_EXTENSIONS,
    CORPORA,
    Skipped,
    Utterance,
    corpus_names,
    discover,
    normalize_emotion,
    parse_corpus_arg,
)
from data_prep.errors import DataPrepError
from data_prep.labels import EMOTIONS

SR = 16000


@pytest.fixture
def write(rng):
    """write(root, relative path): a tiny real audio file (0.2 s of noise), in the format its extension names."""

    def _write(root, relative):
        path = Path(root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, 0.1 * rng.standard_normal(int(0.2 * SR)), SR)
        return path

    return _write


def by_name(utterances):
    return {Path(u.path).name: (u.speaker, u.emotion, u.label) for u in utterances}


def check_common(utterances, corpus):
    for u in utterances:
        assert isinstance(u, Utterance)
        assert u.corpus == corpus
        assert os.path.isabs(u.path) and os.path.isfile(u.path)
        assert u.emotion in EMOTIONS
    assert [u.path for u in utterances] == sorted(u.path for u in utterances)


# ------------------------------------------------------------------------------------------- registry


def test_registry_names_and_descriptions():
    assert corpus_names() == ["crema_d", "ravdess", "savee", "tess", "esd", "emodb", "manifest"]
    for name, corpus in CORPORA.items():
        assert corpus.name == name
        assert corpus.description and "\n" not in corpus.description


def test_unknown_corpus_lists_valid_names(tmp_path):
    with pytest.raises(DataPrepError, match="unknown corpus 'iemocap'.*crema_d.*manifest"):
        discover("iemocap", tmp_path)


def test_missing_root_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataPrepError, match="nowhere"):
        discover("ravdess", missing)
    with pytest.raises(DataPrepError, match="list.csv"):
        discover("manifest", tmp_path / "list.csv")


def test_parse_corpus_arg():
    assert parse_corpus_arg("tess=/data/TESS") == ("tess", Path("/data/TESS"))
    assert parse_corpus_arg("manifest=a=b.csv") == ("manifest", Path("a=b.csv"))
    with pytest.raises(DataPrepError, match="NAME=PATH"):
        parse_corpus_arg("/data/TESS")
    with pytest.raises(DataPrepError, match="NAME=PATH"):
        parse_corpus_arg("tess=")
    with pytest.raises(DataPrepError, match="unknown corpus 'tes'"):
        parse_corpus_arg("tes=/data/TESS")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("anger", "angry"),
        ("Angry", "angry"),
        ("happiness", "happy"),
        ("fearful", "fear"),
        ("surprised", "surprise"),
        ("pleasant_surprise", "surprise"),
        ("Pleasant Surprise", "surprise"),
        ("ps", "surprise"),
        ("sadness", "sad"),
        ("disgusted", "disgust"),
        ("bored", "boredom"),
        (" neutral ", "neutral"),
        ("calm", "calm"),
    ],
)
def test_normalize_emotion(text, expected):
    assert normalize_emotion(text) == expected


@pytest.mark.parametrize("text", ["W", "ANG", "joy", ""])
def test_normalize_emotion_rejects_codes_and_unknown_words(text):
    with pytest.raises(DataPrepError, match="expected one of angry, calm"):
        normalize_emotion(text)


# ------------------------------------------------------------------------------------------- discovery


def test_discovery_ignores_hidden_and_other_extensions_and_skips_bad_names(tmp_path, write):
    write(tmp_path, "wav/03a01Fa.wav")
    write(tmp_path, "wav/03a01Wb.WAV")  # upper-case extension is still audio
    write(tmp_path, "wav/._03a01Fa.wav")  # macOS resource fork: hidden
    write(tmp_path, ".cache/08a02Ta.wav")  # hidden folder
    (tmp_path / "wav" / "readme.txt").write_text("not audio")
    (tmp_path / "wav" / "03a01Fa.lab").write_text("not audio")
    write(tmp_path, "wav/03a01Xa.wav")  # unknown emotion letter
    write(tmp_path, "wav/take 2.flac")
    utterances, skipped = discover("emodb", tmp_path)
    assert by_name(utterances) == {"03a01Fa.wav": ("03", "happy", "F"), "03a01Wb.WAV": ("03", "angry", "W")}
    assert sorted(Path(s.path).name for s in skipped) == ["03a01Xa.wav", "take 2.flac"]
    for s in skipped:
        assert isinstance(s, Skipped) and os.path.isabs(s.path)
        assert "unparseable EMO-DB file name" in s.reason and Path(s.path).name in s.reason


def test_discovery_does_not_open_audio(tmp_path):
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "03-01-05-02-01-01-01.wav").write_bytes(b"not audio at all")
    utterances, skipped = discover("ravdess", tmp_path)
    assert by_name(utterances) == {"03-01-05-02-01-01-01.wav": ("01", "angry", "05")} and not skipped


def test_audio_extensions_are_lower_case():
    assert all(ext == ext.lower() and ext.startswith(".") for ext in AUDIO_EXTENSIONS)


# ------------------------------------------------------------------------------------------- corpora


def test_crema_d(tmp_path, write):
    write(tmp_path, "AudioWAV/1001_DFA_ANG_XX.wav")
    write(tmp_path, "AudioWAV/1001_IEO_HAP_HI.flac")
    write(tmp_path, "AudioWAV/1091_TSI_NEU_XX.ogg")
    write(tmp_path, "AudioWAV/1002_DFA_DIS_XX.wav")
    write(tmp_path, "AudioWAV/1003_DFA_FEA_LO.wav")
    write(tmp_path, "AudioWAV/1004_DFA_SAD_MD.wav")
    write(tmp_path, "AudioWAV/1005_DFA_CAL_XX.wav")  # not a CREMA-D emotion
    write(tmp_path, "AudioWAV/1005_DFA_ANG.wav")  # level missing
    utterances, skipped = discover("crema_d", tmp_path)
    check_common(utterances, "crema_d")
    assert by_name(utterances) == {
        "1001_DFA_ANG_XX.wav": ("1001", "angry", "ANG"),
        "1001_IEO_HAP_HI.flac": ("1001", "happy", "HAP"),
        "1091_TSI_NEU_XX.ogg": ("1091", "neutral", "NEU"),
        "1002_DFA_DIS_XX.wav": ("1002", "disgust", "DIS"),
        "1003_DFA_FEA_LO.wav": ("1003", "fear", "FEA"),
        "1004_DFA_SAD_MD.wav": ("1004", "sad", "SAD"),
    }
    assert sorted(Path(s.path).name for s in skipped) == ["1005_DFA_ANG.wav", "1005_DFA_CAL_XX.wav"]
    assert all("ANG, DIS, FEA, HAP, NEU, SAD" in s.reason for s in skipped)


def test_ravdess(tmp_path, write):
    for code in range(1, 9):
        write(tmp_path, f"Actor_01/03-01-0{code}-01-01-01-01.wav")
    write(tmp_path, "Actor_24/03-01-05-02-02-02-24.flac")
    write(tmp_path, "Actor_24/03-01-09-02-02-02-24.wav")  # emotion 09 does not exist
    write(tmp_path, "Actor_24/03-01-05-02-02-24.wav")  # six fields
    utterances, skipped = discover("ravdess", tmp_path)
    check_common(utterances, "ravdess")
    parsed = by_name(utterances)
    expected = ["neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise"]
    for code, emotion in enumerate(expected, start=1):
        assert parsed[f"03-01-0{code}-01-01-01-01.wav"] == ("01", emotion, f"0{code}")
    assert parsed["03-01-05-02-02-02-24.flac"] == ("24", "angry", "05")
    assert len(parsed) == 9
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "'09'" in reasons["03-01-09-02-02-02-24.wav"]
    assert "seven 2-digit fields" in reasons["03-01-05-02-02-24.wav"]


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_savee(tmp_path, write, layout):
    codes = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
    for speaker in ("DC", "KL"):
        for code in codes:
            relative = f"ALL/{speaker}_{code}01.wav" if layout == "flat" else f"AudioData/{speaker}/{code}01.wav"
            write(tmp_path, relative)
    write(tmp_path, "ALL/JE_x01.ogg" if layout == "flat" else "AudioData/JE/x01.ogg")
    (tmp_path / "AudioData").mkdir(exist_ok=True)
    (tmp_path / "AudioData" / "Info.txt").write_text("ignored")
    utterances, skipped = discover("savee", tmp_path)
    check_common(utterances, "savee")
    assert len(utterances) == 14
    assert Counter(u.speaker for u in utterances) == {"DC": 7, "KL": 7}
    for u in utterances:
        code = Path(u.path).stem.split("_")[-1].rstrip("0123456789")
        assert (u.label, u.emotion) == (code, codes[code])
    assert len(skipped) == 1 and "x01.ogg" in skipped[0].reason and "sa, su" in skipped[0].reason


def test_tess(tmp_path, write):
    write(tmp_path, "TESS Toronto emotional speech set data/OAF_angry/OAF_back_angry.wav")
    write(tmp_path, "TESS Toronto emotional speech set data/OAF_Pleasant_surprise/OAF_back_ps.wav")
    write(tmp_path, "TESS Toronto emotional speech set data/YAF_fear/YAF_neat_Fear.flac")  # case-insensitive
    write(tmp_path, "TESS Toronto emotional speech set data/YAF_sad/YAF_beg_sad.wav")
    write(tmp_path, "TESS Toronto emotional speech set data/YAF_pleasant_surprised/YAF_germ_surp.wav")  # fallback
    write(tmp_path, "TESS Toronto emotional speech set data/YAF_disgust/YAF_date.wav")  # fallback, no emotion token
    write(tmp_path, "TESS Toronto emotional speech set data/misc/YAF_dog_joy.wav")  # neither name nor folder
    write(tmp_path, "TESS Toronto emotional speech set data/misc/lonely.wav")
    utterances, skipped = discover("tess", tmp_path)
    check_common(utterances, "tess")
    assert by_name(utterances) == {
        "OAF_back_angry.wav": ("OAF", "angry", "angry"),
        "OAF_back_ps.wav": ("OAF", "surprise", "ps"),
        "YAF_neat_Fear.flac": ("YAF", "fear", "Fear"),
        "YAF_beg_sad.wav": ("YAF", "sad", "sad"),
        "YAF_germ_surp.wav": ("YAF", "surprise", "pleasant_surprised"),
        "YAF_date.wav": ("YAF", "disgust", "disgust"),
    }
    assert sorted(Path(s.path).name for s in skipped) == ["YAF_dog_joy.wav", "lonely.wav"]
    assert all("<speaker>_<word>_<emotion>" in s.reason for s in skipped)


def test_esd_english_and_mandarin(tmp_path, write):
    root = tmp_path / "Emotion Speech Dataset"
    write(root, "0011/Angry/0011_000351.wav")
    write(root, "0011/Surprise/0011_001401.flac")
    write(root, "0020/Neutral/0020_000001.wav")
    write(root, "0001/Happy/0001_000701.wav")  # Mandarin
    write(root, "0010/Sad/train/0010_001051.ogg")  # split subfolder under the emotion folder
    write(root, "0012/Sad/take1.wav")  # speaker from the folder
    write(root, "0013/Bored/0013_000001.wav")  # any emotion word names an emotion folder
    write(root, "0013/Extra/0013_000002.wav")  # no emotion folder
    (root / "0011" / "0011.txt").write_text("0011_000351\tsome text\tAngry\n")
    utterances, skipped = discover("esd", root)
    check_common(utterances, "esd")
    assert by_name(utterances) == {
        "0011_000351.wav": ("0011", "angry", "Angry"),
        "0011_001401.flac": ("0011", "surprise", "Surprise"),
        "0020_000001.wav": ("0020", "neutral", "Neutral"),
        "0001_000701.wav": ("0001", "happy", "Happy"),
        "0010_001051.ogg": ("0010", "sad", "Sad"),
        "take1.wav": ("0012", "sad", "Sad"),
        "0013_000001.wav": ("0013", "boredom", "Bored"),
    }
    assert [Path(s.path).name for s in skipped] == ["0013_000002.wav"]
    assert "emotion folder" in skipped[0].reason


def test_emodb(tmp_path, write):
    letters = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
    for i, (letter, emotion) in enumerate(letters.items()):
        write(tmp_path, f"wav/{10 + i}a0{i}{letter}a.{'flac' if i % 2 else 'wav'}")
    utterances, skipped = discover("emodb", tmp_path)
    check_common(utterances, "emodb")
    assert not skipped
    assert {(u.speaker, u.emotion, u.label) for u in utterances} == {
        (str(10 + i), emotion, letter) for i, (letter, emotion) in enumerate(letters.items())
    }


def test_manifest(tmp_path, write):
    write(tmp_path, "audio/one.wav")
    write(tmp_path, "audio/two.flac")
    absolute = write(tmp_path / "elsewhere", "three.ogg")
    (tmp_path / "audio" / "notes.txt").write_text("x")
    lists = tmp_path / "lists"
    lists.mkdir()
    csv_path = lists / "extra.csv"
    csv_path.write_text(
        "path,speaker,emotion,gender\n"
        "../audio/one.wav,spk1,Anger,f\n"
        "../audio/two.flac,spk2,pleasant surprise,m\n"
        f"{absolute},spk1,sadness,f\n"
        "../audio/missing.wav,spk3,happy,m\n"
        "../audio/one.wav,spk1,joy,f\n"
        "../audio/notes.txt,spk1,happy,f\n"
    )
    utterances, skipped = discover("manifest", csv_path)
    assert [(Path(u.path).name, u.speaker, u.emotion, u.label) for u in utterances] == [
        ("one.wav", "spk1", "angry", "Anger"),
        ("two.flac", "spk2", "surprise", "pleasant surprise"),
        ("three.ogg", "spk1", "sad", "sadness"),
    ]
    assert all(u.corpus == "manifest" and os.path.isabs(u.path) and os.path.isfile(u.path) for u in utterances)
    assert Path(utterances[0].path) == tmp_path / "audio" / "one.wav"
    assert [Path(s.path).name for s in skipped] == ["missing.wav", "one.wav", "notes.txt"]
    assert "row 4" in skipped[0].reason and "not found" in skipped[0].reason
    assert "row 5" in skipped[1].reason and "'joy'" in skipped[1].reason
    assert "row 6" in skipped[2].reason and "'.txt'" in skipped[2].reason


def test_manifest_missing_column_names_the_columns_found(tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("file,speaker,label\na.wav,s,angry\n")
    with pytest.raises(DataPrepError, match=r"lacks column\(s\) path, emotion.*found 'file', 'speaker', 'label'"):
        discover("manifest", csv_path)


def test_manifest_is_a_file_and_corpora_are_folders(tmp_path):
    with pytest.raises(DataPrepError, match="expected a CSV file"):
        discover("manifest", tmp_path)
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("path,speaker,emotion\n")
    with pytest.raises(DataPrepError, match="expected the corpus folder"):
        discover("tess", csv_path)


# ------------------------------------------------------------------------------------------- real corpora


@pytest.mark.parametrize(
    "name, folder, n_files, n_speakers, n_emotions",
    [("emodb", "emodb", 535, 10, 7), ("ravdess", "ravdess", 1440, 24, 8), ("tess", "tess", 563, 2, 7)],
)
def test_shared_corpora(shared_data, name, folder, n_files, n_speakers, n_emotions):
    utterances, skipped = discover(name, shared_data / folder)
    assert not skipped
    assert len(utterances) == n_files
    assert len({u.speaker for u in utterances}) == n_speakers
    assert len({u.emotion for u in utterances}) == n_emotions
    check_common(utterances, name)
