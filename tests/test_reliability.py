"""Reliability: nothing a user owns is ever lost, and every bad input gets one clear message before any work.

One test per case, at the command line where a user meets it: the exit status (2 for a bad argument or input
found before any work, 1 where a finished piece of work is refused or a damaged file is found while working),
one message without a traceback that names the file or value and what was expected, and every file the user
had (inputs, existing stores, run folders) unchanged byte for byte. Future bad-input cases join this family.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile

from data_prep import build as dp_build
from data_prep import inspect as dp_inspect
from data_prep import open_store
from tests.conftest import write_tone

ROOT = Path(__file__).resolve().parents[1]
EMOTIONS = ("01", "05")  # neutral, angry


# ------------------------------------------------------------------------------------------------ helpers


def snapshot(folder):
    """Relative path -> SHA-256 of every file below ``folder`` (symbolic links and special files by their kind)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif not path.is_dir():
            out[rel] = "special"
    return out


def cli(main, argv, capsys):
    """Run a ``main(argv)`` in-process: ``(exit status, stdout, stderr)``; no traceback may be printed."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def one_message(err):
    """The one ``error:`` line of a command's stderr (argparse usage lines aside)."""
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def ravdess(root, actors=6, seconds=0.6):
    """A tiny RAVDESS-layout corpus: ``actors`` x 2 emotions of short tones."""
    for actor in range(1, actors + 1):
        for k, emotion in enumerate(EMOTIONS):
            write_tone(root / f"Actor_{actor:02d}" / f"03-01-{emotion}-01-01-01-{actor:02d}.wav",
                       seconds=seconds, f0=120 + 25 * actor + 40 * k, seed=actor * 10 + k)
    return root


def speaker_of_split(store, split):
    with open_store(store) as s:
        f = s.files
        return sorted(set(f["speaker"][f["split"] == split]))


