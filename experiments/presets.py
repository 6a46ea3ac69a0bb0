"""The recipe that makes the shipped FIN presets (``fin/presets/``).

::

    python -m data_prep.build --corpus emodb=../shared/data/emodb --corpus ravdess=../shared/data/ravdess \\
        --corpus tess=../shared/data/tess --out /tmp/all.h5
    python -m experiments.presets --data /tmp/all.h5 [--arch spectral] [--finetune-steps 300] [--out fin/presets]

For each feature: build the FIN (``spectral`` starts from librosa's closed form), fine-tune it on the training
speakers' frames with the ``fin.train`` machinery (Adam at a small learning rate, a fixed number of steps),
keep the fine-tuned weights only if they beat the starting point on the validation speakers, then measure R²
on the test speakers (never seen in training or selection) and write the model with its metadata to the
preset index. Deterministic from ``--seed``.

``--family learned`` makes the learned family instead (``fin/presets/learned/``): for each feature,
``fin.train``'s default, the ``quadratic`` architecture from random initialisation with the ``teacher`` recipe
(``--epochs`` of 200 steps of 256 frames; 40 by default, each feature well within 20 minutes on 2 cores), on
the store's training speakers; the epoch with the best validation loss is kept, R² is measured on the test
speakers, and the train time and command go into the index.

    python -m experiments.presets --family learned --data /tmp/all.h5
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


from data_prep.targets import FEATURES


def make_preset(feature, data, arch, finetune_steps, lr, seed, eval_frames, workdir):
    import keras

    import fin
    from fin.evaluate import evaluate_model
    from fin.train import target_statistics, train

    init = "closed-form" if arch == "spectral" else "random"
    mean, std = target_statistics(data, "train", feature)
    start = fin.build_model(feature, arch, init=init, target_mean=mean, target_std=std, seed=seed)
    val_start = evaluate_model(start, data, "val", feature, max_frames=eval_frames)
    chosen, history = start, {"start_val_r2": val_start["r2"], "start_val_r2_vw": val_start["r2_vw"]}
    if finetune_steps:
        run = Path(workdir) / feature
        train({"feature": feature, "data": str(data), "arch": arch, "init": init, "epochs": 1, "steps_per_epoch": finetune_steps,
               "lr": lr, "seed": seed, "out": str(run), "early_stopping_patience": 0, "test_frames": 2048,
               "validation_frames": 4096}, verbose=0)
        tuned = keras.saving.load_model(run / "model.keras", compile=False)
        val_tuned = evaluate_model(tuned, data, "val", feature, max_frames=eval_frames)
        history.update(finetune_val_r2=val_tuned["r2"], finetune_val_r2_vw=val_tuned["r2_vw"])
        key = "r2_vw" if feature == "mel" else "r2"
        if val_tuned[key] > val_start[key]:
            chosen = tuned
    history["kept"] = "fine-tuned" if chosen is not start else "start"
    test = evaluate_model(chosen, data, "test", feature, max_frames=eval_frames)
    return chosen, history, test


#: The learned family's curriculum: these FINs start from the learned mel FIN's basis and bank (made first, itself
#: from random initialisation) and learn their own head and every weight on top.
CURRICULUM = {"mfcc": "mel"}


def make_learned_preset(feature, data, epochs, seed, eval_frames, workdir, time_budget=None, init_from=None):
    """Train the learned FIN of ``feature`` as ``fin.train`` does by default; returns the model, recipe, test metrics."""
    import keras

    from fin.evaluate import evaluate_model
    from fin.train import RECIPES, train

    run = Path(workdir) / feature
    config = {"feature": feature, "data": str(data), "arch": "quadratic", "epochs": epochs, "seed": seed, "out": str(run),
              "test_frames": 2048, "time_budget": time_budget, "init_from": str(init_from) if init_from else None}
    t0 = time.time()
    metrics = train(config)
    seconds = time.time() - t0
    model = keras.saving.load_model(run / "model.keras", compile=False)
    recipe = {"name": "teacher", **RECIPES["teacher"], "epochs": epochs, "seed": seed,
              "train_seconds": round(metrics["train_seconds"], 1), "wall_seconds": round(seconds, 1),
              "epochs_run": len((run / "history.csv").read_text().strip().splitlines()) - 1,
              "time_budget": time_budget, "init_from": f"learned {CURRICULUM[feature]} preset" if init_from else None,
              "fin_train_command": f"python -m fin.train --feature {feature} --data {data} --epochs {epochs} --seed {seed}"
                                   + (f" --time-budget {time_budget:g}" if time_budget else "")
                                   + (f" --init-from {init_from}" if init_from else "")}
    test = evaluate_model(model, data, "test", feature, max_frames=eval_frames)
    return model, recipe, test


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.presets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="store to train and measure on (default: the demo corpus store)")
    parser.add_argument("--family", choices=("closed-form", "learned"), default="closed-form",
                        help="closed-form: spectral FINs from librosa's operators, fine-tuned (default); learned: "
                             "quadratic FINs trained from random initialisation (fin.train's default)")
    parser.add_argument("--epochs", type=int, default=40, help="learned family: epochs of 200 steps (default 40)")
    parser.add_argument("--time-budget", type=float, default=1080.0,
                        help="learned family: seconds of training per feature at most (default 1080: 18 minutes)")
    parser.add_argument("--arch", default="spectral", help="closed-form family: architecture (default spectral)")
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=FEATURES)
    parser.add_argument("--finetune-steps", type=int, default=300, help="fine-tuning steps of batch 64 (0: none)")
    parser.add_argument("--lr", type=float, default=1e-5, help="fine-tuning learning rate")
    parser.add_argument("--eval-frames", type=int, default=None, help="frames per split for R² (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="preset folder (default: the family's folder in fin/presets)")
    args = parser.parse_args(argv)
    from fin.presets import family_dir

    args.out = args.out or family_dir(args.family)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")

    from data_prep import open_store
    from data_prep.atomic import atomic_write, atomic_write_text
    from fin.train import demo_store

    data = args.data or demo_store()
    if not Path(data).is_file():
        parser.error(f"--data {data}: no such store")
    with open_store(data) as store:
        summary = store.summary()
        files = store.files
        train_speakers = sorted(set(files["speaker"][files["split"] == "train"]))
    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    command = "python -m experiments.presets " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as workdir:
        # curriculum sources (mel) before the FINs that start from them (mfcc)
        for feature in sorted(args.features, key=lambda f: f in CURRICULUM):
            t0 = time.time()
            if args.family == "learned":
                source = CURRICULUM.get(feature)
                init_from = args.out / f"{source}.keras" if source and source in index else None
                model, recipe, test = make_learned_preset(feature, data, args.epochs, args.seed, args.eval_frames, workdir,
                                                          args.time_budget, init_from)
                arch, init, history = "quadratic", "random", {"kept": "best validation epoch"}
                recipe["command"] = command
            else:
                model, history, test = make_preset(feature, data, args.arch, args.finetune_steps, args.lr, args.seed,
                                                   args.eval_frames, workdir)
                arch, init = args.arch, "closed-form" if args.arch == "spectral" else "random"
                recipe = {"command": command, "finetune_steps": args.finetune_steps, "lr": args.lr, "seed": args.seed, **history}
            path = args.out / f"{feature}.keras"
            atomic_write(path, model.save)
            index[feature] = {
                "file": path.name,
                "feature": feature,
                "family": args.family,
                "init": init,
                "arch": arch,
                "params": int(model.count_params()),
                "bytes": os.path.getsize(path),
                "training_data": {"store": str(data), "corpora": sorted(summary["corpora"]), "train_speakers": train_speakers,
                                  "train_frames": summary["splits"]["train"]["frames"], "target_set": "seed"},
                "recipe": recipe,
                "test": {k: test[k] for k in ("r2", "r2_vw", "mse", "frames")},
            }
            print(f"{feature:<7} {arch} params {model.count_params():>9,}  kept {history['kept']:<10} "
                  f"test R² {test['r2']:.5f} (vw {test['r2_vw']:.5f}) on {test['frames']} frames  [{time.time() - t0:.0f} s]")
            atomic_write_text(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    total = sum(v["bytes"] for v in index.values())
    print(f"{len(index)} presets, {total / 1e6:.1f} MB, index {index_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
