"""The learned FINs (arch ``quadratic``, the ``teacher`` recipe, the ``learned`` preset family): they build,
learn, round-trip, start from no closed-form operator, and the shipped ones beat thresholds on real speech."""

import json

import keras
import numpy as np
import pytest

import fin
from data_prep.targets import FEATURES, targets_from_frames
from fin.metrics import R2Accumulator


def _frames(rng, n=64):
    t = np.arange(2048) / 22050
    f0 = rng.uniform(100, 400, (n, 1))
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    return (0.1 * tone + 0.01 * rng.standard_normal((n, 2048))).astype(np.float32)


@pytest.mark.parametrize("feature", FEATURES)
def test_quadratic_builds_runs_and_round_trips(tmp_path, rng, feature):
    model = fin.build_model(feature, "quadratic", seed=3)
    x = _frames(rng, 8)
    y = model(x).numpy()
    assert y.shape == (8, fin.get_feature(feature).dim) and np.all(np.isfinite(y))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again(x).numpy(), y, rtol=1e-5, atol=1e-6 * np.abs(y).max())


def test_quadratic_cost_is_within_the_budget():
    """At most about 4 M multiply-adds per frame: the dense layers' weights bound them here."""
    for feature in FEATURES:
        assert fin.build_model(feature, "quadratic", seed=0).count_params() <= 4.2e6, feature


def test_quadratic_init_holds_no_closed_form_operator():
    """The learned basis starts uncorrelated with the DFT (Hann-windowed or not); no spectral layer is in it."""
    model = fin.build_model("mfcc", "quadratic", seed=0)
    basis = model.get_layer("basis").kernel.numpy()  # (2048, 1024)
    n = np.arange(2048)
    k = np.arange(1025)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 2048)
    dft = np.concatenate([np.cos(2 * np.pi * k * n / 2048), np.sin(2 * np.pi * k[1:-1] * n / 2048)])
    for rows in (dft, dft * window):
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        cols = basis / np.linalg.norm(basis, axis=0, keepdims=True)
        corr = np.abs(rows @ cols)
        # random directions in 2048 dimensions: |corr| ~ 0.02; a DFT row in the basis would give 1
        assert corr.max() < 0.15 and corr.mean() < 0.03
    names = {type(layer).__name__ for layer in model.layers}
    assert not names & {"FrameWindow", "FactorisedDFT", "Filterbank", "DCT", "TunedChromaFilterbank", "WeightedRMS"}
    assert np.all(model.get_layer("bank").log_kernel.numpy().std(axis=0) > 0.5)  # random, not a triangular bank


def test_teacher_batches_are_labelled_exactly_by_the_closed_form(rng):
    import tensorflow as tf

    from fin.teacher import mix_batch, teacher_dataset

    frames = _frames(rng, 16)
    mixed = mix_batch(tf.constant(frames), tf.constant([1, 2], tf.int64)).numpy()
    assert mixed.shape == frames.shape and np.all(np.isfinite(mixed))
    assert not np.allclose(mixed[8:], frames[8:])  # augmented, not copied
    dataset = tf.data.Dataset.from_tensors((tf.constant(frames), tf.zeros((16, 20))))
    x, y = next(iter(teacher_dataset(dataset, "mfcc", "seed", seed=0)))
    reference = targets_from_frames(x.numpy())["mfcc"]
    np.testing.assert_allclose(y.numpy(), reference, atol=0.05 * np.abs(reference).max())
    # every batch gets a new draw
    first, second = (b[0].numpy() for b in teacher_dataset(dataset.repeat(2), "rms", "seed", seed=0))
    assert not np.allclose(first, second)


def test_relative_energy_loss_weighs_every_level_alike():
    from fin.losses import RelativeEnergyLoss

    loss = RelativeEnergyLoss()
    y = np.array([[1.0, 2.0, 3.0]], np.float32)
    pred = y * 1.1
    a = float(keras.ops.mean(loss.call(y, pred)))
    b = float(keras.ops.mean(loss.call(y * 1e-6, pred * 1e-6)))
    assert a == pytest.approx(b, rel=1e-4) and a > 0


def test_default_fin_train_uses_quadratic_with_the_teacher_and_learns(tmp_path, tiny_store):
    from fin.train import main

    out = tmp_path / "run"
    assert main(["--feature", "rms", "--data", str(tiny_store), "--out", str(out), "--epochs", "4",
                 "--steps-per-epoch", "40", "--batch-size", "64", "--lr", "1e-2"]) == 0
    config = (out / "config.yaml").read_text()
    assert "arch: quadratic" in config and "recipe: teacher" in config
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arch"] == "quadratic" and metrics["r2"] > 0.9  # RMS is learnable in a few hundred steps
    history = (out / "history.csv").read_text().splitlines()
    assert "val_r2" in history[0] and "wall_seconds" in history[0]