def damage(store, dataset):
    """Overwrite bytes in the middle of the first stored chunk of ``dataset`` (its checksum no longer matches)."""
    with h5py.File(store, "r") as h5:
        info = h5[dataset].id.get_chunk_info(0)
    with open(store, "r+b") as f:
        f.seek(info.byte_offset + info.size // 2)
        f.write(b"\x17" * 16)


def build_args(corpus, out, *extra):
    return ["--corpus", f"ravdess={corpus}", "--out", out, "--no-augment", "--workers", "1", "--quiet", *extra]


@pytest.fixture
def corpus(tmp_path):
    return ravdess(tmp_path / "ravdess")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A good store of 6 speakers (every split has frames); tests copy it before changing anything."""
    base = tmp_path_factory.mktemp("reliability_store")
    root = ravdess(base / "ravdess")
    out = base / "good.h5"
    dp_build.build_store({"corpora": [f"ravdess={root}"], "out": str(out), "augment": False, "workers": 1},
                         progress=False, log=lambda text: None)
    return {"path": out, "root": root}


# ---------------------------------------------------------------------------------- data_prep.build: --out


def test_out_that_is_the_manifest_is_refused_even_with_overwrite(tmp_path, corpus, capsys):
    manifest = tmp_path / "M.csv"
    rows = [f"{p},{p.parent.name},{'angry' if '-05-' in p.name else 'neutral'}" for p in sorted(corpus.rglob("*.wav"))]
    manifest.write_text("path,speaker,emotion\n" + "\n".join(rows) + "\n")
    before = snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):
        code, _, err = cli(dp_build.main, ["--corpus", f"manifest={manifest}", "--out", manifest, "--no-augment",
                                           "--workers", "1", "--quiet", *extra], capsys)
        assert code == 2
        message = one_message(err)
        assert str(manifest) in message and "input" in message
    assert snapshot(tmp_path) == before


def test_out_that_is_a_file_of_the_user_is_refused_unless_overwrite(tmp_path, corpus, capsys):
    mine = tmp_path / "notes.h5"
    mine.write_text("my notes, not a store\n")
    before = snapshot(tmp_path)
    code, _, err = cli(dp_build.main, build_args(corpus, mine), capsys)
    assert code == 2
    message = one_message(err)
    assert str(mine) in message and "not a store" in message and "--overwrite" in message
    assert snapshot(tmp_path) == before
    code, _, _ = cli(dp_build.main, build_args(corpus, mine, "--overwrite"), capsys)
    assert code == 0
    with open_store(mine) as s:
        assert s.num_frames("train") > 0


def test_out_that_is_a_folder_fails_before_any_work(tmp_path, corpus, capsys):
    folder = tmp_path / "stores"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    code, _, err = cli(dp_build.main, build_args(corpus, folder), capsys)
    assert code == 2
    message = one_message(err)
    assert str(folder) in message and "folder" in message
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------ data_prep.build: no store is lost


def test_build_that_keeps_no_frame_keeps_the_existing_store(tmp_path, store, capsys):
    out = tmp_path / "s.h5"
    shutil.copy(store["path"], out)
    shutil.copy(dp_build.summary_path(store["path"]), dp_build.summary_path(out))
    before = snapshot(tmp_path)
    code, _, err = cli(dp_build.main, build_args(store["root"], out, "--offset", "10"), capsys)  # 0.6 s files
    assert code == 1
    message = one_message(err)
    assert "no frame" in message and "offset" in message and "kept unchanged" in message
    assert snapshot(tmp_path) == before
    assert not list(tmp_path.glob("*.tmp-*"))


def test_build_that_empties_a_split_keeps_the_existing_store_and_says_why(tmp_path, store, capsys):
    corpus = tmp_path / "ravdess"
    shutil.copytree(store["root"], corpus)
    (val_speaker,) = speaker_of_split(store["path"], "val")
    for path in (corpus / f"Actor_{val_speaker.split(':')[1]}").glob("*.wav"):
        path.write_bytes(b"not audio, a text file\n")  # every file of the only validation speaker is bad
    out = tmp_path / "s.h5"
    shutil.copy(store["path"], out)
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    code, _, err = cli(dp_build.main, build_args(corpus, out), capsys)
    assert code == 1
    message = one_message(err)
    assert "'val'" in message and val_speaker in message and "text file" in message and "kept unchanged" in message
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    # a new store with an empty split is written, with a warning naming the split and why
    fresh = tmp_path / "fresh.h5"
    code, _, err = cli(dp_build.main, build_args(corpus, fresh), capsys)
    assert code == 0
    assert "warning: split 'val'" in err and val_speaker in err
    with open_store(fresh) as s:
        assert s.num_frames("val") == 0 and s.num_frames("train") > 0
    # rebuilding it loses nothing (its validation split was empty already); --overwrite replaces the good store
    assert cli(dp_build.main, build_args(corpus, fresh), capsys)[0] == 0
    assert cli(dp_build.main, build_args(corpus, out, "--overwrite"), capsys)[0] == 0
    with open_store(out) as s:
        assert s.num_frames("val") == 0


def test_temporaries_of_killed_builds_are_removed_on_the_next_start(tmp_path, corpus, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that is no longer alive
    stale = [tmp_path / f"s.h5.tmp-{gone.pid}", tmp_path / f"other.h5.tmp-{gone.pid}",
             tmp_path / f".s.summary.tmp-{gone.pid}.json"]
    for path in stale:
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1000))
    alive = tmp_path / f"busy.h5.tmp-{os.getppid()}"  # a build still running (its process is alive)
    alive.write_bytes(b"in progress")
    mine = [tmp_path / "notes.tmp-draft", tmp_path / "data.tmp"]
    for path in mine:
        path.write_text("mine")
    code, _, err = cli(dp_build.main, build_args(corpus, tmp_path / "s.h5"), capsys)
    assert code == 0
    assert not any(path.exists() for path in stale)
    assert str(stale[0]) in err and "killed" in err
    assert alive.read_bytes() == b"in progress" and all(path.read_text() == "mine" for path in mine)


@pytest.mark.parametrize("flag, value", [("--offset", "-1"), ("--duration", "-1"), ("--duration", "0"),
                                         ("--offset", "nan"), ("--duration", "inf")])
def test_meaningless_offset_or_duration_exits_2(tmp_path, corpus, flag, value, capsys):
    before = snapshot(tmp_path)
    code, _, err = cli(dp_build.main, build_args(corpus, tmp_path / "s.h5", flag, value), capsys)
    assert code == 2
    message = one_message(err)
    assert flag in message and value in message
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------- bad input files


def test_empty_text_and_damaged_files_say_what_they_are(tmp_path, corpus, capsys):
    actor = corpus / "Actor_01"
    (actor / "03-01-03-01-01-01-01.wav").write_bytes(b"")
    (actor / "03-01-04-01-01-01-01.wav").write_text("this is text, not audio\n")
    (actor / "03-01-06-01-01-01-01.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    (actor / "03-01-07-01-01-01-01.wav").write_bytes(bytes(range(256)) * 8)
    code, out, _ = cli(dp_build.main, build_args(corpus, tmp_path / "s.h5"), capsys)
    assert code == 0
    reasons = {Path(item["path"]).name: item["reason"]
               for item in json.loads(dp_build.summary_path(tmp_path / "s.h5").read_text())["skipped"]}
    assert reasons["03-01-03-01-01-01-01.wav"].startswith("empty file (0 bytes)")
    assert "text file, not audio" in reasons["03-01-04-01-01-01-01.wav"] and "WAV" in reasons["03-01-04-01-01-01-01.wav"]
    assert "damaged" in reasons["03-01-06-01-01-01-01.wav"] and "WAV" in reasons["03-01-06-01-01-01-01.wav"]
    assert "not audio" in reasons["03-01-07-01-01-01-01.wav"] and "expected WAV" in reasons["03-01-07-01-01-01-01.wav"]
    assert not any(reason.endswith(": )") or "EOFError: )" in reason or "NoBackendError: )" in reason
                   for reason in reasons.values())
    for name, reason in reasons.items():
        assert f"{name}: {reason}" in out  # listed with the path in the printed summary


def test_fifos_devices_and_broken_links_are_named_not_read(tmp_path, corpus):
    """In a manifest and in a corpus folder; a FIFO is never opened (it would block the build)."""
    fifo = corpus / "Actor_01" / "03-01-03-01-01-01-01.wav"
    os.mkfifo(fifo)
    device = corpus / "Actor_01" / "03-01-04-01-01-01-01.wav"
    device.symlink_to("/dev/zero")
    broken = corpus / "Actor_01" / "03-01-06-01-01-01-01.wav"
    broken.symlink_to(tmp_path / "nowhere.wav")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,speaker,emotion\n" + "".join(f"{p},s1,angry\n" for p in (fifo, device, broken))
                        + "".join(f"{p},{p.parent.name},neutral\n" for p in sorted(corpus.glob("Actor_0[2-6]/*.wav"))))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for spec, out in ((f"manifest={manifest}", tmp_path / "m.h5"), (f"ravdess={corpus}", tmp_path / "r.h5")):
        r = subprocess.run([sys.executable, "-m", "data_prep.build", "--corpus", spec, "--out", str(out), "--no-augment",
                            "--workers", "1", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "Traceback" not in r.stderr
        reasons = {Path(item["path"]).name: item["reason"]
                   for item in json.loads(dp_build.summary_path(out).read_text())["skipped"]}
        assert "FIFO" in reasons[fifo.name] and "not a regular file" in reasons[fifo.name]
        assert "character device" in reasons[device.name]
        assert "broken symbolic link" in reasons[broken.name]
        assert "file not found" not in " ".join(reasons.values())


def test_utf16_manifest_is_read_and_another_encoding_named(tmp_path, corpus, capsys):
    rows = [f"{p},{p.parent.name},{'angry' if '-05-' in p.name else 'neutral'}" for p in sorted(corpus.rglob("*.wav"))]
    text = "path,speaker,emotion\r\n" + "\r\n".join(rows) + "\r\n"
    counts = {}
    for encoding in ("utf-8", "utf-16", "utf-16-le"):  # utf-16: with a byte-order mark (as Excel writes it)
        manifest = tmp_path / f"{encoding}.csv"
        manifest.write_bytes(text.encode(encoding))
        code, _, _ = cli(dp_build.main, ["--corpus", f"manifest={manifest}", "--out", tmp_path / f"{encoding}.h5",
                                         "--no-augment", "--workers", "1", "--quiet"], capsys)
        assert code == 0
        with open_store(tmp_path / f"{encoding}.h5") as s:
            counts[encoding] = len(s.files["path"])
    assert counts["utf-16"] == counts["utf-16-le"] == counts["utf-8"] == len(rows)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((text + f"{rows[0].split(',')[0]},x,col\u00e8re\r\n").encode("latin-1"))
    before = snapshot(tmp_path)
    code, _, err = cli(dp_build.main, ["--corpus", f"manifest={latin}", "--out", tmp_path / "l.h5", "--no-augment",
                                       "--workers", "1", "--quiet"], capsys)
    assert code == 2
    message = one_message(err)
    assert str(latin) in message and "UTF-8" in message
    assert snapshot(tmp_path) == before


def test_short_manifest_row_is_named_as_such(tmp_path, corpus, capsys):
    files = sorted(corpus.rglob("*.wav"))
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,speaker,emotion\n" + f"{files[0]},s1\n" + f"{files[1]}\n"
                        + "".join(f"{p},{p.parent.name},neutral\n" for p in files[2:]))
    code, _, _ = cli(dp_build.main, ["--corpus", f"manifest={manifest}", "--out", tmp_path / "m.h5", "--no-augment",
                                     "--workers", "1", "--quiet"], capsys)
    assert code == 0
    reasons = [item["reason"] for item in json.loads(dp_build.summary_path(tmp_path / "m.h5").read_text())["skipped"]]
    assert len(reasons) == 2
    assert "row 1" in reasons[0] and "2 field(s), expected at least 3" in reasons[0]
    assert "row 2" in reasons[1] and "1 field(s)" in reasons[1]
    assert not any("unknown emotion ''" in r for r in reasons)


# ------------------------------------------------------------------------------- damaged stores, inspect


def test_inspect_prints_the_path_given_and_verify_finds_a_damaged_chunk(tmp_path, store, capsys):
    moved = tmp_path / "moved.h5"
    shutil.copy(store["path"], moved)
    code, out, _ = cli(dp_inspect.main, [moved, "--verify"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith(f"store {moved}:") and "verified" in out
    damage(moved, "splits/test/targets/mfcc")
    before = snapshot(tmp_path)
    code, _, _ = cli(dp_inspect.main, [moved], capsys)
    assert code == 0  # opening reads attributes only
    code, _, err = cli(dp_inspect.main, [moved, "--verify"], capsys)
    assert code == 1
    assert str(moved) in one_message(err) and "/splits/test/targets/mfcc" in err
    code, out, _ = cli(dp_inspect.main, [moved, "--verify", "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["verified"] is False and report["store"] == str(moved)
    assert snapshot(tmp_path) == before


def test_damaged_chunk_is_one_message_in_fin_evaluate(tmp_path, store, capsys):
    from fin import evaluate

    bad = tmp_path / "bad.h5"
    shutil.copy(store["path"], bad)
    damage(bad, "splits/test/targets/rms")
    code, _, err = cli(evaluate.main, ["--model", "rms", "--data", bad], capsys)
    assert code == 1
    message = one_message(err)
    assert str(bad) in message and "/splits/test/targets/rms" in message and "damaged" in message


def test_damaged_chunk_is_one_message_in_fin_train(tmp_path, store, capsys):
    from fin import train

    bad = tmp_path / "bad.h5"
    shutil.copy(store["path"], bad)
    damage(bad, "splits/train/audio")  # read by the tf.data pipeline, inside model.fit
    code, _, err = cli(train.main, ["--feature", "rms", "--arch", "compact", "--data", bad, "--out", tmp_path / "run",
                                    "--epochs", "1"], capsys)
    assert code == 1
    message = one_message(err)
    assert str(bad) in message and "/splits/train/audio" in message and "damaged" in message


# ------------------------------------------------------------------------------------------- fin.train


def test_train_checks_the_store_splits_before_training(tmp_path, store, capsys):
    from fin import train

    corpus = tmp_path / "ravdess"
    shutil.copytree(store["root"], corpus)
    for speaker in speaker_of_split(store["path"], "train"):
        for path in (corpus / f"Actor_{speaker.split(':')[1]}").glob("*.wav"):
            path.write_bytes(b"")
    no_train = tmp_path / "no_train.h5"
    assert cli(dp_build.main, build_args(corpus, no_train), capsys)[0] == 0
    before = snapshot(tmp_path)
    code, _, err = cli(train.main, ["--feature", "rms", "--data", no_train, "--out", tmp_path / "run"], capsys)
    assert code == 2
    message = one_message(err)
    assert str(no_train) in message and "'train'" in message
    assert snapshot(tmp_path) == before and not (tmp_path / "run").exists()


def test_train_on_a_store_without_validation_frames_finishes(tmp_path, store, capsys):
    """The issue's case: bad files emptied the validation split; training used to fail in plotting after the work."""
    from fin import train

    corpus = tmp_path / "ravdess"
    shutil.copytree(store["root"], corpus)
    (val_speaker,) = speaker_of_split(store["path"], "val")
    for path in (corpus / f"Actor_{val_speaker.split(':')[1]}").glob("*.wav"):
        path.write_text("NA\n")
    no_val = tmp_path / "no_val.h5"
    assert cli(dp_build.main, build_args(corpus, no_val), capsys)[0] == 0
    out = tmp_path / "run"
    code, _, err = cli(train.main, ["--feature", "rms", "--arch", "compact", "--data", no_val, "--out", out,
                                    "--epochs", "2", "--steps-per-epoch", "3"], capsys)
    assert code == 0
    assert "warning: split 'val'" in err
    assert (out / "learning_curves.png").is_file() and (out / "metrics.json").is_file()


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--lr", "-1"), ("--lr", "0"), ("--lr", "nan"),
                                         ("--batch-size", "0"), ("--steps-per-epoch", "0"), ("--noise-fraction", "2"),
                                         ("--time-budget", "0"), ("--time-budget", "nan"),
                                         ("--init-from", "/nowhere/mel.keras"), ("--init-from", "nosuchpreset")])
