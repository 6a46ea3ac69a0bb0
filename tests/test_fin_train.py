"""fin.train / fin.evaluate: a short run learns and writes every file; R² equals scikit-learn's; resume;
tf.distribute strategies."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import r2_score

from fin.metrics import R2Accumulator

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = ("model.keras", "config.yaml", "history.csv", "metrics.json", "learning_curves.png", "r2_per_output.png",
             "utterance.png")


def _env(**extra):
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", **extra)


def _train_cmd(store, out, *extra):
    return [sys.executable, "-m", "fin.train", "--data", str(store), "--out", str(out), *extra]


def test_r2_accumulator_equals_sklearn(rng):
    y = rng.standard_normal((500, 6)) * np.array([1, 10, 0.1, 5, 1, 1e-3])
    y[:, 4] = 3.0  # a constant output: sklearn's rule applies
    pred = y + 0.3 * rng.standard_normal(y.shape)
    pred[:, 4] = 3.0
    acc = R2Accumulator()
    for i in range(0, 500, 37):  # uneven batches
        acc.update(y[i : i + 37], pred[i : i + 37])
    got = acc.result()
    assert got["r2"] == pytest.approx(r2_score(y, pred), abs=1e-10)
    assert got["r2_vw"] == pytest.approx(r2_score(y, pred, multioutput="variance_weighted"), abs=1e-10)
    np.testing.assert_allclose(got["r2_per_output"], r2_score(y, pred, multioutput="raw_values"), atol=1e-10)
    assert got["mse"] == pytest.approx(np.mean((y - pred) ** 2))
    pred[:, 4] = 2.0  # constant target predicted wrongly: 0, as sklearn
    acc = R2Accumulator()
    acc.update(y, pred)
    np.testing.assert_allclose(acc.result()["r2_per_output"], r2_score(y, pred, multioutput="raw_values"), atol=1e-10)


def test_short_run_learns_and_writes_every_file(tmp_path, tiny_store):
    from fin.train import main

    out = tmp_path / "run"
    assert main(["--feature", "rms", "--arch", "compact", "--data", str(tiny_store), "--out", str(out), "--epochs", "6",
                 "--lr", "3e-3", "--seed", "1"]) == 0
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").rglob("events.out.tfevents*"))
    with open(out / "history.csv") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    assert losses[-1] < 0.5 * losses[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"feature", "arch", "params", "split", "frames", "r2", "r2_vw", "r2_per_output", "mse"} <= set(metrics)
    assert metrics["feature"] == "rms" and metrics["split"] == "test" and metrics["frames"] > 0
    config = (out / "config.yaml").read_text()
    assert "feature: rms" in config and "lr: 0.003" in config

    # fin.evaluate on the saved run reproduces metrics.json
    from fin.evaluate import main as evaluate

    assert evaluate(["--model", str(out), "--data", str(tiny_store), "--json", str(tmp_path / "e.json")]) == 0
    again = json.loads((tmp_path / "e.json").read_text())
    assert again["r2"] == pytest.approx(metrics["r2"], abs=1e-6) and again["frames"] == metrics["frames"]


def test_bad_arguments_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fin.train", "--feature", "mfcc", "--data", str(tmp_path / "missing.h5")],
                       env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "missing.h5" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "fin.train", "--feature", "mfcc", "--arch", "paper", "--init", "closed-form"],
                       env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "closed-form" in r.stderr and "Traceback" not in r.stderr


def test_resume_after_kill_continues_from_checkpoint(tmp_path, tiny_store):
    out = tmp_path / "resume"
    config = tmp_path / "c.yaml"
    config.write_text("early_stopping_patience: 0\nsteps_per_epoch: 40\n")
    cmd = _train_cmd(tiny_store, out, "--feature", "zcr", "--arch", "compact", "--epochs", "8", "--config", str(config))
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = out / "history.csv"
    deadline = time.time() + 240
    while time.time() < deadline:
        if history.is_file() and len(history.read_text().strip().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(history.read_text().strip().splitlines()) - 1
    assert 2 <= done_before < 8 and (out / "backup").is_dir() and not (out / "metrics.json").exists()
    r = subprocess.run(cmd + ["--resume"], env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(history) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    resumed = epochs[done_before:]
    assert resumed[0] >= done_before - 1 and resumed[0] > 0  # picked up from the checkpoint, not epoch 0
    assert epochs[-1] == 7 and (out / "metrics.json").is_file() and not (out / "backup").exists()


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, tiny_store):
    out = tmp_path / "mirrored"
    r = subprocess.run(_train_cmd(tiny_store, out, "--feature", "rms", "--arch", "compact", "--epochs", "1",
                                  "--steps-per-epoch", "5", "--strategy", "mirrored"),
                       env=_env(FIN_CPU_DEVICES="2"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "mirrored"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multiworker_strategy_with_two_local_workers(tmp_path, tiny_store):
    out = tmp_path / "multiworker"
    workers = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        cmd = _train_cmd(tiny_store, out, "--feature", "rms", "--arch", "compact", "--epochs", "2", "--steps-per-epoch", "5",
                         "--strategy", "multiworker")
        procs.append(subprocess.Popen(cmd, env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=400) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "multiworker"
    assert not list(out.glob(".worker-*"))  # the other worker's scratch folder is cleaned up
