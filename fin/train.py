"""Train a Feature Imitating Network on a frame store.

::

    python -m fin.train --feature {rms,zcr,chroma,mfcc,mel} [--data FILE.h5] [--arch NAME] [--init ...]
        [--recipe store|teacher] [--epochs N] [--batch-size B] [--lr LR] [--time-budget S] [--init-from FIN]
        [--out DIR] [--config FILE.yaml] [--resume] [--strategy default|mirrored|multiworker]

With no option but ``--feature`` it trains the best learned design, ``quadratic`` (:mod:`fin.architectures`),
from random initialisation with the ``teacher`` recipe (:mod:`fin.teacher`): the store's training frames,
augmented and mixed with noise frames, labelled on the fly by the closed-form FIN; Adam 1e-3 with the global
gradient norm clipped at 1, batch 256, 20 epochs of 200 steps. Architectures ``paper`` and ``compact`` train with
the ``store`` recipe, the seed's: the store's frames and targets, Adam lr 1e-3, batch 64, one pass over the
training split per epoch, 100 epochs for RMS/ZCR and 50 for the others. Both recipes use ReduceLROnPlateau(loss,
factor 0.4, patience 2, min_lr 1e-7), MSE (MAE for chroma; a frame-relative MSE for the quadratic mel FIN), and
early stopping on the validation loss with the best weights restored. With no ``--data`` the demo corpus store
is built and used. The store is streamed with tf.data, never loaded whole.

A progress bar over the whole run shows the ETA, the loss and the validation speakers' R² after each epoch
(one line per epoch where standard error is not a terminal). ``--time-budget`` stops after the first epoch that
ends past that many seconds; ``--init-from`` starts the layers another FIN shares by name and shape (the learned
family's curriculum: MFCC on top of a trained mel FIN).

Writes to ``--out``: ``model.keras``, the resolved ``config.yaml``, ``history.csv`` (loss, val_loss, val_r2,
val_r2_vw, wall_seconds, lr per epoch), ``metrics.json`` (test split), TensorBoard logs in ``tensorboard/``, and
plots (``learning_curves.png``, ``r2_per_output.png``, ``utterance.png``). ``--resume`` continues a killed run
from its last epoch checkpoint (``backup/``).

``--strategy mirrored`` trains under ``tf.distribute.MirroredStrategy`` (all local GPUs, or CPUs split into
logical devices with ``FIN_CPU_DEVICES=N``); ``multiworker`` under ``MultiWorkerMirroredStrategy`` configured
by ``TF_CONFIG``. ``--batch-size`` is the global batch in every case.
"""

import argparse
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_write_text
from data_prep.options import load_options
from fin.distribute import STRATEGIES, make_strategy, prebuild
from fin.errors import FINError
from fin.registry import architecture_names, feature_names, get_feature
from fin.runs import RunFolder, fit_callbacks, save_model

DEFAULTS = {
    "feature": None,
    "data": None,  # None: the demo corpus store
    "arch": None,  # None: the feature's default architecture
    "init": None,  # None: closed-form for spectral, random otherwise
    "target_set": None,  # None: the store's
    "recipe": None,  # None: the architecture's (RECIPES)
    "epochs": None,  # None: the recipe's (store: the seed's 100 for rms/zcr, 50 otherwise)
    "batch_size": None,  # None: the recipe's
    "lr": None,  # None: the recipe's
    "lr_factor": 0.4,
    "lr_patience": 2,
    "min_lr": 1e-7,
    "early_stopping_patience": 6,
    "steps_per_epoch": None,  # None: the recipe's (store: one pass over the training split)
    "noise_fraction": None,  # teacher recipe: share of each batch that is noise frames (None: the recipe's)
    "validation_frames": 20000,  # validation subset per epoch (frames spread over the split); None: all
    "r2_frames": 4096,  # validation frames (the same every epoch) for the per-epoch val_r2
    "test_frames": None,  # None: the whole test split for metrics.json
    "init_from": None,  # a FIN (run folder, .keras file or preset name) whose same-named layers start this model
    "time_budget": None,  # seconds: stop at the end of the first epoch past it (None: no limit)
    "out": None,  # None: runs/fin/<feature>-<arch>
    "strategy": "default",
    "seed": 0,
}
#: Training recipes. ``store``: the store's frames and targets, the seed's settings (Adam 1e-3, batch 64, one
#: pass over the training split per epoch). ``teacher``: :mod:`fin.teacher`, the store's frames augmented and
#: mixed with noise frames, labelled on the fly by the closed-form FIN; a fixed number of steps per epoch.
#: ``epochs`` None means the seed's per feature.
RECIPES = {
    "store": {"batch_size": 64, "lr": 1e-3, "epochs": None, "steps_per_epoch": None},
    "teacher": {"batch_size": 256, "lr": 1e-3, "epochs": 20, "steps_per_epoch": 200, "noise_fraction": 0.5},
}
#: The recipe each architecture trains with unless ``--recipe`` says otherwise.
ARCH_RECIPES = {"quadratic": "teacher"}