def test_train_meaningless_options_exit_2(tmp_path, store, flag, value, capsys):
    from fin import train

    code, _, err = cli(train.main, ["--feature", "rms", "--data", store["path"], "--out", tmp_path / "run", flag, value],
                       capsys)
    assert code == 2
    message = one_message(err)
    assert flag in message and value in message
    assert not (tmp_path / "run").exists()


def test_train_out_that_is_a_file_exits_2(tmp_path, store, capsys):
    from fin import train

    mine = tmp_path / "results.txt"
    mine.write_text("mine")
    code, _, err = cli(train.main, ["--feature", "rms", "--data", store["path"], "--out", mine], capsys)
    assert code == 2 and str(mine) in one_message(err) and mine.read_text() == "mine"


def test_resume_with_other_settings_exits_2_before_touching_the_run(tmp_path, store, capsys):
    from fin import train

    out = tmp_path / "run"
    base = ["--data", store["path"], "--out", out, "--arch", "compact", "--epochs", "1", "--steps-per-epoch", "2"]
    assert cli(train.main, ["--feature", "rms", *base], capsys)[0] == 0
    (out / "backup").mkdir()  # as a killed run leaves it
    (out / "backup" / "marker").write_text("checkpoint")
    before = snapshot(out)
    code, _, err = cli(train.main, ["--feature", "zcr", *base, "--lr", "0.01", "--resume"], capsys)
    assert code == 2
    message = one_message(err)
    assert "feature 'rms' there, 'zcr' now" in message and "lr" in message and str(out) in message
    assert snapshot(out) == before


