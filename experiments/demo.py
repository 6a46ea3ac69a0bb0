"""The main job on the built-in demo corpus: what ``make demo`` runs.

::

    python -m experiments.demo [--out runs/demo]

1. generates the synthetic demo corpus (cached; RAVDESS layout) and builds its frame store.
"""

import argparse
import sys
import time
from pathlib import Path

from data_prep.build import DEFAULTS, build_store, format_summary
from data_prep.demo import default_demo_root, generate_demo_corpus


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for everything the demo writes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    corpus = generate_demo_corpus(default_demo_root(), seed=args.seed)
    print(f"[1] demo corpus at {corpus}")
    store = args.out / "demo.h5"
    summary = build_store({**DEFAULTS, "corpora": [f"ravdess={corpus}"], "out": str(store), "seed": args.seed},
                          progress=sys.stderr.isatty())
    print(format_summary(summary))
    print(f"demo finished in {time.time() - t0:.0f} s; outputs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
