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
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


from data_prep.targets import FEATURES

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "fin" / "presets"


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.presets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="store to train and measure on (default: the demo corpus store)")
    parser.add_argument("--arch", default="spectral", help="architecture of the presets (default spectral)")
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=FEATURES)
    parser.add_argument("--finetune-steps", type=int, default=300, help="fine-tuning steps of batch 64 (0: none)")
    parser.add_argument("--lr", type=float, default=1e-5, help="fine-tuning learning rate")
    parser.add_argument("--eval-frames", type=int, default=None, help="frames per split for R² (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from data_prep import open_store
    from data_prep.atomic import atomic_write
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
        for feature in args.features:
            t0 = time.time()
            model, history, test = make_preset(feature, data, args.arch, args.finetune_steps, args.lr, args.seed,
                                               args.eval_frames, workdir)
            path = args.out / f"{feature}.keras"
            atomic_write(path, model.save)
            index[feature] = {
                "file": path.name,
                "feature": feature,
                "arch": args.arch,
                "params": int(model.count_params()),
                "bytes": os.path.getsize(path),
                "training_data": {"store": str(data), "corpora": sorted(summary["corpora"]), "train_speakers": train_speakers,
                                  "train_frames": summary["splits"]["train"]["frames"], "target_set": "seed"},
                "recipe": {"command": command, "finetune_steps": args.finetune_steps, "lr": args.lr, "seed": args.seed, **history},
                "test": {k: test[k] for k in ("r2", "r2_vw", "mse", "frames")},
            }
            print(f"{feature:<7} {args.arch} params {model.count_params():>9,}  kept {history['kept']:<10} "
                  f"test R² {test['r2']:.5f} (vw {test['r2_vw']:.5f}) on {test['frames']} frames  [{time.time() - t0:.0f} s]")
            index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    total = sum(v["bytes"] for v in index.values())
    print(f"{len(index)} presets, {total / 1e6:.1f} MB, index {index_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