def test_time_budget_stops_training(tmp_path, tiny_store):
    from fin.train import train

    metrics = train({"feature": "zcr", "data": str(tiny_store), "out": str(tmp_path / "run"), "epochs": 1000,
                     "steps_per_epoch": 2, "batch_size": 16, "time_budget": 0.01}, verbose=0)
    rows = (tmp_path / "run" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 2 and metrics["arch"] == "quadratic"  # header + the one epoch that passed the budget


def test_list_presets_shows_both_families():
    presets = fin.list_presets()
    assert set(presets) == {"closed-form", "learned"}
    assert set(presets["closed-form"]) == set(FEATURES)
    assert fin.list_presets("presets") == presets["closed-form"]
    for family, index in presets.items():
        for name, meta in index.items():
            assert meta["init"] == ("random" if family == "learned" else "closed-form")
            assert {"arch", "params", "training_data", "recipe", "test"} <= set(meta)
    with pytest.raises(fin.FINError, match="closed-form, learned"):
        fin.list_presets("nope")


def test_learned_presets_train_time_and_command_are_recorded():
    index = fin.list_presets("learned")
    assert set(index) == set(FEATURES)
    for name, meta in index.items():
        assert meta["arch"] == "quadratic" and meta["recipe"]["name"] == "teacher"
        assert 0 < meta["recipe"]["train_seconds"] <= 20 * 60
        assert meta["recipe"]["command"].startswith("python -m experiments.presets --family learned")


#: What a learned preset must reach on real speech it never saw (R²; variance-weighted for mel, and for MFCC, whose
#: uniform R² the learned family does not yet bring above 0 on every speaker). Measured on these frames: rms .9985,
#: zcr 1.0, chroma .744, mfcc (vw) .723, mel (vw) .981. The same architectures untrained: rms .987 (a positive
#: weighting at a fan-in scale averages squares in expectation, hence the tight floor), zcr -21.8, chroma -.50,
#: mfcc (vw) -1.57, mel (vw) -.05.
LEARNED_FLOORS = {"rms": 0.995, "zcr": 0.99, "chroma": 0.6, "mfcc": 0.6, "mel": 0.95}
VARIANCE_WEIGHTED = ("mel", "mfcc")


@pytest.mark.parametrize("feature", FEATURES)
def test_learned_presets_imitate_real_speech(shared_data, feature):
    from data_prep.audio import load_audio
    from data_prep.targets import frame_signal

    paths = sorted((shared_data / "emodb" / "wav").glob("11*.wav"))[:6]  # speaker 11: a test speaker of the presets
    frames = np.concatenate([frame_signal(load_audio(p)) for p in paths])
    target = targets_from_frames(frames)[feature]
    model = fin.load_preset(feature, family="learned")
    acc = R2Accumulator()
    acc.update(target, model.predict(frames, batch_size=512, verbose=0))
    result = acc.result()
    assert result["r2_vw" if feature in VARIANCE_WEIGHTED else "r2"] >= LEARNED_FLOORS[feature]


def test_untrained_quadratic_misses_the_floors(shared_data):
    """The thresholds above mean something: the same architecture, untrained, is far below them."""
    from data_prep.audio import load_audio
    from data_prep.targets import frame_signal

    frames = np.concatenate([frame_signal(load_audio(p)) for p in sorted((shared_data / "emodb" / "wav").glob("11*.wav"))[:6]])
    targets = targets_from_frames(frames)
    for feature in FEATURES:
        acc = R2Accumulator()
        acc.update(targets[feature], fin.build_model(feature, "quadratic", seed=0).predict(frames, verbose=0))
        assert acc.result()["r2_vw" if feature in VARIANCE_WEIGHTED else "r2"] < LEARNED_FLOORS[feature], feature


def test_fin_train_benchmark_writes_curves_png_and_json(tmp_path, tiny_store):
    from experiments.benchmark import main

    out = tmp_path / "bench"
    assert main(["fin-train", "--data", str(tiny_store), "--features", "zcr", "--budget", "0.5", "--out", str(out)]) == 0
    result = json.loads((out / "fin_train.json").read_text())
    assert set(result["runs"]) == {"zcr/paper", "zcr/compact", "zcr/quadratic"}
    for run in result["runs"].values():
        assert run["epochs"] >= 1 and len(run["curve"]) == run["epochs"] and np.isfinite(run["test_r2"])
        assert all(t > 0 for t, _ in run["curve"])
    assert (out / "fin_train.png").stat().st_size > 10_000


def test_fin_train_benchmark_rejects_bad_arguments(tmp_path, capsys):
    from experiments.benchmark import main

    for argv in (["fin-train", "--budget", "0"], ["fin-train", "--archs", "resnet"],
                 ["fin-train", "--data", str(tmp_path / "none.h5")]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "resnet" in capsys.readouterr().err


def test_seed_scale_runs_the_paper_topologies_within_its_budget(tmp_path, tiny_store):
    from experiments.seed_scale import main

    out = tmp_path / "seed"
    assert main(["--data", str(tiny_store), "--features", "rms", "--minutes", "0.05", "--out", str(out)]) == 0
    result = json.loads((out / "seed_scale.json").read_text())
    row = result["features"]["rms"]
    assert row["seed_epochs"] == 100 and 1 <= row["epochs_run"] < 100  # stopped by its share of the budget
    assert "CPU only" in result["device"] and (out / "seed_scale.md").is_file()
    assert (out / "rms" / "model.keras").is_file()