# --------------------------------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    import keras

    base = tmp_path_factory.mktemp("bad_models")
    corrupt = base / "corrupt.keras"
    corrupt.write_bytes((ROOT / "fin" / "presets" / "rms.keras").read_bytes()[:5000])  # truncated
    inputs = keras.Input((2048,))
    unsafe = base / "unsafe.keras"
    keras.Model(inputs, keras.layers.Lambda(lambda x: x[:, :1] * 2)(inputs), name="rms_lambda").save(unsafe)
    return {"corrupt": corrupt, "unsafe": unsafe}


def test_corrupt_and_unsafe_keras_files_get_one_message_each(bad_models, store, capsys):
    from fin import evaluate

    code, _, err = cli(evaluate.main, ["--model", bad_models["corrupt"], "--data", store["path"]], capsys)
    assert code == 2
    message = one_message(err)
    assert str(bad_models["corrupt"]) in message and "not a zip archive" in message and "not found" not in message
    code, _, err = cli(evaluate.main, ["--model", bad_models["unsafe"], "--data", store["path"]], capsys)
    assert code == 2
    message = one_message(err)
    assert str(bad_models["unsafe"]) in message and "safe mode" in message


# ------------------------------------------------------------------------------------------------- ser


@pytest.fixture(scope="module")
def ser_demo(tmp_path_factory):
    from data_prep.demo import generate_demo_corpus

    base = tmp_path_factory.mktemp("reliability_ser")
    return {"root": generate_demo_corpus(base / "demo", n_speakers=3, utterances_per_emotion=1), "base": base}


