"""Leave-one-corpus-out: FINs trained on every corpus but one, measured on the one left out, each way round.

::

    python -m experiments.loco --corpus emodb=../shared/data/emodb --corpus ravdess=../shared/data/ravdess \\
        --corpus tess=../shared/data/tess --recipe presets|learned|paper|compact|quadratic|spectral --out DIR \\
        [--epochs 5] [--fin-config FILE.yaml] [--build-config FILE.yaml] [--max-files N] [--features ...]

For each held-out corpus ``H``, in ``DIR/H/``:

1. ``train.h5``: ``python -m data_prep.build`` on the other corpora (``--build-config`` passes a build config,
   e.g. ``experiments/configs/fin_generalise.yaml``; ``--max-files`` caps files per corpus);
2. ``fins/``: the ``presets`` recipe (``python -m experiments.presets --data train.h5``), the ``learned`` recipe
   (``python -m experiments.presets --family learned --epochs N --data train.h5``), or for an architecture
   one ``python -m fin.train --arch ARCH --epochs N [--config FILE]`` per feature;
3. ``gen.json`` and ``report/``: ``python -m experiments.generalization --corpus H --fins fins``.

Every step is one process of the tool a user would run (the commands are printed), and is skipped when its
output already exists: an interrupted run resumes where it stopped (delete a folder to redo its steps). The
results of every held-out corpus go to ``DIR/loco.json`` (``{"recipe", "corpora", "held_out": {H: {"trained_on",
"features": {FEATURE: {"r2", "r2_vw", "mse", "frames"}}}}}``) and ``DIR/loco.md`` (the table of the README).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from data_prep.atomic import atomic_write_text
from data_prep.targets import FEATURES

RECIPES = ("presets", "learned", "paper", "compact", "quadratic", "spectral")


def _run(command, log):
    """Run one step (a ``python -m`` command) with its output in ``log``; raises ``RuntimeError`` on failure."""
    print("  $ " + " ".join(command), flush=True)
    t0 = time.time()
    with open(log, "w") as f:
        status = subprocess.run([sys.executable, *command[1:]], stdout=f, stderr=subprocess.STDOUT).returncode
    if status:
        raise RuntimeError(f"step failed with exit status {status}: {' '.join(command)} (output in {log})")
    print(f"    done in {time.time() - t0:.0f} s", flush=True)


def held_out_run(held, corpora, args):
    """The three steps for one held-out corpus; returns its entry of ``loco.json``."""
    work = args.out / held
    work.mkdir(parents=True, exist_ok=True)
    others = [c for c in corpora if c != held]
    store, fins, gen = work / "train.h5", work / "fins", work / "gen.json"
    print(f"held out: {held} (training on {', '.join(others)})", flush=True)
    if not store.is_file():
        command = ["python", "-m", "data_prep.build", *[a for c in others for a in ("--corpus", corpora[c])],
                   "--out", str(store), "--quiet"]
        if args.build_config:
            command += ["--config", str(args.build_config)]
        if args.max_files:
            command += ["--max-files", str(args.max_files)]
        _run(command, work / "build.log")
    if args.recipe in ("presets", "learned"):
        if not (fins / "index.json").is_file():
            command = ["python", "-m", "experiments.presets", "--data", str(store), "--out", str(fins),
                       "--features", *args.features]
            if args.recipe == "learned":
                command += ["--family", "learned", "--epochs", str(args.epochs), "--seed", str(args.seed)]
            _run(command, work / "presets.log")
    else:
        for feature in args.features:
            if not (fins / feature / "metrics.json").is_file():
                command = ["python", "-m", "fin.train", "--feature", feature, "--arch", args.recipe, "--data", str(store),
                           "--epochs", str(args.epochs), "--out", str(fins / feature), "--seed", str(args.seed)]
                if args.fin_config:
                    command += ["--config", str(args.fin_config)]
                _run(command, work / f"train-{feature}.log")
    if not gen.is_file():
        _run(["python", "-m", "experiments.generalization", "--corpus", corpora[held], "--fins", str(fins),
              "--json", str(gen), "--report", str(work / "report")], work / "generalization.log")
    results = json.loads(gen.read_text())["corpora"][held]
    keep = ("r2", "r2_vw", "mse", "frames")
    return {"trained_on": others, "features": {f: {k: results[f][k] for k in keep} for f in args.features if f in results}}


def format_table(loco):
    """The Markdown table: one row per held-out corpus; MFCC uniform R², mel variance-weighted, as the seed's."""
    features = [f for f in FEATURES if any(f in h["features"] for h in loco["held_out"].values())]
    heads = {"mel": "mel (vw)", "mfcc": "mfcc (uniform)"}
    lines = [f"| held-out corpus (recipe {loco['recipe']}) | frames | " + " | ".join(heads.get(f, f) for f in features) + " |",
             "|---|---|" + "---|" * len(features)]
    for held, entry in loco["held_out"].items():
        cells = []
        for f in features:
            r = entry["features"].get(f)
            cells.append("" if r is None else f"{r['r2_vw' if f == 'mel' else 'r2']:.4f}")
        frames = next(iter(entry["features"].values()))["frames"]
        lines.append(f"| {held} (trained on {' + '.join(entry['trained_on'])}) | {frames:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    from data_prep.corpora import parse_corpus_arg
    from data_prep.errors import DataPrepError

    parser = argparse.ArgumentParser(prog="python -m experiments.loco", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH",
                        help="a corpus (at least two; repeatable)")
    parser.add_argument("--recipe", choices=RECIPES, default="presets",
                        help="presets (experiments.presets: closed-form), learned (experiments.presets --family learned: "
                             "the learned family's recipe, --epochs of 200 steps) or an architecture trained with "
                             "fin.train (default presets)")
    parser.add_argument("--out", type=Path, required=True, help="work folder (one sub-folder per held-out corpus)")
    parser.add_argument("--epochs", type=int, default=5, help="fin.train epochs for an architecture (default 5)")
    parser.add_argument("--fin-config", type=Path, help="fin.train YAML config (e.g. steps_per_epoch)")
    parser.add_argument("--build-config", type=Path, help="data_prep.build YAML config (e.g. the augmentation)")
    parser.add_argument("--max-files", type=int, help="at most N files per training corpus")
    parser.add_argument("--features", nargs="+", choices=FEATURES, default=list(FEATURES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpora = {}
    for text in args.corpus:
        try:
            name, root = parse_corpus_arg(text)
        except DataPrepError as err:
            parser.error(str(err))
        if name in corpora:
            parser.error(f"--corpus {name} given twice; each corpus is held out once by name")
        corpora[name] = text
    if len(corpora) < 2:
        parser.error(f"leave-one-corpus-out needs at least two --corpus, got {len(corpora)}")
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.max_files is not None and args.max_files < 1:
        parser.error(f"--max-files must be at least 1, got {args.max_files}")
    for path in (args.fin_config, args.build_config):
        if path is not None and not path.is_file():
            parser.error(f"config file {path} does not exist")
    args.out.mkdir(parents=True, exist_ok=True)
    loco = {"recipe": args.recipe, "corpora": list(corpora), "epochs": args.epochs if args.recipe != "presets" else None,
            "fin_config": str(args.fin_config) if args.fin_config else None,
            "build_config": str(args.build_config) if args.build_config else None, "held_out": {}}
    try:
        for held in corpora:
            loco["held_out"][held] = held_out_run(held, corpora, args)
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    table = format_table(loco)
    atomic_write_text(args.out / "loco.json", json.dumps(loco, indent=2) + "\n")
    atomic_write_text(args.out / "loco.md", table + "\n")
    print(table)
    print(f"results in {args.out / 'loco.json'} and {args.out / 'loco.md'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
