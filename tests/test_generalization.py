"""experiments.generalization: a run on two tiny corpora in different layouts (ESD at 16 kHz, EMO-DB with an
unreadable and a too-short file) writes the table, the JSON and the report; its R² equal scikit-learn's on the same
predictions; bad arguments exit 2 naming the value."""

import contextlib
import io
import json

import numpy as np
import pytest
import soundfile
from sklearn.metrics import mean_squared_error, r2_score

from data_prep.targets import FEATURE_DIMS, FEATURES
from tests.conftest import write_tone

SPEC_KEYS = {"r2", "r2_vw", "per_output", "mse", "frames"}


def _write(path, y, sr):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(y, dtype=np.float32), sr)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Fixture corpora, five small FINs (two exact closed-form, three random compact), and one run of main()."""
    import fin
    from experiments.generalization import main

    base = tmp_path_factory.mktemp("generalization")
    rng = np.random.default_rng(0)
    esd, emodb = base / "esd", base / "emodb"
    readable = {
        "esd": [
            write_tone(esd / "0011" / "Angry" / "0011_000351.wav", seconds=0.8, sr=16000, f0=180, seed=1),
            write_tone(esd / "0011" / "Happy" / "0011_000701.wav", seconds=0.5, sr=16000, f0=260, seed=2),
            # silence, a quiet stretch and a loud one: every energy bin gets frames
            _write(esd / "0012" / "Sad" / "0012_001051.wav",
                   np.concatenate([np.zeros(4000), 0.003 * rng.standard_normal(4000), 0.3 * rng.standard_normal(4000)]),
                   16000),  # fmt: skip
        ],
        "emodb": [
            write_tone(emodb / "wav" / "03a01Fa.wav", seconds=0.6, f0=200, seed=4),
            _write(emodb / "wav" / "16b10Wa.wav", 0.02 * rng.standard_normal(11025), 22050),
        ],
    }
    unreadable = emodb / "wav" / "08a02Wb.wav"
    unreadable.write_bytes(b"RIFF....WAVEfmt not really audio")
    too_short = _write(emodb / "wav" / "09a05Tc.wav", 0.1 * rng.standard_normal(500), 22050)

    models = {
        "rms": fin.build_model("rms", "spectral", init="closed-form"),
        "mfcc": fin.build_model("mfcc", "spectral", init="closed-form"),
        "zcr": fin.build_model("zcr", "compact", seed=1),
        "chroma": fin.build_model("chroma", "compact", seed=2),
        "mel": fin.build_model("mel", "compact", seed=3),
    }
    runs = base / "runs"  # a folder of fin.train-style run folders
    for feature, folder in (("rms", "rms_exact"), ("mfcc", "mfcc_exact"), ("chroma", "chroma_small")):
        (runs / folder).mkdir(parents=True)
        models[feature].save(runs / folder / "model.keras")
    models["zcr"].save(base / "zcr_model.keras")  # single .keras files
    models["mel"].save(base / "mel_small.keras")

    json_path, report = base / "out" / "results.json", base / "report"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["--corpus", f"esd={esd}", "--corpus", f"emodb={emodb}",
                       "--fins", str(runs), str(base / "zcr_model.keras"), str(base / "mel_small.keras"),
                       "--json", str(json_path), "--report", str(report), "--batch-size", "16",
                       "--band-limited-files", "2"])  # fmt: skip
    return {"status": status, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(), "json": json_path,
            "report": report, "models": models, "readable": readable, "unreadable": unreadable,
            "too_short": too_short}  # fmt: skip


def test_writes_table_json_and_report(run):
    assert run["status"] == 0
    lines = run["stdout"].splitlines()
    assert "R² vw" in lines[0] and "frames" in lines[0]
    for corpus in ("esd", "emodb"):
        for feature in FEATURES:
            assert any(line.split()[:2] == [corpus, feature] for line in lines), (corpus, feature)

    data = json.loads(run["json"].read_text())
    assert {"corpora", "fins", "skipped", "energy", "band_limited", "config"} <= set(data)
    assert set(data["corpora"]) == {"esd", "emodb"}
    for corpus, features in data["corpora"].items():
        assert list(features) == list(FEATURES)
        for feature, m in features.items():
            assert set(m) == SPEC_KEYS
            assert len(m["per_output"]) == FEATURE_DIMS[feature]
    assert set(data["fins"]) == set(FEATURES)
    for feature, d in data["fins"].items():
        assert {"source", "arch", "params"} <= set(d) and d["params"] > 0
    assert data["fins"]["rms"]["arch"] == "spectral" and data["fins"]["zcr"]["arch"] == "compact"
    assert data["fins"]["zcr"]["source"].endswith("zcr_model.keras")

    energy = data["energy"]["esd"]
    assert len(energy["frames"]) == len(energy["bins"]) == 4 and all(n > 0 for n in energy["frames"])
    assert sum(energy["frames"]) == data["corpora"]["esd"]["rms"]["frames"]
    assert set(energy["features"]) == set(FEATURES)
    band = data["band_limited"]["esd"]
    assert band["files"] == 2 and set(band["features"]) == set(FEATURES)
    assert band["features"]["mfcc"]["r2"] > 0.99  # the exact FIN stays exact on band-limited input

    report = run["report"]
    names = {p.name for p in report.iterdir()}
    for corpus in ("esd", "emodb"):
        expected = {f"{corpus}_{f}_r2.png" for f in ("chroma", "mfcc", "mel")}
        expected |= {f"{corpus}_{f}_utterance.png" for f in FEATURES} | {f"{corpus}_energy.png", f"{corpus}_band_limited.png"}
        assert expected <= names, expected - names
    assert not [n for n in names if ".tmp" in n]
    readme = (report / "README.md").read_text()
    for png in (n for n in names if n.endswith(".png")):
        assert f"]({png})" in readme, png
    assert json.loads((report / "results.json").read_text())["corpora"] == data["corpora"]


def test_r2_equals_sklearn(run):
    import keras

    from data_prep.audio import load_audio
    from data_prep.targets import frame_signal, targets_from_frames

    data = json.loads(run["json"].read_text())
    for corpus, paths in run["readable"].items():
        frames = np.concatenate([frame_signal(load_audio(p)) for p in paths])
        targets = targets_from_frames(frames)
        for feature, model in run["models"].items():
            got = data["corpora"][corpus][feature]
            y = targets[feature].astype(np.float64)
            pred = np.asarray(keras.ops.convert_to_numpy(model(frames, training=False)), dtype=np.float64)
            assert got["frames"] == len(frames)
            assert got["r2"] == pytest.approx(r2_score(y, pred), rel=1e-4, abs=1e-6), (corpus, feature)
            assert got["r2_vw"] == pytest.approx(r2_score(y, pred, multioutput="variance_weighted"), rel=1e-4, abs=1e-6)
            np.testing.assert_allclose(got["per_output"], r2_score(y, pred, multioutput="raw_values"), rtol=1e-4, atol=1e-6)
            # float32 round-off of an exact FIN differs with the batch size: compare MSE on the targets' scale
            assert got["mse"] == pytest.approx(mean_squared_error(y, pred), rel=1e-4, abs=1e-6 * np.mean(y**2))
    # the closed-form FINs are librosa: the frames and targets line up
    assert data["corpora"]["esd"]["rms"]["r2"] > 0.999 and data["corpora"]["emodb"]["mfcc"]["r2"] > 0.99


def test_corpus_with_unreadable_files_still_reports(run):
    data = json.loads(run["json"].read_text())
    skipped = {s["path"]: s["reason"] for s in data["skipped"]["emodb"]}
    assert set(skipped) == {str(run["unreadable"]), str(run["too_short"])}
    assert "unreadable" in skipped[str(run["unreadable"])] and "too short" in skipped[str(run["too_short"])]
    assert data["skipped"]["esd"] == []
    assert data["corpora"]["emodb"]["rms"]["frames"] > 0
    assert str(run["unreadable"]) in run["stderr"]
    assert str(run["unreadable"]) in (run["report"] / "README.md").read_text()


@pytest.mark.parametrize("argv, named", [
    (["--corpus", "nope=/tmp"], "nope"),
    (["--corpus", "esd=/no/such/folder"], "/no/such/folder"),
    (["--max-files", "0"], "--max-files"),
    (["--fins", "/no/such/model.keras"], "/no/such/model.keras"),
    (["--fins", "no_such_preset"], "no_such_preset"),
])  # fmt: skip
def test_bad_arguments_exit_2_naming_the_value(argv, named, tmp_path, capsys):
    from experiments.generalization import main

    write_tone(tmp_path / "esd" / "0011" / "Sad" / "0011_001051.wav", sr=16000)
    argv = [a.replace("esd=/tmp", f"esd={tmp_path / 'esd'}") for a in argv]
    if "--corpus" not in argv:
        argv = ["--corpus", f"esd={tmp_path / 'esd'}", *argv]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert named in capsys.readouterr().err


def test_folder_with_two_fins_for_one_feature_is_refused(tmp_path):
    import fin
    from experiments.generalization import GeneralizationError, resolve_fins

    for name in ("rms_a", "rms_b"):
        (tmp_path / name).mkdir()
        fin.build_model("rms", "spectral", init="closed-form").save(tmp_path / name / "model.keras")
    with pytest.raises(GeneralizationError, match="more than one rms FIN"):
        resolve_fins([str(tmp_path)])
    assert list(resolve_fins([str(tmp_path / "rms_a")])) == ["rms"]