def target_statistics(store_path, split, feature, block=65536):
    """Per-output mean and standard deviation of ``feature`` over ``split``, streamed from the store."""
    from data_prep import open_store

    from fin.metrics import R2Accumulator

    acc = R2Accumulator()  # its running mean / M2 are exactly what is needed here
    with open_store(store_path) as store:
        n = store.num_frames(split)
        for i in range(0, n, block):
            t = store.targets(split, feature, slice(i, min(i + block, n)))
            acc.update(t, t)
    std = np.sqrt(acc.m2 / max(acc.n, 1))
    return acc.mean.astype(np.float32), np.maximum(std, 1e-8 * max(std.max(), 1e-12)).astype(np.float32)


def demo_store():
    """The demo corpus store (built once, then reused): ``runs/demo/demo.h5``."""
    from data_prep.build import DEFAULTS as BUILD_DEFAULTS
    from data_prep.build import build_store
    from data_prep.demo import demo_corpus_arg

    path = Path("runs/demo/demo.h5")
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_store({**BUILD_DEFAULTS, "corpora": [demo_corpus_arg()], "out": str(path)}, progress=sys.stderr.isatty())
    return path


def resolve_config(config):
    """Fill defaults that depend on other options; check names. Returns a new dict."""
    from fin.registry import get_architecture, get_feature

    config = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    spec = get_feature(config["feature"]) if config["feature"] else None
    if spec is None:
        raise FINError(f"--feature is required; expected one of {', '.join(feature_names())}")
    arch = get_architecture(config["arch"] or spec.default_arch)
    config["arch"] = arch.name
    config["init"] = config["init"] or ("closed-form" if "closed-form" in arch.inits else arch.inits[0])
    if config["init"] not in arch.inits:
        raise FINError(f"--init {config['init']} is not available for --arch {arch.name}; expected one of {', '.join(arch.inits)}")
    config["recipe"] = config["recipe"] or ARCH_RECIPES.get(arch.name, "store")
    if config["recipe"] not in RECIPES:
        raise FINError(f"unknown recipe {config['recipe']!r}; expected one of {', '.join(RECIPES)}")
    for key, value in RECIPES[config["recipe"]].items():
        if config.get(key) is None:
            config[key] = value
    config["epochs"] = spec.epochs if config["epochs"] is None else int(config["epochs"])
    config["loss"] = spec.loss
    if config["strategy"] not in STRATEGIES:
        raise FINError(f"unknown strategy {config['strategy']!r}; expected one of {', '.join(STRATEGIES)}")
    _check_numbers(config)
    config["out"] = str(config["out"] or Path("runs/fin") / f"{spec.name}-{arch.name}")
    return config


#: Option -> (kind, lowest value, whether the lowest is allowed, may be None).
_NUMBERS = {
    "epochs": (int, 1, True, False), "batch_size": (int, 1, True, False), "steps_per_epoch": (int, 1, True, True),
    "validation_frames": (int, 1, True, True), "r2_frames": (int, 1, True, False), "test_frames": (int, 1, True, True),
    "lr_patience": (int, 0, True, False),
    "early_stopping_patience": (int, 0, True, False), "seed": (int, 0, True, False),
    "lr": (float, 0, False, False), "lr_factor": (float, 0, False, False), "min_lr": (float, 0, True, False),
    "noise_fraction": (float, 0, True, True), "time_budget": (float, 0, False, True),
}


