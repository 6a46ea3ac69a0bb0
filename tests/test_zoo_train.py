"""ser.train on the tiny demo corpus: every file a run writes, no scaler sees test rows, FIN front end = librosa."""

import json

import numpy as np
import pytest

from data_prep.demo import generate_demo_corpus
from ser import train as ser_train

RUN_FILES = ["metrics.json", "run.json", "config.yaml", "ser_model.json", "confusion.png", "learning_curves.png",
             "predictions.csv"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("zoo")
    root = generate_demo_corpus(base / "demo", n_speakers=3, utterances_per_emotion=1)
    return {"root": root, "cache": base / "cache", "base": base}


def _args(demo, out, *extra):
    return ["--corpus", f"ravdess={demo['root']}", "--duration", "0.6", "--epochs", "1", "--batch-size", "8",
            "--protocol", "speaker-kfold", "--folds", "2", "--out", str(out), "--cache-dir", str(demo["cache"]),
            "--workers", "1", "--quiet", *extra]


def _config(demo, *extra):
    parser = ser_train.build_parser()
    args = parser.parse_args(_args(demo, demo["base"] / "unused", *extra))
    from ser.training import config_from_args

    return ser_train.resolve(config_from_args(parser, args, {**ser_train.TRAIN_DEFAULTS,
                                                             **dict.fromkeys(ser_train.DELEGATED_OPTIONS)}))


def _check_run(out, n_folds=2):
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["folds"]) == n_folds and metrics["protocol"] == "speaker-kfold" and not metrics["leaky"]
    assert 0 <= metrics["ua"] <= 1 and np.array(metrics["confusion"]).shape == (8, 8)
    return metrics


# ps_ac1d_fif runs in the scaler test, crema_cnn2d in the FIN front-end test: one run per model on the demo corpus
@pytest.mark.parametrize("model", ["crema_cnn1d"])
def test_keras_zoo_model_runs_and_writes_every_file(demo, model):
    out = demo["base"] / model
    assert ser_train.main(_args(demo, out, "--model", model, "--no-augment")) == 0
    _check_run(out)
    card = json.loads((out / "ser_model.json").read_text())
    assert card["kind"] == model and card["model"] == model and card["frontend"] == "librosa"
    assert (out / "folds" / json.loads((out / "metrics.json").read_text())["folds"][0]["name"] / "model.keras").is_file()


def test_seed_training_settings_are_the_defaults_and_flags_override(demo):
    config = _config(demo, "--model", "ps_ac1d_fif")
    assert (config["optimizer"], config["lr"], config["lr_decay"], config["batch_size"]) == ("rmsprop", 1e-5, 1e-6, 8)
    assert _config(demo, "--model", "ps_ac1d_fif", "--optimizer", "adam")["optimizer"] == "adam"


def test_opensmile_svm_runs_and_writes_every_file(demo, capsys):
    out = demo["base"] / "svm"
    assert ser_train.main(_args(demo, out, "--model", "opensmile_svm", "--feature-set", "egemaps")) == 0
    metrics = _check_run(out)
    assert metrics["speaker_norm"] is True
    fold = metrics["folds"][0]["name"]
    assert (out / "folds" / fold / "model.joblib").is_file()
    assert json.loads((out / "folds" / fold / "svm.json").read_text())["C"] > 0
    # --resume reads every finished fold back (the same fold loop as ser.finetune's)
    capsys.readouterr()
    assert ser_train.main(_args(demo, out, "--model", "opensmile_svm", "--feature-set", "egemaps", "--resume")) == 0
    assert capsys.readouterr().out.count("read back from") == len(metrics["folds"])
    assert json.loads((out / "metrics.json").read_text())["folds"] == metrics["folds"]


@pytest.mark.parametrize(("model", "module", "job"), [("fin", "finetune", "finetune"),
                                                     ("baseline", "baseline", "baseline")])
def test_fin_and_baseline_rows_run_their_own_commands(demo, monkeypatch, model, module, job):
    # their runs are tested in test_ser_cli.py; here: ser.train hands their own resolved configuration to them
    import importlib

    target = importlib.import_module(f"ser.{module}")
    calls = []
    monkeypatch.setattr(target, job, lambda config, **kwargs: calls.append(config))
    extra = ["--freeze", "all", "--fins", "learned"] if model == "fin" else ["--features", "frames"]
    assert ser_train.main(_args(demo, demo["base"] / model, "--model", model, *extra)) == 0
    (config,) = calls
    assert "model" not in config and config["out"] == str(demo["base"] / model)
    assert config == target.resolve(dict(config))  # a configuration of that command
    if model == "fin":
        assert config["freeze"] == "all" and config["fins"] == "learned"
    else:
        assert config["features"] == "frames"


