"""The main job on the built-in demo corpus: what ``make demo`` runs.

::

    python -m experiments.demo [--out runs/demo] [--seed 0]

1. generates the synthetic demo corpus (cached; RAVDESS layout) and builds its frame store;
2. measures the shipped FIN presets on the store's test speakers, and trains a small FIN (``compact``) briefly;
3. trains the end-to-end SER model (pretrained FINs, fine-tuned) on a speaker split of the demo corpus, and the
   frozen-FIN model with the speaker-normalised recipe leave-one-speaker-out (see the README's SER section);
4. prints a summary table of R² and UA / F1, also written to ``OUT/summary.json``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from data_prep.build import DEFAULTS, build_store, format_summary
from data_prep.demo import demo_corpus_arg
from data_prep.targets import FEATURES


def fin_step(store, out, seed):
    """R² of each preset on the test split, and of a briefly trained compact FIN."""
    import fin
    from fin.evaluate import evaluate_model
    from fin.train import train

    rows = []
    for feature in FEATURES:
        m = evaluate_model(fin.load_preset(feature), store, "test", feature)
        rows.append({"model": f"preset {feature} ({fin.list_presets('closed-form')[feature]['arch']})", "feature": feature, **m})
    trained = train({"feature": "rms", "arch": "compact", "data": str(store), "epochs": 4, "steps_per_epoch": 150,
                     "seed": seed, "out": str(out / "fin-rms-compact")}, verbose=0)
    rows.append({"model": "rms compact, trained 4 x 150 steps", **trained})
    return rows


def ser_step(corpus, out, seed):
    """SER on the demo corpus: pretrained FINs fine-tuned end to end (a speaker split), and frozen FINs with the
    speaker-normalised recipe (leave one speaker out; only the head trains, so it is quick)."""
    from ser.finetune import main as finetune

    runs = {
        "fine-tuned FINs, seed recipe": (out / "ser-finetune", ["--freeze", "none", "--protocol", "split", "--epochs", "8"]),
        "frozen FINs, our recipe": (out / "ser-frozen", ["--freeze", "all", "--protocol", "loso", "--pooling", "stats",
                                                         "--compress", "log", "--speaker-norm", "--head", "mlp"]),
    }
    results = {}
    for name, (run, options) in runs.items():
        finetune([*options, "--corpus", corpus, "--out", str(run), "--seed", str(seed)])
        results[name] = json.loads((run / "metrics.json").read_text())
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for everything the demo writes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-ser", action="store_true", help="stop after the FIN step")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    corpus = demo_corpus_arg(seed=args.seed)
    print(f"[1/4] demo corpus at {corpus.partition('=')[2]}")
    store = args.out / "demo.h5"
    summary = build_store({**DEFAULTS, "corpora": [corpus], "out": str(store), "seed": args.seed},
                          progress=sys.stderr.isatty())
    print(format_summary(summary))

    print(f"[2/4] FINs on the test speakers ({time.time() - t0:.0f} s)")
    fin_rows = fin_step(store, args.out, args.seed)
    ser = None
    if not args.skip_ser:
        print(f"[3/4] SER: fine-tuned FINs, then frozen FINs ({time.time() - t0:.0f} s)")
        ser = ser_step(corpus, args.out, args.seed)

    print(f"[4/4] summary ({time.time() - t0:.0f} s)")
    print(f"{'FIN':<40}{'R²':>9}{'R² (vw)':>9}{'frames':>9}")
    for r in fin_rows:
        print(f"{r['model']:<40}{r['r2']:>9.4f}{r['r2_vw']:>9.4f}{r['frames']:>9}")
    for name, m in (ser or {}).items():
        print(f"SER {name} ({m['protocol']}, {len(m['labels'])} classes): UA {m['ua']:.3f}  WA {m['wa']:.3f}  "
              f"macro-F1 {m['macro_f1']:.3f}  weighted-F1 {m['weighted_f1']:.3f}")
    result = {"fin": fin_rows, "ser": ser, "seconds": round(time.time() - t0, 1)}
    (args.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"demo finished in {time.time() - t0:.0f} s; outputs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
