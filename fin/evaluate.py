"""Evaluate a FIN on a store split: R² (uniform and variance-weighted), per-output R², MSE.

::

    python -m fin.evaluate --model DIR_OR_PRESET --data FILE.h5 [--split test] [--json OUT]

``--model`` takes a ``fin.train`` output folder, a ``.keras`` file, or a preset name (``mfcc``).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fin.errors import FINError
from fin.metrics import R2Accumulator


def predict_split(model, store, split, feature, batch_size=1024, idx=None):
    """Yield ``(targets, predictions)`` over ``split`` (or the frames ``idx``) in store order, batch by batch."""
    n = store.num_frames(split)
    rows = np.arange(n) if idx is None else np.asarray(idx)
    for i in range(0, len(rows), batch_size):
        sel = rows[i : i + batch_size]
        frames = store.frames(split, sel)
        yield store.targets(split, feature, sel), np.asarray(model.predict_on_batch(frames))


def evaluate_model(model, store_path, split, feature, batch_size=1024, max_frames=None):
    """Metrics of ``model`` against ``feature`` targets of ``split``: the keys of ``metrics.json``."""
    from data_prep import open_store

    acc = R2Accumulator()
    with open_store(store_path) as store:
        n = store.num_frames(split)
        if n == 0:
            raise FINError(f"split {split!r} of {store_path} has no frames")
        idx = None if not max_frames or max_frames >= n else np.linspace(0, n - 1, max_frames).astype(int)
        for targets, predictions in predict_split(model, store, split, feature, batch_size, idx):
            acc.update(targets, predictions)
    return acc.result()


def describe_model(model):
    """``(feature, arch)`` from a FIN's name (``"mfcc_spectral"``), as ``build_model`` names it."""
    feature, _, arch = model.name.partition("_")
    return feature, arch or "unknown"


def format_metrics(m):
    return (f"{m['feature']:<7} {m['arch']:<9} {m.get('split', ''):<6} frames {m['frames']:>8}  R² {m['r2']:.4f}  "
            f"R² (variance-weighted) {m['r2_vw']:.4f}  MSE {m['mse']:.4g}  params {m.get('params', 0):,}")


def check_split(store_path, split, feature):
    """Check before evaluating that the store has ``split`` with frames and knows ``feature``; raises the
    package errors naming the value."""
    from data_prep import FEATURES, open_store

    if feature not in FEATURES:
        raise FINError(f"unknown feature {feature!r}; expected one of {', '.join(FEATURES)}")
    with open_store(store_path) as store:
        if split not in store.splits:
            raise FINError(f"--split {split!r}: {store_path} has splits {', '.join(store.splits)}")
        if not store.num_frames(split):
            raise FINError(f"split {split!r} of {store_path} has no frames (see python -m data_prep.inspect {store_path})")


def main(argv=None):
    """Command line; 0 on success, 2 for bad options or inputs (before any work), 1 if reading the store failed."""
    from fin.presets import load_model_spec

    parser = argparse.ArgumentParser(prog="python -m fin.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a fin.train output folder, a .keras file or a preset name")
    parser.add_argument("--data", required=True, type=Path, help="a store written by data_prep.build")
    parser.add_argument("--split", default="test")
    parser.add_argument("--feature", help="feature to compare with (default: the model's own)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--json", type=Path, help="write the metrics here as JSON")
    args = parser.parse_args(argv)
    from data_prep import DataPrepError

    try:
        if args.batch_size < 1:
            raise FINError(f"--batch-size must be at least 1, got {args.batch_size}")
        if args.json is not None and args.json.is_dir():
            raise FINError(f"--json {args.json} is a folder; expected the path of the JSON file to write")
        model = load_model_spec(args.model)
        feature, arch = describe_model(model)
        feature = args.feature or feature
        check_split(args.data, args.split, feature)
    except (FINError, DataPrepError) as err:
        parser.error(str(err))
    metrics = {"feature": feature, "arch": arch, "params": int(model.count_params()), "model": str(args.model),
               "data": str(args.data), "split": args.split}
    try:
        metrics.update(evaluate_model(model, args.data, args.split, feature, args.batch_size))
    except (FINError, DataPrepError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    print(format_metrics(metrics))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