@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "ps_ac1d_fif", "--frontend", "fin"], "--frontend fin is not available for ps_ac1d_fif"),
    (["--model", "opensmile_svm"], "opensmile_svm needs --feature-set"),
    (["--model", "crema_cnn1d", "--feature-set", "compare"], "--feature-set is for opensmile_svm only"),
    (["--model", "crema_cnn1d", "--freeze", "all"], "--freeze (--model fin only): not an option of crema_cnn1d"),
    (["--model", "fin", "--features", "frames"], "--features do not apply to it"),
    (["--model", "baseline", "--frontend", "fin"], "--frontend do not apply to it"),
    (["--model", "nope"], "invalid choice: 'nope'"),
])
def test_bad_arguments_exit_2(demo, extra, message, capsys):
    with pytest.raises(SystemExit) as err:
        ser_train.main(_args(demo, demo["base"] / "bad", *extra))
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_help_lists_every_model_from_the_registry(capsys):
    from ser.zoo import MODELS

    with pytest.raises(SystemExit):
        ser_train.main(["--help"])
    text = capsys.readouterr().out
    for name, model in MODELS.items():
        assert f"  {name}" in text and model.summary[:30] in text


# --- no scaler ever sees test data --------------------------------------------------------------------------


def test_utterance_scaler_is_fit_on_training_rows_only(demo):
    import keras

    from ser.training import run
    from ser.zoo.inputs import UtteranceFeatureInputs

    seen = []

    class Recording(UtteranceFeatureInputs):
        def start_fold(self, train_rows):
            super().start_fold(train_rows)
            seen.append((np.array(self.scaler_rows), self.features[self.scaler_rows].mean(axis=0)))

    out = demo["base"] / "scaler"
    config = _config(demo, "--model", "ps_ac1d_fif")
    config["out"] = str(out)
    run(config, "ps_ac1d_fif", Recording, verbose=0, progress=False, log=lambda text: None)
    metrics = _check_run(out)
    from ser.data import ClipCache

    cache = ClipCache(json.loads((out / "run.json").read_text())["cache"])
    paths = [u.path for u in cache.utterances]
    assert len(seen) == len(metrics["folds"]) == 2
    for (rows, mean), fold in zip(seen, metrics["folds"]):
        test_files = {i for i, p in enumerate(paths) if f"{cache.utterances[i].corpus}:{cache.utterances[i].speaker}"
                      in fold["test_speakers"]}
        assert test_files and not set(cache.source[rows]) & test_files  # no test speaker's row, copy or original
        assert len(rows) == fold["n_train_clips"]
        saved = keras.saving.load_model(out / "folds" / fold["name"] / "model.keras")
        np.testing.assert_allclose(np.ravel(saved.get_layer("scaler").mean), mean, rtol=1e-5, atol=1e-6)
    cache.close()


def test_svm_scaler_is_fit_on_training_rows_only(demo, tmp_path):
    from ser.training import load_run_data
    from ser.zoo.features import cached_features
    from ser.zoo.svm import SVMFold, speaker_normalised

    config = _config(demo, "--model", "opensmile_svm", "--feature-set", "egemaps")
    data = load_run_data(config, log=lambda text: None)
    x, speakers = speaker_normalised(cached_features(data.cache, "opensmile", "egemaps"), data.cache)
    fold = SVMFold(config, data, x, speakers)
    for plan in data.folds:
        outcome = fold.fit(plan, tmp_path)
        rows = fold.scaler_rows[-1]
        assert not set(rows) & set(outcome.test_rows)
        assert not set(data.cache.source[rows]) & set(plan.test)
        import joblib

        scaler = joblib.load(tmp_path / "model.joblib")[0]
        np.testing.assert_allclose(scaler.mean_, x[rows].mean(axis=0), rtol=1e-5, atol=1e-5)
    data.cache.close()


# --- the FIN front end computes librosa's features ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["crema_frames", "mel_power"])
def test_fin_frontend_equals_librosa_frontend(demo, kind):
    import keras

    from ser.training import load_run_data
    from ser.zoo.features import cached_features
    from ser.zoo.layers import clip_power_to_db
    from ser.zoo.models import build_frontend

    cache = load_run_data(_config(demo, "--model", "crema_cnn1d", "--no-augment"), log=lambda text: None).cache
    rows = np.arange(0, len(cache), max(1, len(cache) // 6))
    librosa_side = cached_features(cache, kind)[rows]
    fin_side = keras.ops.convert_to_numpy(build_frontend(kind, cache.settings.n_frames)(cache.frames(rows)))
    cache.close()
    assert fin_side.shape == librosa_side.shape
    if kind == "mel_power":  # what the model uses: dB relative to each clip's maximum
        got, expected = (keras.ops.convert_to_numpy(clip_power_to_db(v)) for v in (fin_side, librosa_side))
        np.testing.assert_allclose(got, expected, atol=0.05)  # dB
        return
    np.testing.assert_allclose(fin_side[..., :2], librosa_side[..., :2], rtol=1e-3, atol=1e-5)  # zcr, rms
    mfcc_scale = np.abs(librosa_side[..., 2:15]).max()
    np.testing.assert_allclose(fin_side[..., 2:15], librosa_side[..., 2:15], rtol=1e-3, atol=1e-3 * mfcc_scale)
    np.testing.assert_allclose(fin_side[..., 15], librosa_side[..., 15], rtol=1e-3, atol=1e-2)  # Hz


def test_fin_frontend_trains_with_the_classifier(demo):
    out = demo["base"] / "cnn2d_fin"
    assert ser_train.main(_args(demo, out, "--model", "crema_cnn2d", "--frontend", "fin", "--no-augment")) == 0
    _check_run(out)
    card = json.loads((out / "ser_model.json").read_text())
    assert card["input"] == "frames" and card["frontend"] == "fin"