def _check_numbers(config):
    """Every numeric option a number in its range (YAML strings such as ``1e-3`` converted); raises FINError."""
    for key, (kind, low, inclusive, optional) in _NUMBERS.items():
        value = config[key]
        if value is None and optional:
            continue
        flag = f"--{key.replace('_', '-')}"
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(value) if kind is float else int(value) if float(value) == int(float(value)) else None
            if number is None:
                raise ValueError
        except (TypeError, ValueError, OverflowError) as err:
            raise FINError(f"{flag} {value!r} is not valid; expected {'an integer' if kind is int else 'a number'}") from err
        bad = not math.isfinite(number) or (number < low if inclusive else number <= low)
        below = {"lr_factor": "below 1", "noise_fraction": "at most 1"}.get(key)
        if (key == "lr_factor" and number >= 1) or (key == "noise_fraction" and number > 1):
            bad = True
        if bad:
            expected = (f"at least {low}" if inclusive else f"greater than {low}") + (f" and {below}" if below else "")
            what = "an integer" if kind is int else "a finite number"
            raise FINError(f"{flag} {value!r} is not valid; expected {what} {expected}")
        config[key] = number


def _warn(text):
    print(text, file=sys.stderr, flush=True)


def check_store(data, log=_warn):
    """Frames per split of the store ``data``, checked before any training; returns the evaluation split.

    The training split must have frames, and the test split (else the validation split) for the final metrics;
    an empty validation split is allowed (no early stopping on it: the training loss is watched), with a warning.

    Raises
    ------
    FINError
        A split the run needs is empty; the message names it and how to see why.
    """
    from data_prep import open_store

    with open_store(data) as store:
        counts = {split: store.num_frames(split) for split in store.splits}
        skipped = len(store.meta.get("summary", {}).get("skipped", []))
    see = (f"its files were skipped or none was assigned to it ({skipped} file(s) skipped in the build); "
           f"see python -m data_prep.inspect {data}")
    if not counts.get("train"):
        raise FINError(f"store {data} has no training frames (split 'train' is empty: {see}); rebuild it with more "
                       "speakers or readable files")
    eval_split = "test" if counts.get("test") else "val" if counts.get("val") else None
    if eval_split is None:
        raise FINError(f"store {data} has no test and no validation frames, so the trained model could not be measured "
                       f"({see})")
    if not counts.get("val"):
        log(f"warning: split 'val' of {data} is empty ({see}): no validation, early stopping watches the training loss")
    if eval_split != "test":
        log(f"warning: split 'test' of {data} is empty ({see}): metrics.json measures the validation split")
    return eval_split


def _same(key, a, b):
    if key in ("data", "out") and a is not None and b is not None:
        return Path(a).resolve() == Path(b).resolve()
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


def check_resume(config, out):
    """Compare a resolved config with the ``config.yaml`` of the run ``--resume`` continues; raises FINError
    naming every difference (the checkpoint only fits the settings it was made with)."""
    saved_path = Path(out) / "config.yaml"
    if not saved_path.is_file():
        return
    saved = load_options(saved_path, [*DEFAULTS, "loss"], FINError)
    diffs = [f"{key} {saved.get(key)!r} there, {config.get(key)!r} now" for key in [*DEFAULTS, "loss"]
             if not _same(key, saved.get(key), config.get(key))]
    if diffs:
        raise FINError(f"--resume: the settings differ from those of the run in {out} ({saved_path}): {'; '.join(diffs)}. "
                       "Resume with the same settings, or start a new run with another --out")