@pytest.fixture(scope="module")
def ser_model(ser_demo):
    """A small ser.baseline model folder (two speaker folds, one epoch): what ser.predict loads."""
    from ser import baseline

    out = ser_demo["base"] / "baseline"
    assert baseline.main(["--corpus", f"ravdess={ser_demo['root']}", "--protocol", "speaker-kfold", "--folds", "2",
                          "--duration", "0.6", "--epochs", "1", "--no-augment", "--out", str(out),
                          "--cache-dir", str(ser_demo["base"] / "cache"), "--workers", "1", "--quiet"]) == 0
    return out


def test_finetune_folds_beyond_the_speakers_exits_2_before_any_work(tmp_path, ser_demo, capsys):
    from ser import finetune

    out, cache = tmp_path / "run", tmp_path / "cache"
    code, _, err = cli(finetune.main, ["--corpus", f"ravdess={ser_demo['root']}", "--protocol", "speaker-kfold",
                                       "--folds", "50", "--out", out, "--cache-dir", cache, "--quiet"], capsys)
    assert code == 2
    message = one_message(err)
    assert "--folds 50" in message and "3" in message
    assert not out.exists() and not cache.exists()


@pytest.mark.parametrize("flag, value", [("--lr", "nan"), ("--lr", "-1"), ("--epochs", "0"), ("--offset", "-1"),
                                         ("--duration", "nan")])
