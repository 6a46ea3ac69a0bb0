"""ser.compare on synthetic run folders: paired intervals against scipy, a consistent gain, noise, mismatched folds."""

import json

import numpy as np
import pytest
from scipy import stats

from ser import compare
from ser.errors import SERError

N_FOLDS = 10


def _write_run(folder, fold_ua, speakers=None, n=50, names=None):
    """A run folder whose metrics.json holds ``fold_ua`` (one per fold) and pooled scores from it."""
    folder.mkdir(parents=True)
    names = names or [f"emodb-{k:02d}" for k in range(len(fold_ua))]
    speakers = speakers or [[f"emodb:{k:02d}"] for k in range(len(fold_ua))]
    folds = [{"name": name, "test_speakers": spk, "ua": float(ua), "wa": float(ua) + 0.01, "macro_f1": float(ua) - 0.02,
              "weighted_f1": float(ua), "n": n}
             for name, spk, ua in zip(names, speakers, fold_ua)]
    mean = float(np.mean(fold_ua))
    metrics = {"ua": mean, "wa": mean + 0.01, "macro_f1": mean - 0.02, "weighted_f1": mean, "folds": folds,
               "protocol": "loso", "leaky": False}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


@pytest.fixture
def runs(tmp_path, rng):
    """A reference, a run 5 UA points better on every fold (small jitter), and a run that differs by noise only."""
    reference = rng.uniform(0.4, 0.7, N_FOLDS)
    noise = rng.normal(0, 0.05, N_FOLDS)
    noise -= noise.mean()  # no gain at all: the mean difference is 0
    return {
        "reference": (_write_run(tmp_path / "ref", reference), reference),
        "better": (_write_run(tmp_path / "better", reference + 0.05 + rng.normal(0, 0.01, N_FOLDS)), None),
        "noise": (_write_run(tmp_path / "noise", reference + noise), None),
    }


def test_t_interval_equals_scipys_paired_t_test(rng):
    a, b = rng.uniform(0.4, 0.7, 8), rng.uniform(0.4, 0.7, 8)
    result = compare.paired_difference(a, b, confidence=0.95)
    expected = stats.ttest_rel(a, b).confidence_interval(0.95)
    np.testing.assert_allclose(result["t_interval"], [expected.low, expected.high], rtol=1e-10)
    assert result["mean"] == pytest.approx(np.mean(a - b), abs=1e-12)
    assert result["wins"] + result["losses"] + result["ties"] == 8
    # the bootstrap is seeded: the same interval twice, another with another seed
    assert compare.paired_difference(a, b, seed=3)["bootstrap_interval"] == \
        compare.paired_difference(a, b, seed=3)["bootstrap_interval"]
    assert compare.paired_difference(a, b, seed=3)["bootstrap_interval"] != result["bootstrap_interval"]


def test_a_consistent_gain_excludes_zero_and_noise_includes_it(runs, tmp_path, capsys):
    ref, better, noise = (str(runs[k][0]) for k in ("reference", "better", "noise"))
    out = tmp_path / "out"
    assert compare.main([ref, better, noise, "--out", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    assert result["reference"] == ref and len(result["folds"]) == N_FOLDS
    gain = result["differences"][better]
    for interval in (gain["t_interval"], gain["bootstrap_interval"]):
        assert 0 < interval[0] < 0.05 < interval[1]  # around the true +5 points, away from 0
    assert (gain["wins"], gain["losses"]) == (N_FOLDS, 0)
    flat = result["differences"][noise]
    assert flat["mean"] == pytest.approx(0, abs=1e-9)
    for interval in (flat["t_interval"], flat["bootstrap_interval"]):
        assert interval[0] < 0 < interval[1]
    assert 0 < flat["wins"] < N_FOLDS
    # per-run summaries: pooled, and the mean and std over folds
    summary = result["runs"][ref]["ua"]
    assert summary["fold_mean"] == pytest.approx(np.mean(runs["reference"][1]), abs=1e-12)
    assert summary["fold_std"] == pytest.approx(np.std(runs["reference"][1], ddof=1), abs=1e-12)
    table = (out / "compare.md").read_text()
    assert table.strip() in capsys.readouterr().out
    assert f"| {better} | +" in table and f"{N_FOLDS} / 0 / 0" in table


def test_mismatched_folds_are_refused(runs, tmp_path, capsys):
    ref = runs["reference"][0]
    fewer = _write_run(tmp_path / "fewer", np.full(N_FOLDS - 1, 0.5))
    with pytest.raises(SERError, match="emodb-09"):
        compare.compare_runs([ref, fewer])
    swapped = [[f"emodb:{k:02d}"] for k in range(N_FOLDS)]
    swapped[2] = ["emodb:99"]
    other_speaker = _write_run(tmp_path / "other", np.full(N_FOLDS, 0.5), speakers=swapped)
    with pytest.raises(SERError, match="emodb-02 tests speakers emodb:99"):
        compare.compare_runs([ref, other_speaker])
    fewer_files = _write_run(tmp_path / "fewer_files", np.full(N_FOLDS, 0.5), n=20)
    with pytest.raises(SERError, match="20 files"):
        compare.compare_runs([ref, fewer_files])
    with pytest.raises(SystemExit) as exc:  # the command line: exit status 2 with the reason
        compare.main([str(ref), str(fewer), "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "different folds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        compare.main([str(ref), str(tmp_path), "--out", str(tmp_path / "x")])  # not a run folder
    assert exc.value.code == 2 and "no metrics.json" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
