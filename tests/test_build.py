"""data_prep.build: bad input, splits, augmentation, atomic writes, determinism, the command line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from data_prep import open_store
from data_prep.build import build_store, main, summary_path
from tests.conftest import write_tone

ROOT = Path(__file__).resolve().parents[1]

# The store's targets are computed batched across files (data_prep.build) and compared with frame_targets of one
# file: the same per-frame maths, but the filter-bank products are BLAS matrix products whose summation order
# depends on the batch and on the BLAS kernel (OPENBLAS_CORETYPE), so chroma, mel and MFCC agree to float32
# round-off only (measured on the demo corpus: chroma 1.1e-6, mel 5.4e-7 relative, MFCC 6.1e-5 dB). Each bound is
# far below what a real error moves (the nearest other frame differs by 0.02 in chroma, 2.9 dB in MFCC; a wrong
# chroma bin or tuning moves a value by more than 0.01); rms and zcr use no BLAS and stay exact in practice.
BATCH_TOLERANCE = {
    "rms": dict(rtol=1e-6, atol=0.0),
    "zcr": dict(rtol=0.0, atol=0.5 / 2048),  # less than one zero crossing of a frame
    "chroma": dict(rtol=0.0, atol=1e-5),  # max-normalised: values in [0, 1]
    "mfcc": dict(rtol=1e-5, atol=1e-3),  # dB
    "mel": dict(rtol=1e-5, atol=0.0),  # linear power, sums of non-negative terms: relative error only
}


def _build(tmp_path, corpora, name="s.h5", **config):
    out = tmp_path / name
    summary = build_store({"corpora": corpora, "out": str(out), "workers": 1, **config}, progress=False)
    return out, summary


def test_bad_files_are_skipped_with_reasons(tmp_path, ravdess_tree):
    actor = ravdess_tree / "Actor_01"
    (actor / "03-01-02-01-01-01-01.wav").write_bytes(b"this is not audio at all")  # unreadable
    (actor / "03-01-02-01-02-01-01.wav").write_bytes(b"")  # empty file
    write_tone(actor / "03-01-06-01-01-01-01.wav", seconds=0.05)  # shorter than one frame
    import soundfile

    bad = np.zeros(4096, np.float32)
    bad[100] = np.nan
    soundfile.write(actor / "03-01-07-01-01-01-01.wav", bad, 22050, subtype="FLOAT")  # NaN samples
    inf = np.zeros(4096, np.float32)
    inf[7] = np.inf
    soundfile.write(actor / "03-01-07-01-02-01-01.wav", inf, 22050, subtype="FLOAT")  # Inf samples
    write_tone(actor / "not-a-ravdess-name.wav")  # unparseable label
    write_tone(actor / "03-01-08-01-01-01-01.wav", fmt="AIFF")  # AIFF data under a .wav name: loads
    write_tone(actor / "03-01-08-01-02-01-01.wav", channels=2, sr=48000)  # stereo, 48 kHz: loads
    write_tone(actor / "03-01-08-02-01-01-01.wav", sr=8000)  # 8 kHz: loads

    out, summary = _build(tmp_path, [f"ravdess={ravdess_tree}"], augment=False)
    reasons = {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}
    assert "unreadable" in reasons["03-01-02-01-01-01-01.wav"]
    assert "03-01-02-01-02-01-01.wav" in reasons  # empty
    assert "too short" in reasons["03-01-06-01-01-01-01.wav"]
    assert "non-finite" in reasons["03-01-07-01-01-01-01.wav"]
    assert "non-finite" in reasons["03-01-07-01-02-01-01.wav"]
    assert "unparseable" in reasons["not-a-ravdess-name.wav"]
    assert len(reasons) == 6
    with open_store(out) as s:
        stored = {Path(p).name for p in s.files["path"]}
        assert not stored & set(reasons)
        assert {"03-01-08-01-01-01-01.wav", "03-01-08-01-02-01-01.wav", "03-01-08-02-01-01-01.wav"} <= stored
        assert summary["files"] == 20 + 3
        for split in s.splits:
            assert np.all(np.isfinite(s.frames(split)))
    assert json.loads(summary_path(out).read_text())["skipped"] == summary["skipped"]


def test_no_speaker_in_two_splits_and_copies_follow_their_source(tmp_path, ravdess_tree):
    out, summary = _build(tmp_path, [f"ravdess={ravdess_tree}"], seed=3)
    with open_store(out) as s:
        f = s.files
        speakers = {sp: set(f["split"][f["speaker"] == sp]) for sp in set(f["speaker"])}
        assert all(len(v) == 1 for v in speakers.values()), speakers
        assert {v.pop() for v in speakers.values()} == {"train", "val", "test"}
        for source in set(f["source"]):
            rows = f["source"] == source
            assert len(set(f["split"][rows])) == 1
            assert sorted(f["augmentation"][rows]) == ["noise", "original", "stretch_pitch"]
        # every frame's file row points back into its own split
        for split in s.splits:
            assert set(f["split"][s.file_index(split)]) == {split}
    assert summary["augmentations"] == ["original", "noise", "stretch_pitch"]


def test_split_by_file_mixes_speakers(tmp_path, ravdess_tree):
    out, _ = _build(tmp_path, [f"ravdess={ravdess_tree}"], augment=False, split_by="file")
    with open_store(out) as s:
        f = s.files
        assert any(len(set(f["split"][f["speaker"] == sp])) > 1 for sp in set(f["speaker"]))
        assert json.loads(s.h5.attrs["config"])["split_by"] == "file"


def test_reader_round_trip(tmp_path, ravdess_tree):
    import librosa

    from data_prep import frame_targets

    out, summary = _build(tmp_path, [f"ravdess={ravdess_tree}"], augment=False)
    with open_store(out) as s:
        assert s.splits == ["train", "val", "test"]
        assert sum(s.num_frames(x) for x in s.splits) == summary["frames"]
        assert s.meta["target_set"] == "seed" and s.meta["config"]["seed"] == 0
        f = s.files
        for split in s.splits:
            rows = np.flatnonzero(f["split"] == split)
            row = rows[-1]
            y, _ = librosa.load(f["path"][row], sr=22050)
            idx = np.arange(f["first_frame"][row], f["first_frame"][row] + f["n_frames"][row])
            np.testing.assert_array_equal(s.frames(split, idx), librosa.util.frame(y, frame_length=2048, hop_length=512, axis=0))
            expected = frame_targets(y)
            for feature, values in expected.items():
                np.testing.assert_allclose(s.targets(split, feature, idx), values, **BATCH_TOLERANCE[feature], err_msg=feature)
            # arbitrary order, repeats and negative indices read the same rows
            pick = [5, 1, 1, -1]
            all_frames = s.frames(split)
            np.testing.assert_array_equal(s.frames(split, pick), all_frames[pick])
            np.testing.assert_array_equal(s.targets(split, "mel", pick), s.targets(split, "mel")[pick])


def test_tf_dataset_batches_match_the_reader(tmp_path, ravdess_tree):
    from data_prep.tf_dataset import frame_dataset

    out, _ = _build(tmp_path, [f"ravdess={ravdess_tree}"], augment=False)
    with open_store(out) as s:
        n = s.num_frames("train")
        frames, mfcc, chroma = s.frames("train"), s.targets("train", "mfcc"), s.targets("train", "chroma")
    ordered = frame_dataset(out, "train", "mfcc", batch_size=7, shuffle=False)
    got = list(ordered.as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), frames)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), mfcc)
    shuffled = frame_dataset(out, "train", ["mfcc", "chroma"], batch_size=16, shuffle=True, block_frames=8)
    epoch1 = list(shuffled.as_numpy_iterator())
    epoch2 = list(shuffled.as_numpy_iterator())
    x1 = np.concatenate([b[0] for b in epoch1])
    assert len(x1) == n and not np.array_equal(x1, frames)
    assert not np.array_equal(x1, np.concatenate([b[0] for b in epoch2]))  # reshuffled each epoch
    # each frame keeps its own targets
    lookup = {frames[i].tobytes(): i for i in range(n)}
    rows = np.array([lookup[x.tobytes()] for x in x1])
    assert sorted(rows) == list(range(n))
    np.testing.assert_array_equal(np.concatenate([b[1]["chroma"] for b in epoch1]), chroma[rows])


def test_rebuild_gives_the_same_contents(tmp_path, ravdess_tree):
    a, _ = _build(tmp_path, [f"ravdess={ravdess_tree}"], name="a.h5", max_files=12)
    b, _ = build_store({"corpora": [f"ravdess={ravdess_tree}"], "out": str(tmp_path / "b.h5"), "workers": 2, "max_files": 12}, progress=False), None
    b = tmp_path / "b.h5"

    def contents(path):
        out = {}
        with h5py.File(path) as h5:
            h5.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return out

    # bit for bit: the files go to the same groups whatever the worker count, so each computation repeats in the
    # same order (this is the README's promise, not a comparison of two computation orders)
    ca, cb = contents(a), contents(b)
    assert ca.keys() == cb.keys()
    for key in ca:
        np.testing.assert_array_equal(ca[key], cb[key], err_msg=key)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_build_leaves_no_store(tmp_path, ravdess_tree, sig):
    out = tmp_path / "killed.h5"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # the tiny build can complete between seeing its temporary file and the signal landing (seen on a loaded
    # machine, where this process lags): a build that exited 0 was not killed, so try again; a killed one
    # (exit code from the signal) must leave no store
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "data_prep.build", "--corpus", f"ravdess={ravdess_tree}", "--out",
                                 str(out), "--workers", "1", "--quiet"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while not list(tmp_path.glob("killed.h5.tmp-*")) and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "build finished before it could be killed"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        if proc.returncode != 0:
            break
        out.unlink()
    assert proc.returncode in (128 + signal.SIGTERM, -signal.SIGKILL), proc.returncode
    assert not out.exists()
    if sig == signal.SIGTERM:  # handled: the temporary file is removed too
        assert not list(tmp_path.glob("killed.h5.tmp-*"))
    # running again completes and clears what a SIGKILL left behind
    assert main(["--corpus", f"ravdess={ravdess_tree}", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert out.exists() and not list(tmp_path.glob("killed.h5.tmp-*"))


@pytest.mark.parametrize(
    "args,message",
    [
        (["--corpus", "nosuch=/tmp"], "unknown corpus"),
        (["--corpus", "emodb=/definitely/missing"], "/definitely/missing"),
        (["--corpus", "emodb"], "NAME=PATH"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_arguments_exit_2_without_traceback(tmp_path, args, message):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "data_prep.build", *args, "--out", str(tmp_path / "x.h5")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_unwritable_output_exits_2(tmp_path, ravdess_tree):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "data_prep.build", "--corpus", f"ravdess={ravdess_tree}", "--out",
                        str(tmp_path / "missing-dir" / "x.h5")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_inspect_prints_the_summary(tmp_path, ravdess_tree, capsys):
    from data_prep import inspect

    out, summary = _build(tmp_path, [f"ravdess={ravdess_tree}"], augment=False)
    assert inspect.main([str(out)]) == 0
    text = capsys.readouterr().out
    assert "ravdess" in text and str(summary["frames"]) in text
    assert inspect.main([str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["summary"]["frames"] == summary["frames"]
    with pytest.raises(SystemExit) as err:
        inspect.main([str(tmp_path / "nope.h5")])
    assert err.value.code == 2


def test_yaml_config_with_custom_augmentation(tmp_path, ravdess_tree):
    """The shipped generalisation config (audiomentations transforms by name) builds; flags override it."""
    config = ROOT / "experiments" / "configs" / "fin_generalise.yaml"
    out = tmp_path / "g.h5"
    assert main(["--config", str(config), "--corpus", f"ravdess={ravdess_tree}", "--out", str(out), "--workers", "1",
                 "--max-files", "6", "--quiet"]) == 0
    with open_store(out) as s:
        assert s.meta["summary"]["augmentations"] == ["original", "gain", "band_limited", "noise", "quiet_padded"]
        assert s.meta["config"]["max_files"] == 6
    bad = tmp_path / "bad.yaml"
    bad.write_text("augmentation:\n  x: [{name: NoSuchTransform}]\n")
    with pytest.raises(SystemExit) as err:
        main(["--config", str(bad), "--corpus", f"ravdess={ravdess_tree}", "--out", str(out)])
    assert err.value.code == 2