def test_finetune_meaningless_numbers_exit_2(tmp_path, flag, value, capsys):
    from ser import finetune

    code, _, err = cli(finetune.main, [flag, value, "--out", tmp_path / "run"], capsys)
    assert code == 2 and value in one_message(err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flag", ["--hop", "--window", "--offset"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_predict_non_finite_seconds_exit_2(tmp_path, flag, value, capsys):
    from ser import predict

    wav = write_tone(tmp_path / "a.wav")
    code, _, err = cli(predict.main, [wav, flag, value, "--model", tmp_path], capsys)
    assert code == 2
    message = one_message(err)
    assert flag in message and value in message


def test_predict_names_fifos_devices_and_empty_files(tmp_path, ser_model, capsys):
    from ser import predict

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    device = tmp_path / "zero.wav"
    device.symlink_to("/dev/zero")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    code, _, err = cli(predict.main, [fifo, device, empty, "--model", ser_model], capsys)
    assert code == 1  # nothing predicted
    assert f"{fifo}: not a regular file: a FIFO" in err
    assert f"{device}: not a regular file: a character device" in err
    assert f"{empty}: empty file (0 bytes)" in err
    assert "no such file" not in err


def test_predict_says_slower_than_real_time_when_it_is(tmp_path, ser_model, ser_demo, capsys, monkeypatch):
    from ser import predict

    short = tmp_path / "short.wav"
    y, sr = soundfile.read(sorted(ser_demo["root"].glob("Actor_01/*.wav"))[0], dtype="float32")
    soundfile.write(short, y[: int(1.1 * sr)], sr)  # 0.5 s analysed after the 0.6 s offset
    clock = iter(np.arange(0.0, 1000.0, 0.85))  # every reading 0.85 s later: about 1.7 s per 0.5 s of audio
    monkeypatch.setattr(predict.time, "perf_counter", lambda: float(next(clock)))
    code, out, _ = cli(predict.main, [short, "--model", ser_model], capsys)
    assert code == 0
    line = out.strip().splitlines()[-1]
    rtf = float(line.split("real-time factor ")[1].split()[0])
    assert rtf > 1 and "slower than real time" in line and "faster" not in line
    assert predict.speed_words(0.01) == "100x faster than real time"
    assert predict.speed_words(1.7096) == "1.7x slower than real time"
    assert predict.speed_words(0.5) == "2.0x faster than real time"


@pytest.mark.parametrize("kind", ["corrupt", "unsafe"])
def test_predict_with_a_damaged_model_file_exits_2(tmp_path, ser_model, bad_models, kind, capsys):
    from ser import predict

    folder = tmp_path / "model"
    shutil.copytree(ser_model, folder)
    card = json.loads((folder / "ser_model.json").read_text())
    shutil.copy(bad_models[kind], folder / card["models"][0])
    before = snapshot(folder)
    code, _, err = cli(predict.main, [write_tone(tmp_path / "a.wav"), "--model", folder], capsys)
    assert code == 2
    message = one_message(err)
    assert str(folder / card["models"][0]) in message
    assert ("not a zip archive" if kind == "corrupt" else "safe mode") in message
    assert snapshot(folder) == before
