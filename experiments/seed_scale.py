"""The seed's FINs at the seed's scale: the ``paper`` topologies trained over the whole training split, on a GPU.

::

    python -m experiments.seed_scale --data /tmp/all.h5 [--out runs/seed_scale] [--minutes 10]
        [--batch-size 1024] [--features ...] [--strategy mirrored]

The seed trained each FIN for 100 (RMS, ZCR) or 50 epochs over about a million frames at batch 64, budgets that
take hours on a CPU. This command keeps the seed's topologies, losses, optimiser, LR schedule and epoch counts,
and makes them fit one large GPU in ``--minutes``: a larger batch (1024, learning rate scaled by the square root of
the batch ratio, the usual rule for Adam) so that an epoch is one pass over the training split in far fewer steps,
and a wall-time share per feature (``fin.train --time-budget``) so the whole run ends in time even where the GPU is
slower; a feature that hits its share reports how many of its epochs it ran. Each feature is one ``fin.train``
run in ``OUT/<feature>``; ``OUT/seed_scale.json`` and ``OUT/seed_scale.md`` hold the test R² and the epochs run.

Without a GPU the command still runs (on the CPU, same budget), but its rows then measure a CPU budget, not the
seed's scale: it says so in its output. Never needed by the tests.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from data_prep.targets import FEATURES

SEED_BATCH = 64
SEED_LR = 1e-3


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.seed_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="store from data_prep.build (e.g. all three corpora)")
    parser.add_argument("--out", type=Path, default=Path("runs/seed_scale"))
    parser.add_argument("--minutes", type=float, default=10.0, help="wall time for all features together (default 10)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=FEATURES)
    parser.add_argument("--strategy", default="default", help="fin.train --strategy (mirrored: all local GPUs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such store")
    if not args.minutes > 0 or args.batch_size < 1:
        parser.error("--minutes and --batch-size must be positive")

    import tensorflow as tf

    from data_prep.atomic import atomic_write_text
    from fin.registry import get_feature
    from fin.train import train

    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s)" if gpus else "CPU only: these rows measure a CPU budget, not the seed's scale"
    print(f"seed_scale on {device}", flush=True)
    share = args.minutes * 60 / len(args.features)
    lr = SEED_LR * (args.batch_size / SEED_BATCH) ** 0.5
    rows = {}
    for feature in args.features:
        spec = get_feature(feature)
        t0 = time.time()
        metrics = train({"feature": feature, "arch": "paper", "data": str(args.data), "epochs": spec.epochs,
                         "batch_size": args.batch_size, "lr": lr, "time_budget": share * 0.85, "seed": args.seed,
                         "strategy": args.strategy, "out": str(args.out / feature)})
        history = (args.out / feature / "history.csv").read_text().strip().splitlines()
        rows[feature] = {"r2": metrics["r2"], "r2_vw": metrics["r2_vw"], "epochs_run": len(history) - 1,
                         "seed_epochs": spec.epochs, "seconds": round(time.time() - t0, 1)}
        print(f"{feature:<7} {rows[feature]['epochs_run']}/{spec.epochs} epochs, test R² {metrics['r2']:.4f} "
              f"(vw {metrics['r2_vw']:.4f}), {rows[feature]['seconds']:.0f} s", flush=True)
    result = {"device": device, "batch_size": args.batch_size, "lr": lr, "minutes": args.minutes, "features": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "seed_scale.json", json.dumps(result, indent=2) + "\n")
    table = ["| feature | epochs run / seed's | test R² (mel: vw) | seconds |", "|---|---|---|---|"]
    table += [f"| {f} | {r['epochs_run']}/{r['seed_epochs']} | {r['r2_vw' if f == 'mel' else 'r2']:.4f} | {r['seconds']:.0f} |"
              for f, r in rows.items()]
    atomic_write_text(args.out / "seed_scale.md", f"Device: {device}\n\n" + "\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