def prepare_training(config, log=_warn):
    """Resolve a config and check everything a run needs before any work: the options, ``--out``, the store's
    splits and, for ``--resume``, the saved settings. Returns the resolved config (``data`` filled in).

    Raises
    ------
    FINError, DataPrepError
        Nothing has been written.
    """
    resume = bool(config.get("resume"))
    config = resolve_config(config)
    out = Path(config["out"])
    if out.exists() and not out.is_dir():
        raise FINError(f"--out {out} exists and is not a folder; expected the run folder to write")
    data = Path(config["data"]) if config["data"] else demo_store()
    if not data.is_file():
        raise FINError(f"--data {data}: no such store")
    from data_prep import open_store

    with open_store(data) as store:
        store_target_set = store.meta["target_set"]
    config["data"] = str(data)
    config["target_set"] = config["target_set"] or store_target_set
    if config["target_set"] != store_target_set:
        raise FINError(f"--target-set {config['target_set']} differs from the store's ({store_target_set}); rebuild the store")
    config["eval_split"] = check_store(data, log)
    if config["init_from"]:
        from fin.presets import check_model_spec

        check_model_spec(config["init_from"], "--init-from")
    if resume:
        check_resume({k: v for k, v in config.items() if k != "eval_split"}, out)
    config["resume"] = resume
    return config


def _store_errors(err):
    """A DataPrepError raised by the store inside tf.data (TensorFlow wraps it in its own error), unwrapped."""
    from data_prep import DataPrepError

    match = re.search(r"store .*? is damaged: .*?lists every damaged dataset\)", str(err), re.S)
    return DataPrepError(match.group(0)) if match else err


