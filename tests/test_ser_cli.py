"""SER command lines on the tiny demo corpus: every output written, speaker-independent folds, predict."""

import csv
import json

import numpy as np
import pytest
import soundfile
import yaml

from data_prep.demo import generate_demo_corpus
from ser import baseline as ser_baseline
from ser import finetune as ser_finetune
from ser import predict as ser_predict
from ser.training import config_from_args

RUN_FILES = ["metrics.json", "run.json", "config.yaml", "ser_model.json", "confusion.png", "confusion.json",
             "learning_curves.png", "learning_curves.json", "predictions.csv"]
FOLD_FILES = ["metrics.json", "history.csv", "model.keras", "confusion.png", "confusion.json", "learning_curves.png"]
METRIC_KEYS = {"ua", "wa", "macro_f1", "weighted_f1", "per_class", "labels", "confusion", "folds", "protocol", "leaky",
               "speaker_norm"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("ser_cli")
    root = generate_demo_corpus(base / "demo", n_speakers=3, utterances_per_emotion=1)
    return {"root": root, "cache": base / "cache", "base": base}


def _args(demo, out, *extra):
    return ["--corpus", f"ravdess={demo['root']}", "--duration", "0.6", "--epochs", "1", "--batch-size", "8",
            "--out", str(out), "--cache-dir", str(demo["cache"]), "--workers", "1", "--quiet", *extra]


def _check_run(out, n_folds, protocol, leaky=False):
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    assert metrics["protocol"] == protocol and metrics["leaky"] is leaky
    assert len(metrics["folds"]) == n_folds
    labels = metrics["labels"]
    assert labels == ["angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert np.array(metrics["confusion"]).shape == (8, 8)
    assert 0 <= metrics["ua"] <= 1 and 0 <= metrics["wa"] <= 1
    with open(out / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(np.array(metrics["confusion"]).ravel()) == len(rows)
    for fold in metrics["folds"]:
        folder = out / "folds" / fold["name"]
        for name in FOLD_FILES:
            assert (folder / name).is_file(), (fold["name"], name)
        fold_metrics = json.loads((folder / "metrics.json").read_text())
        assert fold_metrics["ua"] == fold["ua"]
        if not leaky:  # speaker independent: test speakers never in training or validation
            assert not set(fold["test_speakers"]) & set(fold["val_speakers"])
            assert {r["speaker"] for r in rows if r["fold"] == fold["name"]} == set(fold["test_speakers"])
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["duration"] == 0.6 and config["epochs"] == 1
    return metrics


@pytest.fixture(scope="module")
def frozen_run(demo):
    out = demo["base"] / "frozen"
    assert ser_finetune.main(_args(demo, out, "--freeze", "all", "--final-model")) == 0
    return out


def test_finetune_frozen_writes_every_file(frozen_run, capsys):
    metrics = _check_run(frozen_run, 3, "loso")
    assert (frozen_run / "final" / "model.keras").is_file()  # --final-model
    card = json.loads((frozen_run / "ser_model.json").read_text())
    assert card["kind"] == "finetune" and card["freeze"] == "all" and card["input"] == "fin_features"
    assert card["clip"]["n_frames"] == 26 and card["final_model"] == "final/model.keras"
    assert [f["name"] for f in metrics["folds"]] == ["ravdess-01", "ravdess-02", "ravdess-03"]


def test_finetune_end_to_end_through_the_fins(demo, capsys):
    out = demo["base"] / "tuned"
    assert ser_finetune.main(_args(demo, out, "--freeze", "none", "--protocol", "split")) == 0
    _check_run(out, 1, "split")
    card = json.loads((out / "ser_model.json").read_text())
    assert card["input"] == "frames" and card["freeze"] == "none"
    assert "LEAKY" not in capsys.readouterr().out


@pytest.fixture(scope="module")
def baseline_run(demo):
    out = demo["base"] / "baseline"
    assert ser_baseline.main(_args(demo, out, "--protocol", "speaker-kfold", "--folds", "2")) == 0
    return out


def test_baseline_writes_every_file(baseline_run):
    _check_run(baseline_run, 2, "speaker-kfold")
    assert json.loads((baseline_run / "ser_model.json").read_text())["kind"] == "baseline"


def test_leaky_split_is_labelled_everywhere(demo, capsys):
    out = demo["base"] / "leaky"
    assert ser_baseline.main(_args(demo, out, "--leaky-file-split", "--no-augment")) == 0
    printed = capsys.readouterr().out
    assert "LEAKY" in printed
    metrics = _check_run(out, 1, "split", leaky=True)
    assert metrics["folds"][0]["name"] == "file-split" and metrics["folds"][0]["leaky"] is True
    assert json.loads((out / "ser_model.json").read_text())["leaky"] is True


@pytest.mark.parametrize("argv, message", [
    (["--freeze", "pitch"], "pitch"),
    (["--protocol", "loso", "--leaky-file-split"], "leaky"),
    (["--epochs", "0"], "epochs"),
    (["--corpus", "nosuchcorpus=/tmp"], "nosuchcorpus"),
    (["--duration", "0.01"], "0.01"),
    (["--speaker-norm"], "--freeze all"),  # fine-tuned FINs: the speaker statistics would move every step
    (["--speaker-norm", "--freeze", "all", "--pooling", "attention"], "attention"),
    (["--compress", "sqrt"], "sqrt"),
    (["--freeze", "all", "--head", "svm"], "--speaker-norm"),  # the SVM is fitted on fixed normalised vectors
    (["--freeze", "all", "--speaker-norm", "--head", "svm", "--feature-norm", "batchnorm"], "feature_norm"),
])
def test_bad_options_exit_2_naming_the_value(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        ser_finetune.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture(scope="module")
def long_file(demo):
    """About 9 s of audio: four demo utterances in a row."""
    signals = [soundfile.read(p, dtype="float32")[0] for p in sorted(demo["root"].glob("Actor_01/*.wav"))[:4]]
    path = demo["base"] / "long.wav"
    soundfile.write(path, np.concatenate(signals), 22050)
    return path


def test_predict_long_file_gives_a_timeline(frozen_run, long_file, capsys):
    assert ser_predict.main([str(long_file), "--model", str(frozen_run), "--window", "0.6", "--hop", "0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (result,) = report["files"]
    seconds = soundfile.info(long_file).duration
    assert result["seconds"] == pytest.approx(seconds, abs=1e-3)
    timeline = result["timeline"]
    assert len(timeline) >= int((seconds - 0.6 - 0.6) / 0.5)
    assert timeline[0]["start"] == pytest.approx(0.6) and timeline[-1]["end"] == pytest.approx(seconds, abs=1e-3)
    assert result["emotion"] in report["labels"]
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert report["real_time_factor"] > 0 and report["models"] == ["final/model.keras"]


def test_predict_reports_unreadable_files_and_continues(demo, baseline_run, capsys):
    bad = demo["base"] / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    good = sorted(demo["root"].glob("Actor_02/*.wav"))[0]
    model = baseline_run
    status = ser_predict.main([str(bad), str(good), "--model", str(model)])
    captured = capsys.readouterr()
    assert status == 0
    assert f"error: {bad}" in captured.err and "unreadable" in captured.err
    assert str(good) in captured.out and "real-time factor" in captured.out and "1 file(s) failed" in captured.out
    assert ser_predict.main([str(bad), "--model", str(model)]) == 1  # nothing predicted
    with pytest.raises(SystemExit) as exc:
        ser_predict.main([str(good), "--model", str(demo["base"])])  # not a model folder
    assert exc.value.code == 2


def test_yaml_defaults_flags_override_and_a_saved_config_replays(frozen_run, tmp_path, capsys):
    parser = ser_finetune.build_parser()
    path = tmp_path / "ser.yaml"
    path.write_text("epochs: 3\nlr: 0.001\npooling: stats\nfreeze: mel,mfcc\n")
    args = parser.parse_args(["--config", str(path), "--epochs", "5"])
    config = ser_finetune.resolve(config_from_args(parser, args, ser_finetune.FINETUNE_DEFAULTS))
    assert (config["epochs"], config["lr"], config["pooling"], config["freeze"]) == (5, 0.001, "stats", "mfcc,mel")
    assert config["out"] == "runs/ser/finetune-mfcc+mel-pretrained"
    saved = yaml.safe_load((frozen_run / "config.yaml").read_text())
    assert ser_finetune.resolve(saved) == saved  # a run's config.yaml is a complete, valid config
    path.write_text("epochz: 3\n")
    with pytest.raises(SystemExit) as exc:
        ser_finetune.main(["--config", str(path)])
    assert exc.value.code == 2 and "epochz" in capsys.readouterr().err


def test_speaker_normalised_runs_and_predict_adapts_to_the_speaker(demo, capsys):
    """--speaker-norm: runs for frozen FINs and the baseline, labelled; predict normalises with the inputs' stats."""
    import keras

    import ser  # noqa: F401  (registers the layers)

    out = demo["base"] / "speaker_norm"
    extra = ("--speaker-norm", "--head", "mlp", "--compress", "log", "--pooling", "stats")
    assert ser_finetune.main(_args(demo, out, "--freeze", "all", *extra)) == 0
    metrics = _check_run(out, 3, "loso")
    assert metrics["speaker_norm"] is True
    assert "speaker-normalised" in capsys.readouterr().out
    card = json.loads((out / "ser_model.json").read_text())
    assert card["speaker_norm"] is True and card["head"] == "mlp" and card["compress"] == "log"
    # the saved fold model holds its training speakers' statistics, not the layer's zeros and ones
    model = keras.saving.load_model(out / "folds" / "ravdess-01" / "model.keras", compile=False)
    layer = model.get_layer("classifier").get_layer("speaker_norm")
    assert layer.mean.shape == (2 * 162,) and np.abs(keras.ops.convert_to_numpy(layer.mean)).max() > 0.1

    files = str(demo["root"] / "Actor_03")
    argv = [files, "--model", str(out), "--window", "0.6", "--hop", "0.3", "--json"]
    assert ser_predict.main(argv) == 0
    adapted = json.loads(capsys.readouterr().out)
    assert ser_predict.main(argv + ["--no-speaker-adapt"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert adapted["speaker_adapted"] is True and stored["speaker_adapted"] is False
    assert len(adapted["files"]) == len(stored["files"]) == 8
    p_adapted = np.array([list(f["probabilities"].values()) for f in adapted["files"]])
    p_stored = np.array([list(f["probabilities"].values()) for f in stored["files"]])
    assert not np.allclose(p_adapted, p_stored, atol=1e-3)

    base = demo["base"] / "speaker_norm_baseline"
    assert ser_baseline.main(_args(demo, base, "--speaker-norm", "--head", "mlp", "--protocol", "speaker-kfold",
                                   "--folds", "2")) == 0
    assert _check_run(base, 2, "speaker-kfold")["speaker_norm"] is True
    capsys.readouterr()
    assert ser_predict.main([files, "--model", str(base), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["speaker_adapted"] is True


@pytest.fixture(scope="module")
def frames_baseline_run(demo):
    """The fair baseline with the recipe options: librosa frame features, stats pooling, log, speaker norm, MLP."""
    out = demo["base"] / "baseline_frames"
    assert ser_baseline.main(_args(demo, out, "--features", "frames", "--pooling", "stats", "--compress", "log",
                                   "--speaker-norm", "--head", "mlp", "--final-model")) == 0
    return out


def test_frame_baseline_writes_every_file_and_predict_computes_its_features(frames_baseline_run, demo, capsys):
    """The saved classifier takes librosa frame features; ser.predict computes them as training did."""
    import keras

    from ser.data import ClipCache
    from ser.features import librosa_frame_features

    out = frames_baseline_run
    metrics = _check_run(out, 3, "loso")
    assert metrics["speaker_norm"] is True
    card = json.loads((out / "ser_model.json").read_text())
    assert (card["kind"], card["input"], card["features"], card["pooling"]) == ("baseline", "librosa_frames", "frames",
                                                                                "stats")
    # predict's features of a training clip equal the cached ones: the final model gives the same probabilities
    predictor = ser_predict.Predictor(out)
    assert predictor.model_files == ["final/model.keras"] and predictor.note is None
    cache = ClipCache(json.loads((out / "run.json").read_text())["cache"])
    rows = np.flatnonzero(cache.copy == "original")[:3]
    features, masks = librosa_frame_features(cache)[rows], cache.frame_masks(rows)
    model = keras.saving.load_model(out / "final" / "model.keras", compile=False)
    expected = np.asarray(model.predict_on_batch([features, masks]))
    clips = [cache.clips([r])[0, : cache.lengths[r]] for r in rows]
    np.testing.assert_allclose(predictor.predict_clips(clips), expected, rtol=1e-5, atol=1e-6)
    cache.close()
    files = str(demo["root"] / "Actor_02")
    assert ser_predict.main([files, "--model", str(out), "--window", "0.6", "--hop", "0.3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input"] == "librosa_frames" and report["speaker_adapted"] is True and len(report["files"]) == 8


def test_baseline_feature_options_are_checked(demo, capsys):
    for argv, message in ((["--features", "mfcc"], "mfcc"), (["--pooling", "stats"], "--features frames"),
                          (["--no-mask-padding"], "--features frames")):
        with pytest.raises(SystemExit) as exc:
            ser_baseline.main(_args(demo, demo["base"] / "never", *argv))
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (demo["base"] / "never").exists()


def test_predict_uses_one_model_unless_asked(baseline_run, demo, capsys):
    """No final model: one fold model (the one trained on most files) named in a note; ensemble only when asked."""
    good = str(sorted(demo["root"].glob("Actor_02/*.wav"))[0])
    folds = json.loads((baseline_run / "metrics.json").read_text())["folds"]
    most = max(folds, key=lambda f: f["n_train_files"])["name"]  # speaker k-fold: the folds differ in size
    assert ser_predict.main([good, "--model", str(baseline_run), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["models"] == [f"folds/{most}/model.keras"]
    assert "no final model" in captured.err and f"folds/{most}/model.keras" in captured.err
    assert "--models ensemble" in captured.err and report["models_note"] in captured.err
    assert ser_predict.main([good, "--model", str(baseline_run), "--models", "ensemble", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["models"] == [f"folds/{f['name']}/model.keras" for f in folds]
    assert "note" not in captured.err
    other = next(f["name"] for f in folds if f["name"] != most)
    assert ser_predict.main([good, "--model", str(baseline_run), "--models", other, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == [f"folds/{other}/model.keras"]
    for choice, message in (("final", "no final model"), ("fold9", "'fold9' is not a model")):
        with pytest.raises(SystemExit) as exc:
            ser_predict.main([good, "--model", str(baseline_run), "--models", choice])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and "ensemble" in err


def test_the_best_recipe_config_runs_and_its_final_model_predicts(demo, tmp_path, capsys):
    from pathlib import Path

    best = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "ser_best.yaml"
    options = yaml.safe_load(best.read_text())
    out = tmp_path / "best"
    assert ser_finetune.main(["--config", str(best), *_args(demo, out, "--final-model", "--protocol", "split")]) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    given = {"duration"}  # _args sets the clip length on the command line, which overrides the file
    assert {k: config[k] for k in options if k not in given} == {k: v for k, v in options.items() if k not in given}
    assert config["duration"] == 0.6
    assert (out / "final" / "model.keras").is_file()
    svm = json.loads((out / "final" / "svm.json").read_text())  # the SVM head: C chosen on the training speakers
    assert svm["C"] in svm["grid"] and len(svm["inner_cv_ua"]) == len(svm["grid"])
    good = sorted(demo["root"].glob("Actor_01/*.wav"))[:2]
    capsys.readouterr()
    assert ser_predict.main([*map(str, good), "--model", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["files"]) == 2 and all(r["emotion"] in config_labels(out) for r in result["files"])


def config_labels(out):
    return json.loads((out / "ser_model.json").read_text())["labels"]


def test_a_killed_run_resumes_from_its_finished_folds(demo, tmp_path, capsys):
    out = tmp_path / "run"
    assert ser_baseline.main(_args(demo, out)) == 0
    first = json.loads((out / "metrics.json").read_text())
    folds = sorted(p for p in (out / "folds").iterdir())
    assert len(folds) == 3 and all((p / "outcome.npz").is_file() for p in folds)
    # as if killed while training the last fold: its outcome.npz and the pooled outputs were never written
    (folds[-1] / "outcome.npz").unlink()
    (out / "metrics.json").unlink()
    capsys.readouterr()
    assert ser_baseline.main(_args(demo, out, "--resume")) == 0
    log = capsys.readouterr().out
    assert log.count("read back from") == 2 and f"fold {folds[-1].name}: read back" not in log
    again = json.loads((out / "metrics.json").read_text())
    assert [f["name"] for f in again["folds"]] == [f["name"] for f in first["folds"]]
    for a, b in zip(first["folds"][:2], again["folds"][:2]):  # read back, not retrained: the same record
        assert a == b
    assert (folds[-1] / "outcome.npz").is_file()
    # other options than the run folder's: refused before any work, naming the option
    with pytest.raises(SystemExit) as exit_info:
        ser_baseline.main(_args(demo, out, "--resume", "--lr", "0.01"))
    assert exit_info.value.code == 2
    assert "lr 0.0005 there, 0.01 now" in capsys.readouterr().err
