"""Compare SER runs on the same folds: pooled scores, per-fold spread, paired differences with 95 % intervals.

::

    python -m ser.compare RUN_DIR RUN_DIR [RUN_DIR ...] [--reference RUN_DIR] [--out DIR]
        [--confidence 0.95] [--bootstrap 10000] [--seed 0]

Each ``RUN_DIR`` is a ``ser.finetune`` or ``ser.baseline`` output folder; its ``metrics.json`` holds the scores
pooled over every test fold and one entry per fold. The runs must have the same folds: the same fold names with
the same test speakers (and, where recorded, the same number of test files); otherwise the comparison is refused
with an error naming the first difference, since a paired comparison of different test sets means nothing.

For every run: pooled UA, WA and macro-F1, and the mean and standard deviation (``ddof=1``) of each over the folds.
For every run against the reference (``--reference``, default the first run), per fold the UA difference
``run - reference``, and for its mean over the folds a ``--confidence`` interval two ways:

- Student's t over the folds (``scipy.stats.t``, ``n_folds - 1`` degrees of freedom), the paired t interval
  (``scipy.stats.ttest_rel(...).confidence_interval``);
- a percentile bootstrap: the folds resampled with replacement ``--bootstrap`` times (seeded ``--seed``), the mean
  difference of each resample.

and the folds where the run wins, loses or ties. An interval that holds 0 says the folds do not show a difference.
The folds are few (10 on EMO-DB LOSO, 6 on RAVDESS) and not independent (they share training speakers), so both
intervals are rough: read them as the spread over speakers, not a significance test.

Outputs in ``--out`` (default ``runs/ser/compare``): ``compare.json`` and ``compare.md``; the markdown tables are
also printed. Exit status 0, 2 for bad arguments, runs that cannot be read or folds that differ.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from ser.errors import SERError

#: Pooled scores reported per run, with their names in ``metrics.json``.
SCORES = {"ua": "UA", "wa": "WA", "macro_f1": "macro-F1"}


def load_run(folder):
    """The ``metrics.json`` of a run folder, checked to hold pooled scores and per-fold UA.

    Raises
    ------
    SERError
        No ``metrics.json``, not JSON, or without ``folds`` (a name, test speakers and UA per fold) or pooled scores.
    """
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise SERError(f"{folder}: no metrics.json there; expected a ser.finetune or ser.baseline output folder")
    try:
        metrics = json.loads(path.read_text())
        folds = metrics["folds"]
        if not isinstance(folds, list) or not folds:
            raise TypeError("'folds' is not a non-empty list")
        for fold in folds:
            missing = {"name", "test_speakers", "ua"} - set(fold)
            if missing:
                raise KeyError(f"a fold without {', '.join(sorted(missing))}")
            float(fold["ua"])
        for key in SCORES:
            float(metrics[key])
    except (ValueError, KeyError, TypeError) as err:
        raise SERError(f"{path} is damaged or not a run's metrics.json ({type(err).__name__}: {err})") from err
    return metrics


def check_same_folds(runs):
    """Raise :class:`SERError` unless every run has the same folds as the first.

    Parameters
    ----------
    runs : dict
        Run name -> its ``metrics.json`` (:func:`load_run`).

    Returns
    -------
    names : list of str
        The fold names, in the first run's order.
    """
    (first, reference), *others = runs.items()

    def folds_of(metrics):
        return {f["name"]: f for f in metrics["folds"]}

    expected = folds_of(reference)
    for name, metrics in others:
        folds = folds_of(metrics)
        if set(folds) != set(expected):
            missing, extra = sorted(set(expected) - set(folds)), sorted(set(folds) - set(expected))
            raise SERError(f"{name} and {first} have different folds: {name} lacks {', '.join(missing) or 'none'} and "
                           f"adds {', '.join(extra) or 'none'}; compare runs of the same protocol on the same corpora")
        for fold, ref in expected.items():
            got = folds[fold]
            if sorted(got["test_speakers"]) != sorted(ref["test_speakers"]):
                raise SERError(f"fold {fold} tests speakers {', '.join(sorted(got['test_speakers']))} in {name} but "
                               f"{', '.join(sorted(ref['test_speakers']))} in {first}")
            if "n" in got and "n" in ref and got["n"] != ref["n"]:
                raise SERError(f"fold {fold} tests {got['n']} files in {name} but {ref['n']} in {first} "
                               "(different --max-files or corpora?)")
    return [f["name"] for f in reference["folds"]]


def fold_scores(metrics, names, key="ua"):
    """One score per fold, in the order of ``names``: ``np.ndarray [shape=(len(names),)]``."""
    by_name = {f["name"]: f for f in metrics["folds"]}
    return np.array([float(by_name[n][key]) for n in names])


def run_summary(metrics, names):
    """Pooled UA/WA/macro-F1 and their per-fold mean and standard deviation (``ddof=1``; ``None`` for one fold)."""
    out = {"n_folds": len(names), "protocol": metrics.get("protocol"), "leaky": metrics.get("leaky")}
    for key in SCORES:
        per_fold = fold_scores(metrics, names, key) if all(key in f for f in metrics["folds"]) else None
        out[key] = {"pooled": float(metrics[key]),
                    "fold_mean": None if per_fold is None else float(per_fold.mean()),
                    "fold_std": None if per_fold is None or len(per_fold) < 2 else float(per_fold.std(ddof=1))}
    return out


def paired_difference(scores, reference, confidence=0.95, n_bootstrap=10000, seed=0):
    """The mean per-fold difference ``scores - reference`` with a t and a bootstrap interval, and the wins.

    Parameters
    ----------
    scores, reference : np.ndarray [shape=(n_folds,)]
        One score per fold, the same folds in the same order.
    confidence : float
        Coverage of the intervals, in (0, 1).
    n_bootstrap : int
        Resamples of the folds for the percentile bootstrap.
    seed : int
        Seeds the bootstrap.

    Returns
    -------
    result : dict
        ``mean``, ``differences`` (per fold), ``t_interval`` (``[low, high]``; ``None`` with one fold),
        ``bootstrap_interval`` (``[low, high]``), ``wins``, ``losses``, ``ties`` (folds), ``n_folds``.

    Examples
    --------
    >>> r = paired_difference(np.array([0.6, 0.7, 0.65]), np.array([0.5, 0.6, 0.6]))
    >>> round(r["mean"], 3), r["wins"], r["losses"]
    (0.083, 3, 0)
    """
    from scipy import stats

    diff = np.asarray(scores, dtype=float) - np.asarray(reference, dtype=float)
    n, mean = len(diff), float(diff.mean())
    t_interval = None
    if n >= 2:
        half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * diff.std(ddof=1) / math.sqrt(n)
        t_interval = [mean - float(half), mean + float(half)]
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(n_bootstrap, n))].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"mean": mean, "differences": diff.tolist(), "t_interval": t_interval,
            "bootstrap_interval": [float(low), float(high)], "wins": int((diff > 0).sum()),
            "losses": int((diff < 0).sum()), "ties": int((diff == 0).sum()), "n_folds": n}


def compare_runs(folders, reference=None, confidence=0.95, n_bootstrap=10000, seed=0):
    """Summaries of runs on the same folds and each run's paired UA difference against the reference run.

    Parameters
    ----------
    folders : list of str or Path
        Run folders (at least two).
    reference : str or Path or None
        The run the others are compared with (one of ``folders``, or added to them); default the first.
    confidence, n_bootstrap, seed
        See :func:`paired_difference`.

    Returns
    -------
    comparison : dict
        ``folds`` (names), ``reference``, ``runs`` (name -> :func:`run_summary` and per-fold UA),
        ``differences`` (name -> :func:`paired_difference` against the reference), ``confidence``, ``bootstrap``
        (resamples and seed).
    """
    if not 0 < confidence < 1:
        raise SERError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_bootstrap < 1:
        raise SERError(f"bootstrap resamples must be >= 1, got {n_bootstrap!r}")
    names = [str(f) for f in folders]
    reference = names[0] if reference is None else str(reference)
    if reference not in names:
        names.insert(0, reference)
    if len(set(names)) != len(names):
        raise SERError(f"a run is given twice: {', '.join(sorted(n for n in set(names) if names.count(n) > 1))}")
    if len(names) < 2:
        raise SERError("compare needs at least two runs")
    runs = {name: load_run(name) for name in names}
    ordered = {reference: runs[reference], **{n: runs[n] for n in names if n != reference}}
    folds = check_same_folds(ordered)
    ref_ua = fold_scores(runs[reference], folds)
    return {
        "folds": folds, "reference": reference, "confidence": confidence,
        "bootstrap": {"resamples": n_bootstrap, "seed": seed},
        "runs": {n: {**run_summary(runs[n], folds), "fold_ua": fold_scores(runs[n], folds).tolist()} for n in names},
        "differences": {n: paired_difference(fold_scores(runs[n], folds), ref_ua, confidence, n_bootstrap, seed)
                        for n in names if n != reference},
    }


def _pct(value):
    return "-" if value is None else f"{100 * value:.1f}"


def _interval(pair):
    return "-" if pair is None else f"[{100 * pair[0]:+.1f}, {100 * pair[1]:+.1f}]"


def format_markdown(comparison):
    """The comparison as two markdown tables (scores in %, differences in UA points)."""
    c = comparison
    level = f"{100 * c['confidence']:g} %"
    lines = [f"Runs on the same {len(c['folds'])} folds ({', '.join(c['folds'])}); per-fold mean ± std (ddof=1).", "",
             "| run | " + " | ".join(f"{label} pooled | {label} folds" for label in SCORES.values()) + " |",
             "|---|" + "---|---|" * len(SCORES)]
    for name, run in c["runs"].items():
        cells = []
        for key in SCORES:
            s = run[key]
            spread = "-" if s["fold_mean"] is None else (
                f"{_pct(s['fold_mean'])} ± {_pct(s['fold_std'])}" if s["fold_std"] is not None else _pct(s["fold_mean"]))
            cells += [_pct(s["pooled"]), spread]
        mark = " (reference)" if name == c["reference"] else ""
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    lines += ["", f"Per-fold UA difference against {c['reference']} (UA points; {level} intervals: t over folds, and a "
                  f"bootstrap over folds, {c['bootstrap']['resamples']} resamples, seed {c['bootstrap']['seed']}).", "",
              "| run | mean | t interval | bootstrap interval | wins / losses / ties |", "|---|---|---|---|---|"]
    for name, d in c["differences"].items():
        lines.append(f"| {name} | {100 * d['mean']:+.1f} | {_interval(d['t_interval'])} | "
                     f"{_interval(d['bootstrap_interval'])} | {d['wins']} / {d['losses']} / {d['ties']} |")
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m ser.compare", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="ser.finetune / ser.baseline output folders")
    parser.add_argument("--reference", metavar="RUN_DIR", help="the run the others are compared with (default: the "
                                                               "first)")
    parser.add_argument("--out", default="runs/ser/compare", help="folder for compare.json and compare.md "
                                                                  "(default runs/ser/compare)")
    parser.add_argument("--confidence", type=float, default=0.95, help="coverage of the intervals (default 0.95)")
    parser.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples of the folds (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    return parser


def main(argv=None):
    """Command line; returns 0, exits with status 2 for bad arguments, unreadable runs or different folds."""
    from data_prep.atomic import atomic_write_text

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        comparison = compare_runs(args.runs, args.reference, args.confidence, args.bootstrap, args.seed)
    except SERError as err:
        parser.error(str(err))
    table = format_markdown(comparison)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "compare.json", json.dumps(comparison, indent=2) + "\n")
    atomic_write_text(out / "compare.md", table + "\n")
    print(table)
    print(f"\nwritten: {out / 'compare.json'}, {out / 'compare.md'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