def train(config, verbose=None, prepared=False):
    """Train one FIN as ``config`` says (see :data:`DEFAULTS`); returns the test metrics dict.

    ``prepared``: ``config`` comes from :func:`prepare_training` already (else it is prepared here).
    """
    import keras
    import tensorflow as tf

    from data_prep import open_store
    from data_prep.tf_dataset import frame_dataset

    import fin
    from fin import plots
    from fin.evaluate import evaluate_model, predict_split
    from fin.losses import RelativeEnergyLoss, StandardizedLoss
    from fin.progress import TrainingProgress, ValidationR2, WallClock

    config = dict(config) if prepared else prepare_training(config)
    eval_split = config.pop("eval_split")
    feature, out = config["feature"], Path(config["out"])
    strategy = make_strategy(config["strategy"])
    data = Path(config["data"])
    with open_store(data) as store:
        n_train, n_val = store.num_frames("train"), store.num_frames("val") if "val" in store.splits else 0

    # where this process writes: the chief to --out, the other workers to a scratch folder
    folder = RunFolder.open(out)
    worker, n_workers, chief, write_dir = folder.worker, folder.n_workers, folder.chief, folder.write_dir
    backup_dir = out / "backup"
    resumed = config.pop("resume", False) and backup_dir.is_dir()
    if not resumed and chief:
        shutil.rmtree(backup_dir, ignore_errors=True)
        (out / "history.csv").unlink(missing_ok=True)
    folder.write_config(config)

    keras.utils.set_random_seed(config["seed"])
    mean, std = target_statistics(data, "train", feature)
    global_batch = int(config["batch_size"])
    worker_batch = max(1, global_batch // n_workers)
    steps = config["steps_per_epoch"] or max(1, n_train // global_batch)
    train_ds = frame_dataset(data, "train", feature, batch_size=worker_batch, shuffle=True, seed=config["seed"],
                             shard=(worker, n_workers)).repeat()
    if config["recipe"] == "teacher":
        from fin.teacher import teacher_dataset

        train_ds = teacher_dataset(train_ds, feature, config["target_set"], seed=config["seed"],
                                   noise_fraction=config["noise_fraction"]).prefetch(2)
    val_ds, val_steps = None, None
    if n_val:
        val_frames = min(n_val, config["validation_frames"] or n_val)
        val_steps = max(1, val_frames // global_batch)
        val_ds = frame_dataset(data, "val", feature, batch_size=worker_batch, shuffle=True, seed=config["seed"] + 1,
                               shard=(worker, n_workers)).repeat()
    if n_workers > 1:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sharded above
        train_ds = train_ds.with_options(options)
        val_ds = val_ds.with_options(options) if val_ds is not None else None

    with strategy.scope():
        model = fin.build_model(feature, config["arch"], init=config["init"], target_mean=mean, target_std=std,
                                seed=config["seed"], target_set=config["target_set"])
        if config["init_from"]:
            copied = copy_matching_weights(model, config["init_from"])
            print(f"--init-from {config['init_from']}: started {', '.join(copied)} from it", file=sys.stderr)
        if config["arch"] == "paper":  # the seed's loss, in librosa units
            loss = config["loss"]
        elif config["arch"] == "quadratic" and feature == "mel":  # energies over many orders of magnitude
            loss = RelativeEnergyLoss()
        else:
            loss = StandardizedLoss(std, kind=config["loss"])
        # the teacher recipe's noise frames can give rare huge gradients: clip the global norm
        clip = {"global_clipnorm": 1.0} if config["recipe"] == "teacher" else {}
        model.compile(optimizer=keras.optimizers.Adam(config["lr"], **clip), loss=loss)
    if n_workers > 1:
        prebuild(model, strategy, (np.zeros((2, 2048), np.float32), np.zeros((2, len(mean)), np.float32)))

    monitor = "val_loss" if val_ds is not None else "loss"
    if verbose is None:
        verbose = "bar"
    callbacks = []
    if n_val and chief:
        val_frames, val_targets = _validation_frames(data, feature, min(n_val, int(config["r2_frames"])), config["seed"])
        callbacks.append(ValidationR2(val_frames, val_targets))
    callbacks.append(WallClock(config["time_budget"], measuring=callbacks))
    if verbose == "bar":
        initial = _completed_epochs(out / "history.csv") if resumed else 0
        callbacks.append(TrainingProgress(config["epochs"], steps, initial_epoch=initial,
                                          metric=f"val_{get_feature(feature).metric}"))
        verbose = 0
    callbacks += [
        keras.callbacks.BackupAndRestore(str(backup_dir if chief else write_dir / "backup"), delete_checkpoint=False),
        *fit_callbacks(config, write_dir / "history.csv", monitor, append=True),
        keras.callbacks.TensorBoard(log_dir=str(write_dir / "tensorboard")),
    ]
    t0 = time.time()
    try:
        model.fit(train_ds, epochs=config["epochs"], steps_per_epoch=steps, validation_data=val_ds,
                  validation_steps=val_steps, callbacks=callbacks, verbose=verbose,
                  shuffle=False)  # the tf.data pipeline reshuffles every epoch itself
    except tf.errors.OpError as err:  # a damaged store chunk read inside tf.data: one clear message
        raise _store_errors(err) from err
    train_seconds = time.time() - t0

    save_model(model, write_dir / "model.keras")
    if folder.discard_scratch():
        return None
    # evaluate the saved artifact, outside any distribution strategy: what a user loads is what is measured
    replicas = int(strategy.num_replicas_in_sync)
    model = keras.saving.load_model(out / "model.keras", compile=False)
    metrics = {"feature": feature, "arch": config["arch"], "init": config["init"], "params": int(model.count_params()),
               "split": eval_split, "strategy": config["strategy"], "replicas": replicas,
               "train_seconds": round(train_seconds, 1)}
    metrics.update(evaluate_model(model, data, eval_split, feature, max_frames=config["test_frames"]))
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    _write_plots(model, data, eval_split, feature, out, metrics, plots, predict_split)
    shutil.rmtree(backup_dir, ignore_errors=True)  # the run finished: nothing left to resume
    return metrics


def copy_matching_weights(model, source):
    """Set every layer of ``model`` that ``source`` (a FIN spec) has too, by name and weight shapes; returns their names.

    The curriculum of the learned family: the MFCC FIN starts from a trained mel FIN's basis and bank (both learned
    from random initialisation), and only its log-domain head starts random.
    """
    from fin.presets import load_model_spec

    other = load_model_spec(source)
    names = {layer.name: layer for layer in other.layers}
    copied = []
    for layer in model.layers:
        match = names.get(layer.name)
        if match is None or not layer.weights:
            continue
        if [w.shape for w in layer.weights] != [w.shape for w in match.weights]:
            continue
        layer.set_weights(match.get_weights())
        copied.append(layer.name)
    if not copied:
        raise FINError(f"--init-from {source}: no layer of {other.name} matches a layer of {model.name} by name and shape")
    return copied


def _validation_frames(data, feature, n, seed):
    """``n`` validation frames spread over the split (the same every epoch) and their targets."""
    from data_prep import open_store

    with open_store(data) as store:
        idx = np.sort(np.random.default_rng(seed).choice(store.num_frames("val"), size=n, replace=False))
        return store.frames("val", idx), store.targets("val", feature, idx)


def _completed_epochs(history):
    if not history.is_file():
        return 0
    return max(0, len(history.read_text().strip().splitlines()) - 1)


def _write_plots(model, data, split, feature, out, metrics, plots, predict_split):
    from data_prep import open_store

    if (out / "history.csv").is_file():
        plots.learning_curves(out / "history.csv", out / "learning_curves.png", title=f"{feature} {metrics['arch']}")
    plots.r2_bars(metrics["r2_per_output"], out / "r2_per_output.png", feature=feature)
    with open_store(data) as store:  # the test split's first original utterance
        files = store.files
        rows = np.flatnonzero((files["split"] == split) & (files["augmentation"] == "original"))
        if rows.size:
            row = rows[0]
            idx = np.arange(files["first_frame"][row], files["first_frame"][row] + files["n_frames"][row])
            target, output = next(predict_split(model, store, split, feature, batch_size=len(idx), idx=idx))
            plots.utterance_comparison(target, output, out / "utterance.png", feature=feature)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m fin.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feature", choices=feature_names())
    parser.add_argument("--data", type=Path, help="a store from data_prep.build (default: the demo corpus store)")
    parser.add_argument("--arch", choices=architecture_names(), help="default: the feature's default architecture")
    parser.add_argument("--init", choices=("random", "closed-form"), help="closed-form: spectral only")
    parser.add_argument("--recipe", choices=tuple(RECIPES),
                        help="store: the store's frames and targets (the seed's); teacher: augmented and noise frames "
                             "labelled by the closed-form FIN (default: quadratic trains with teacher, others with store)")
    parser.add_argument("--epochs", type=int, help="default: the recipe's (store: the seed's per feature; teacher: 20)")
    parser.add_argument("--batch-size", type=int, help="global batch size (default: store 64, teacher 256)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: store 1e-3, teacher 2e-3)")
    parser.add_argument("--steps-per-epoch", type=int,
                        help="default: store one pass over the training split; teacher 200")
    parser.add_argument("--noise-fraction", type=float, help="teacher recipe: share of noise frames per batch (0.5)")
    parser.add_argument("--init-from", metavar="FIN",
                        help="start the layers this FIN shares by name and shape (e.g. a trained mel FIN's basis and bank "
                             "for MFCC): a run folder, .keras file or preset name")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="stop after the first epoch that ends past this many seconds of training")
    parser.add_argument("--out", type=Path, help="output folder (default runs/fin/<feature>-<arch>)")
    parser.add_argument("--config", type=Path, help="YAML file of defaults (option names as in config.yaml)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch checkpoint")
    parser.add_argument("--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: default)")
    parser.add_argument("--seed", type=int)
    return parser


def main(argv=None):
    """Command line; 0 on success, 2 for bad options or inputs (found before any work), 1 if the run failed."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from data_prep import DataPrepError

    try:
        config = {}
        if args.resume and args.out and (args.out / "config.yaml").is_file():
            config.update(load_options(args.out / "config.yaml", [*DEFAULTS, "loss"], FINError))
        if args.config:
            config.update(load_options(args.config, [*DEFAULTS, "loss"], FINError))
        config.update({k: v for k, v in vars(args).items() if k in DEFAULTS and v is not None})
        config = {k: str(v) if isinstance(v, Path) else v for k, v in config.items()}
        config = prepare_training({**config, "resume": args.resume})
    except (FINError, DataPrepError) as err:
        parser.error(str(err))
    try:
        metrics = train(config, prepared=True)
    except (FINError, DataPrepError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    if metrics is None:  # a non-chief worker of a multi-worker run: the chief reports
        return 0
    print(f"{metrics['feature']} {metrics['arch']}: test R² {metrics['r2']:.4f} (variance-weighted {metrics['r2_vw']:.4f}), "
          f"MSE {metrics['mse']:.4g} on {metrics['frames']} frames; outputs in {config['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
