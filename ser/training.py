"""The fold loop shared by ``ser.finetune`` and ``ser.baseline``: corpora, clips, folds, training, evaluation.

One run:

1. discovers the corpora (the demo corpus when none is given), keeps at most ``max_files`` per corpus;
2. loads every clip once into the clip cache (:func:`ser.data.build_clip_cache`), with the augmented copies;
   files that do not load are skipped, listed in ``run.json`` and in the printed summary;
3. builds the folds of the protocol (:data:`PROTOCOLS`) on the files that loaded; inside each fold a part of the
   training *speakers* is held out for early stopping (``data_prep.splits.validation_speakers``: the speakers that
   follow the fold's test speakers in one seeded order, so each fold has its own);
4. per fold trains a fresh model on the training part (originals and augmented copies; validation and test use
   originals only), with class weights, Adam, ``ReduceLROnPlateau`` as the FINs and early stopping on the
   validation loss (best weights restored), then predicts the test part;
5. writes per-fold results and the metrics pooled over all test folds.

A run killed part way (a long fine-tuning run on a CPU) goes on where it stopped with ``--resume`` and the same
``--out`` and options: every fold whose ``outcome.npz`` was written (the fold's last file, written atomically once
its model and predictions are saved) is read back instead of trained; a run folder whose ``config.yaml`` differs
in an option that changes results is refused, naming the options.

What a model sees (raw frames, cached frozen-FIN outputs, librosa frame features or librosa clip features) is an
input kind of :mod:`ser.inputs`.

Outputs in ``out``::

    metrics.json         {"ua", "wa", "macro_f1", "weighted_f1", "per_class", "labels", "confusion", "folds",
                          "protocol", "leaky"}, pooled over every test fold
    run.json             timings, files, skipped files, FIN source, environment
    config.yaml          the resolved configuration
    ser_model.json       what ser.predict needs: kind, labels, clip settings, model files
    confusion.png/.json  pooled confusion matrix
    learning_curves.png/.json, predictions.csv
    folds/<name>/        metrics.json, history.csv, model.keras, confusion.png/.json, learning_curves.png/.json,
                         outcome.npz (the test predictions and what trained: what --resume reads back)
    final/               with final_model: model.keras and history.csv of one model trained on every speaker
                         (validation speakers aside for early stopping); ser.predict uses it
"""

import csv
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_write_text
from data_prep.options import load_options
from data_prep.errors import DataPrepError
from data_prep.labels import EMOTIONS
from ser.errors import SERError

#: Options shared by ser.finetune and ser.baseline, with their defaults (the seed's where it has one).
DEFAULTS = {
    "corpora": [],  # "NAME=PATH" strings; empty: the demo corpus
    "protocol": None,  # None: loso, or split with leaky_file_split
    "folds": 5,  # speaker-kfold's k
    "split_fractions": [0.70, 0.15, 0.15],  # the split protocol's train/val/test shares (of speakers, or files)
    "leaky_file_split": False,
    "val_fraction": 0.15,  # share of a fold's training speakers held out for early stopping
    "epochs": 70,
    "batch_size": 64,
    "lr": 5e-4,
    "lr_factor": 0.4,
    "lr_patience": 2,
    "min_lr": 1e-7,
    "early_stopping_patience": 10,
    "class_weights": True,
    "augment": True,
    "augmentation": None,  # None: the seed's noise and stretch+pitch copies
    "offset": 0.6,
    "duration": 2.5,
    "pooling": "mean",
    "head": "seed",
    "feature_norm": "none",
    "compress": "none",  # "log": log of the rms and mel values of every frame before pooling (not in the seed)
    "speaker_norm": False,  # z-normalise pooled vectors per speaker (fixed features only; not in the seed)
    "mask_padding": True,  # pool over the frames with audio only; False: the seed's mean over all frames
    "deltas": False,  # append each frame's first difference over time before pooling (not in the seed)
    "temporal": "none",  # a temporal block over the frames before pooling: none (the seed's), conv, gru
    "frame_stride": None,  # FIN training only: every k-th frame per step; None: 4 when a FIN trains, else 1
    "jit_compile": False,  # XLA-compile training: 2x faster fine-tuning steps, but NaN losses on some EMO-DB batches
    "final_model": False,
    "max_files": None,
    "cache_dir": None,  # None: $FIN_CACHE_DIR/ser or ~/.cache/fin-toolkit/ser
    "workers": None,  # audio loading processes; None: all cores
    "out": None,
    "strategy": "default",
    "seed": 0,
    "resume": False,  # go on with a killed run in the same out folder: finished folds are read back
}

#: Options that do not change a run's results: a resumed run may differ from the first in these.
RESUME_FREE = ("resume", "out", "workers", "cache_dir", "strategy")


@dataclass(frozen=True)
class FoldPlan:
    """Indices into the utterance list: training, validation (early stopping) and test parts of one fold."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_speakers: tuple


def _loso(utterances, config):
    from data_prep.splits import leave_one_speaker_out

    return leave_one_speaker_out(utterances)


def _kfold(utterances, config):
    from data_prep.splits import speaker_kfold

    return speaker_kfold(utterances, int(config["folds"]), seed=config["seed"])


def _file_kfold(utterances, config):
    from data_prep.splits import file_kfold

    return file_kfold(utterances, int(config["folds"]), seed=config["seed"])


#: Protocol name -> (description, builder of the test folds; None: one fixed split).
PROTOCOLS = {
    "loso": ("leave one speaker out: one fold per speaker", _loso),
    "speaker-kfold": ("k folds of disjoint speaker sets (--folds k)", _kfold),
    "split": ("one fixed split by speaker (split_fractions of the speakers)", None),
    "file-kfold": ("LEAKY: k folds over files stratified by emotion, speakers shared (--folds k; the protocol of "
                   "PS_AC1D_FIF's paper, to show the size of the leak)", _file_kfold),
}


def is_leaky(config):
    """Whether a test speaker can also be a training speaker: ``--leaky-file-split`` or ``--protocol file-kfold``."""
    return bool(config["leaky_file_split"]) or config["protocol"] == "file-kfold"


# ---------------------------------------------------------------------------------------------- config


def resolve_config(config, defaults=DEFAULTS):
    """Fill defaults, check every option; returns a new dict. Raises :class:`SERError` naming a bad value."""
    from data_prep.corpora import parse_corpus_arg
    from fin.distribute import STRATEGIES
    from ser.data import ClipSettings
    from ser.model import COMPRESSIONS, FEATURE_NORMS, HEADS, POOLINGS, TEMPORALS

    unknown = set(config) - set(defaults)
    if unknown:
        raise SERError(f"unknown option(s) {', '.join(sorted(unknown))}; expected some of {', '.join(defaults)}")
    config = {**defaults, **{k: v for k, v in config.items() if v is not None}}
    config["leaky_file_split"] = bool(config["leaky_file_split"])
    if config["protocol"] is None:
        config["protocol"] = "split" if config["leaky_file_split"] else "loso"
    if config["protocol"] not in PROTOCOLS:
        raise SERError(f"unknown protocol {config['protocol']!r}; expected one of {', '.join(PROTOCOLS)}")
    if config["leaky_file_split"] and config["protocol"] != "split":
        raise SERError(f"--leaky-file-split replaces the speaker split of the 'split' protocol; it cannot be "
                       f"combined with protocol {config['protocol']!r}")
    for key, low in (("epochs", 1), ("batch_size", 1), ("folds", 2), ("lr_patience", 0), ("early_stopping_patience", 0)):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < low:
            raise SERError(f"{key} must be an integer >= {low}, got {config[key]!r}")
    for key in ("lr", "lr_factor", "min_lr"):
        if isinstance(config[key], bool) or not isinstance(config[key], (int, float)) or not math.isfinite(config[key]) \
                or config[key] <= 0:
            raise SERError(f"{key} must be a positive finite number, got {config[key]!r}")
    if not 0 <= float(config["val_fraction"]) < 1:
        raise SERError(f"val_fraction must be in [0, 1), got {config['val_fraction']!r}")
    fractions = config["split_fractions"]
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise SERError(f"split_fractions must be three non-negative numbers summing to 1, got {fractions!r}")
    if config["max_files"] is not None and (not isinstance(config["max_files"], int) or config["max_files"] < 1):
        raise SERError(f"max_files must be an integer >= 1, got {config['max_files']!r}")
    if config["workers"] is not None and (not isinstance(config["workers"], int) or config["workers"] < 1):
        raise SERError(f"workers must be an integer >= 1, got {config['workers']!r}")
    config["speaker_norm"] = bool(config["speaker_norm"])
    config["deltas"] = bool(config["deltas"])
    config["jit_compile"] = bool(config["jit_compile"])
    if config["speaker_norm"] and (config["pooling"] == "attention" or config["temporal"] != "none"):
        raise SERError("speaker_norm normalises fixed pooled vectors; attention pooling and temporal blocks are "
                       "learned: use --pooling mean, stats, functionals or descriptive with --temporal none")
    if config["head"] == "svm" and (not config["speaker_norm"] or config["feature_norm"] != "none"):
        raise SERError("--head svm is fitted by sklearn on fixed, speaker-normalised pooled vectors: it needs "
                       f"--speaker-norm and --feature-norm none (got speaker_norm={config['speaker_norm']}, "
                       f"feature_norm={config['feature_norm']!r})")
    stride = config["frame_stride"]
    if stride is not None and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 1):
        raise SERError(f"frame_stride must be an integer >= 1, got {stride!r}")
    for key, valid in (("pooling", POOLINGS), ("head", HEADS), ("feature_norm", FEATURE_NORMS),
                       ("compress", COMPRESSIONS), ("temporal", TEMPORALS), ("strategy", STRATEGIES)):
        if config[key] not in valid:
            raise SERError(f"unknown {key} {config[key]!r}; expected one of {', '.join(valid)}")
    ClipSettings(offset=config["offset"], duration=config["duration"])  # raises on a bad value
    config["corpora"] = [str(c) for c in (config["corpora"] or [])]
    for text in config["corpora"]:
        try:
            parse_corpus_arg(text)
        except DataPrepError as err:
            raise SERError(str(err)) from err
    return config


# ------------------------------------------------------------------------------------------------ data


def discover_corpora(config):
    """Utterances of every ``--corpus`` (the demo corpus if none), ``max_files`` per corpus; and the skipped."""
    from data_prep.build import select_files
    from data_prep.corpora import discover, parse_corpus_arg
    from data_prep.demo import corpus_args_or_demo

    corpora = corpus_args_or_demo(config["corpora"])
    utterances, skipped = [], []
    for text in corpora:
        try:
            name, root = parse_corpus_arg(text)
            found, bad = discover(name, root)
        except DataPrepError as err:
            raise SERError(str(err)) from err
        if not found:
            raise SERError(f"no labelled audio files found for --corpus {text}")
        utterances.extend(found)
        skipped.extend({"path": s.path, "corpus": name, "reason": s.reason} for s in bad)
    return select_files(utterances, config["max_files"], config["seed"]), skipped, corpora


def check_protocol(config):
    """Before any work: discover the corpora (no audio opened) and check that the protocol fits their speakers.

    Raises
    ------
    SERError
        ``--folds`` larger than the number of speakers, or leave-one-speaker-out on one speaker; the message
        names the value and the speakers found.
    """
    from data_prep.splits import speaker_key

    utterances, _, _ = discover_corpora(config)
    speakers = sorted({speaker_key(u) for u in utterances})
    listed = ", ".join(speakers[:10]) + (f", ... ({len(speakers)} in all)" if len(speakers) > 10 else "")
    if config["protocol"] == "speaker-kfold" and not 2 <= int(config["folds"]) <= len(speakers):
        raise SERError(f"--folds {config['folds']} is not valid for these corpora: speaker k-fold needs 2 <= k <= the "
                       f"number of speakers, and they hold {len(speakers)} ({listed})")
    if config["protocol"] == "loso" and len(speakers) < 2:
        raise SERError(f"leave-one-speaker-out needs at least two speakers; the corpora hold {len(speakers)} ({listed})")


def make_folds(utterances, config):
    """The folds of ``config["protocol"]`` as :class:`FoldPlan` s (indices into ``utterances``).

    Each fold's validation speakers (early stopping) are its own: :func:`data_prep.splits.validation_speakers` takes
    the training speakers that follow the fold's test speakers in one order seeded by ``config["seed"]``.
    """
    from data_prep.splits import speaker_key, split_by_file, split_by_speaker, validation_files, validation_speakers

    seed = config["seed"]
    try:
        if config["protocol"] == "split":
            splitter = split_by_file if config["leaky_file_split"] else split_by_speaker
            parts = np.array(splitter(utterances, fractions=config["split_fractions"], seed=seed))
            test = np.flatnonzero(parts == "test")
            if not len(test) or not np.any(parts == "train"):
                raise SERError(f"the split protocol left no test or no training files ({len(utterances)} files); "
                               "use more speakers or files")
            name = "file-split" if config["leaky_file_split"] else "speaker-split"
            speakers = tuple(sorted({speaker_key(utterances[i]) for i in test}))
            return [FoldPlan(name, np.flatnonzero(parts == "train"), np.flatnonzero(parts == "val"), test, speakers)]
        folds = PROTOCOLS[config["protocol"]][1](utterances, config)
    except DataPrepError as err:
        raise SERError(str(err)) from err
    plans = []
    for fold in folds:
        n_train_speakers = len({speaker_key(utterances[i]) for i in fold.train})
        if config["protocol"] == "file-kfold" and config["val_fraction"] > 0:  # leaky: validation files, not speakers
            train, val = validation_files(utterances, fold.train, fraction=config["val_fraction"], seed=seed)
        elif config["val_fraction"] > 0 and n_train_speakers >= 2:
            train, val = validation_speakers(utterances, fold.train, fraction=config["val_fraction"], seed=seed)
        else:  # too few speakers to hold one out: no early stopping in this fold
            train, val = fold.train, np.zeros(0, dtype=int)
        plans.append(FoldPlan(fold.name.replace(":", "-"), train, val, fold.test, fold.test_speakers))
    return plans


def class_weights(y, n_classes):
    """``sklearn.utils.class_weight.compute_class_weight("balanced")`` as a per-class array (1 where absent)."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights = np.ones(n_classes, dtype=np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    return weights


@dataclass
class RunData:
    """What a run trains and tests on: the clips that loaded, their labels and the folds.

    Attributes
    ----------
    utterances : list of Utterance
        The files whose clips are in ``cache``, in cache order.
    skipped : list of dict
        ``{"path", "corpus", "reason"}`` of every file left out (unlabelled or unreadable).
    corpora : list of str
        The ``NAME=PATH`` arguments used (the demo corpus's if none was given).
    cache : ser.data.ClipCache
    settings : ser.data.ClipSettings
    labels : list of str
        The emotions present, in :data:`data_prep.labels.EMOTIONS` order.
    y : np.ndarray [shape=(n_files,), dtype=int]
        Each file's label index.
    folds : list of FoldPlan
    """

    utterances: list
    skipped: list
    corpora: list
    cache: object
    settings: object
    labels: list
    y: np.ndarray
    folds: list


def load_run_data(config, progress=False, log=print):
    """Discover the corpora, load every clip once into the clip cache, label the files and make the folds."""
    from ser.data import ClipSettings, build_clip_cache

    utterances, skipped, corpora = discover_corpora(config)
    settings = ClipSettings(offset=config["offset"], duration=config["duration"])
    cache = build_clip_cache(utterances, settings, augmentation=config["augmentation"] if config["augment"] else {},
                             seed=config["seed"], cache_dir=config["cache_dir"], workers=config["workers"],
                             progress=progress, log=log)
    utterances = cache.utterances
    labels = [e for e in EMOTIONS if e in {u.emotion for u in utterances}]
    if len(labels) < 2:
        raise SERError(f"the corpora hold {len(labels)} emotion(s) ({', '.join(labels)}); need at least 2")
    y = np.array([labels.index(u.emotion) for u in utterances])
    return RunData(utterances, skipped + cache.skipped, corpora, cache, settings, labels, y, make_folds(utterances, config))


def final_plan(utterances, config):
    """The plan of the final model: every file trains (validation speakers aside for early stopping), none tests."""
    from data_prep.splits import validation_speakers

    everyone = np.arange(len(utterances))
    try:
        train, val = validation_speakers(utterances, everyone, fraction=config["val_fraction"], seed=config["seed"])
    except DataPrepError:
        train, val = everyone, np.zeros(0, dtype=int)
    return FoldPlan("final", train, val, np.zeros(0, dtype=int), ())


# --------------------------------------------------------------------------------------------- training


@dataclass
class FoldOutcome:
    """One trained fold: the plan, what trained, how long, and the test predictions (``None`` without a test part)."""

    plan: FoldPlan
    train_rows: np.ndarray
    epochs: int
    seconds: float
    history: dict
    test_rows: np.ndarray = None
    y_test: np.ndarray = None
    prob: np.ndarray = None


def save_outcome(fold_dir, plan, outcome):
    """Write ``fold_dir/outcome.npz``: which plan the fold trained, its test predictions and what trained (atomic;
    a fold's last file). ``outcome.plan`` may differ from ``plan`` (the SVM head trains on the validation files too)."""
    from data_prep.atomic import atomic_write

    arrays = {"name": np.array(plan.name), "train": plan.train, "val": plan.val, "test": plan.test,
              "trained_train": outcome.plan.train, "trained_val": outcome.plan.val, "train_rows": outcome.train_rows,
              "epochs": np.array(outcome.epochs), "seconds": np.array(outcome.seconds)}
    if outcome.prob is not None:
        arrays.update(test_rows=outcome.test_rows, y_test=outcome.y_test, prob=outcome.prob)
    atomic_write(Path(fold_dir) / "outcome.npz", lambda tmp: np.savez(tmp, **arrays))


def load_outcome(fold_dir, plan):
    """The :class:`FoldOutcome` saved in ``fold_dir`` for ``plan`` (:func:`save_outcome`), or ``None`` if there is
    none or it is of another plan (other training, validation or test files)."""
    from dataclasses import replace

    from ser import plots

    path = Path(fold_dir) / "outcome.npz"
    if not path.exists() or not any((Path(fold_dir) / f"model.{ext}").exists() for ext in ("keras", "joblib")):
        return None
    with np.load(path) as f:
        same = str(f["name"]) == plan.name and all(np.array_equal(f[k], getattr(plan, k)) for k in ("train", "val", "test"))
        if not same:
            return None
        trained = replace(plan, **{k: f[f"trained_{k}"] for k in ("train", "val") if f"trained_{k}" in f})
        outcome = FoldOutcome(trained, f["train_rows"], int(f["epochs"]), float(f["seconds"]),
                              plots.read_history(Path(fold_dir) / "history.csv"))
        if "prob" in f:
            outcome.test_rows, outcome.y_test, outcome.prob = f["test_rows"], f["y_test"], f["prob"]
    return outcome


def check_resumable(out, config):
    """Refuse to resume into ``out`` if its ``config.yaml`` differs from ``config`` in an option that changes results."""
    import yaml

    path = Path(out) / "config.yaml"
    if not path.exists():
        return
    before = yaml.safe_load(path.read_text()) or {}
    differ = sorted(k for k in set(before) | set(config) if k not in RESUME_FREE and before.get(k) != config.get(k))
    if differ:
        raise SERError(f"--resume: {path} was written with other options ({', '.join(differ)}: "
                       + "; ".join(f"{k} {before.get(k)!r} there, {config.get(k)!r} now" for k in differ[:4])
                       + "); resume with the same options, or choose another --out")


class FoldTrainer:
    """Trains a fresh model per fold and predicts its test part.

    Per fold: training rows are the originals and (with ``augment``) the augmented copies of the training files;
    validation and test rows are originals. Class weights, Adam, the callbacks of :func:`fin.runs.fit_callbacks`
    (early stopping on the validation loss when the fold has validation files); the model is finalised by the
    input kind and saved as ``model.keras`` in the fold's folder.

    Parameters
    ----------
    config : dict
    data : RunData
    inputs : ser.inputs.Inputs
        Prepared (``inputs.prepare(strategy)`` was called).
    strategy : tf.distribute.Strategy
    n_workers : int
    verbose : int
        Keras' ``fit`` verbosity.
    """

    def __init__(self, config, data, inputs, strategy, n_workers, verbose):
        self.config, self.data, self.inputs, self.strategy = config, data, inputs, strategy
        self.n_workers, self.verbose = n_workers, verbose
        self.train_copies = data.cache.copies if config["augment"] else ["original"]

    def fit(self, plan, fold_dir):
        """Train on ``plan``, save ``fold_dir/model.keras`` (and ``history.csv``), predict the test part."""
        import keras

        from fin.distribute import prebuild
        from fin.runs import fit_callbacks, save_model
        from ser import plots

        config, cache, inputs, y_all = self.config, self.data.cache, self.inputs, self.data.y
        keras.backend.clear_session()
        keras.utils.set_random_seed(config["seed"])
        if config["head"] == "svm":
            return self._fit_svm(plan, fold_dir)
        train_rows = cache.rows(plan.train, self.train_copies)
        val_rows, test_rows = cache.rows(plan.val), cache.rows(plan.test)
        y_train, y_val = y_all[cache.source[train_rows]], y_all[cache.source[val_rows]]
        weights = class_weights(y_train, len(self.data.labels))[y_train] if config["class_weights"] else None
        inputs.start_fold(train_rows)
        with self.strategy.scope():
            model, fit_model = inputs.build(len(self.data.labels), config["seed"])
            optimizer, optimizer_callbacks = inputs.optimizer(model, config)  # Adam(lr) unless config names another
            fit_model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                              jit_compile=config.get("jit_compile", False))
        train_data = inputs.data(train_rows, y_train, weights, shuffle=True, seed=config["seed"])
        if self.n_workers > 1:  # MultiWorkerMirroredStrategy: build before fit (see fin.distribute)
            prebuild(fit_model, self.strategy, (inputs.example(train_rows[:2]), y_train[:2]))
        has_val = len(val_rows) > 0
        callbacks = fit_callbacks(config, fold_dir / "history.csv", "val_loss", early_stopping=has_val)
        callbacks += optimizer_callbacks
        fit_kwargs = dict(epochs=config["epochs"], callbacks=callbacks, verbose=self.verbose)
        if has_val:
            val = inputs.data(val_rows, y_val)
            fit_kwargs["validation_data"] = (val["x"], val["y"]) if "y" in val else val["x"]
        if "y" in train_data:
            fit_kwargs.update(batch_size=config["batch_size"], shuffle=True)
        else:  # a dataset, which batches and shuffles itself (ser.inputs.clip_batches)
            fit_kwargs.update(shuffle=False)
        t0 = time.time()
        history = fit_model.fit(**train_data, **fit_kwargs)
        seconds = time.time() - t0
        inputs.finalize(model, train_rows)
        save_model(model, fold_dir / "model.keras")
        outcome = FoldOutcome(plan, train_rows, len(history.history.get("loss", [])), seconds,
                              plots.read_history(fold_dir / "history.csv"))
        if len(plan.test):
            test = inputs.data(test_rows)
            outcome.test_rows, outcome.y_test = test_rows, y_all[cache.source[test_rows]]
            outcome.prob = fit_model.predict(test["x"], batch_size=config["batch_size"], verbose=0)
        return outcome

    def _fit_svm(self, plan, fold_dir):
        """``head="svm"``: fit the SVM head by sklearn on the training rows' speaker-normalised pooled vectors.

        Nothing stops early, so the validation speakers join training (as in ``opensmile_svm``). Writes
        ``history.csv`` (inner-CV UA per ``C``) and ``svm.json`` beside ``model.keras``.
        """
        from data_prep.splits import speaker_key
        from fin.runs import save_model
        from ser.svm import fit_svm_head, without_validation, write_fold_record

        config, cache, inputs, y_all = self.config, self.data.cache, self.inputs, self.data.y
        plan = without_validation(plan)
        train_rows = cache.rows(plan.train, self.train_copies)
        y_train = y_all[cache.source[train_rows]]
        speakers = np.array([speaker_key(cache.utterances[i]) for i in cache.source[train_rows]])
        inputs.start_fold(train_rows)
        model, fit_model = inputs.build(len(self.data.labels), config["seed"])
        t0 = time.time()
        info = fit_svm_head(fit_model, inputs.example(train_rows), y_train, speakers, len(self.data.labels))
        seconds = time.time() - t0
        inputs.finalize(model, train_rows)
        save_model(model, fold_dir / "model.keras")
        outcome = FoldOutcome(plan, train_rows, len(info["grid"]), seconds, write_fold_record(fold_dir, info))
        if len(plan.test):
            test_rows = cache.rows(plan.test)
            outcome.test_rows, outcome.y_test = test_rows, y_all[cache.source[test_rows]]
            outcome.prob = fit_model.predict(inputs.data(test_rows)["x"], batch_size=config["batch_size"], verbose=0)
        return outcome


# ---------------------------------------------------------------------------------------------- output


def _write_json(path, data):
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _fold_summary(m):
    return f"UA {100 * m['ua']:5.1f} %  WA {100 * m['wa']:5.1f} %  macro-F1 {m['macro_f1']:.3f}"


def format_table(metrics, title):
    """The per-fold and pooled scores as a text table."""
    leaky = "  LEAKY (split by file: speakers are shared between training and test)" if metrics["leaky"] else ""
    norm = ", speaker-normalised" if metrics.get("speaker_norm") else ""
    lines = [f"{title}, protocol {metrics['protocol']}{norm}{leaky}",
             f"{'fold':<18}{'test':>6}{'UA %':>8}{'WA %':>8}{'macro-F1':>10}{'w-F1':>8}{'epochs':>8}{'train s':>9}"]
    for f in metrics["folds"]:
        lines.append(f"{f['name']:<18}{f['n']:>6}{100 * f['ua']:>8.1f}{100 * f['wa']:>8.1f}{f['macro_f1']:>10.3f}"
                     f"{f['weighted_f1']:>8.3f}{f['epochs']:>8}{f['train_seconds']:>9.0f}")
    n = sum(f["n"] for f in metrics["folds"])
    lines.append(f"{'pooled' + (' LEAKY' if metrics['leaky'] else ''):<18}{n:>6}{100 * metrics['ua']:>8.1f}"
                 f"{100 * metrics['wa']:>8.1f}{metrics['macro_f1']:>10.3f}{metrics['weighted_f1']:>8.3f}")
    return "\n".join(lines)


class RunWriter:
    """Every output of a run: each fold's files as the fold ends (:meth:`add`), then the pooled ones (:meth:`finish`).

    Parameters
    ----------
    out : Path
        The run's output folder (pooled outputs).
    kind : str
    config : dict
    data : RunData
    log : callable
    """

    def __init__(self, out, kind, config, data, log):
        self.out, self.kind, self.config, self.data, self.log = Path(out), kind, config, data, log
        self.leaky = is_leaky(config)
        self.tag = " LEAKY" if self.leaky else ""
        self.fold_results, self.y_true, self.prob, self.pred_rows, self.histories = [], [], [], [], {}

    def add(self, outcome, fold_dir):
        """Write one fold's files (``metrics.json``, confusion and learning-curve plots) and keep its predictions."""
        from ser import plots
        from ser.metrics import classification_metrics

        plan, data, tag = outcome.plan, self.data, self.tag
        if outcome.prob is None:  # the final model: no test part
            self.log(f"final model: {len(plan.train)} training files, {outcome.epochs} epochs, {outcome.seconds:.0f} s "
                     f"-> {fold_dir / 'model.keras'}")
            return
        self.histories[plan.name] = outcome.history
        plots.learning_curves({plan.name: outcome.history}, fold_dir / "learning_curves.png", title=plan.name)
        metrics = classification_metrics(outcome.y_test, outcome.prob.argmax(axis=1), data.labels)
        utterances = data.utterances
        fold_info = {"name": plan.name, "test_speakers": list(plan.test_speakers),
                     "n_train_files": int(len(plan.train)), "n_train_clips": int(len(outcome.train_rows)),
                     "n_val_files": int(len(plan.val)), "n_test_files": int(len(plan.test)),
                     "val_speakers": sorted({f"{utterances[i].corpus}:{utterances[i].speaker}" for i in plan.val}),
                     "epochs": outcome.epochs, "train_seconds": round(outcome.seconds, 1),
                     "seconds_per_epoch": round(outcome.seconds / max(outcome.epochs, 1), 2), "leaky": self.leaky}
        fold_metrics = {**metrics, **fold_info}
        _write_json(fold_dir / "metrics.json", fold_metrics)
        plots.confusion_plot(metrics["confusion"], data.labels, fold_dir / "confusion.png", title=f"{plan.name}{tag}")
        self.fold_results.append({k: fold_metrics[k] for k in ("name", "ua", "wa", "macro_f1", "weighted_f1", "n")}
                                 | {k: v for k, v in fold_info.items() if k != "name"})
        self.y_true.append(outcome.y_test)
        self.prob.append(outcome.prob)
        for row, p in zip(outcome.test_rows, outcome.prob):
            u = utterances[data.cache.source[row]]
            self.pred_rows.append([plan.name, u.path, f"{u.corpus}:{u.speaker}", u.emotion, data.labels[int(p.argmax())],
                                   *[f"{v:.5f}" for v in p]])
        self.log(f"fold {plan.name}{tag}: {_fold_summary(metrics)}  ({len(plan.test)} test, {len(plan.train)} train "
                 f"[{len(outcome.train_rows)} clips], {len(plan.val)} val files; {outcome.epochs} epochs, "
                 f"{outcome.seconds:.0f} s)")

    def finish(self, input_kind, replicas, wall_seconds, model_info=None):
        """Write the pooled outputs (metrics, plots, predictions, ``ser_model.json``, ``run.json``); returns the metrics."""
        import keras

        from ser import plots
        from ser.metrics import classification_metrics

        out, kind, config, data, tag = self.out, self.kind, self.config, self.data, self.tag
        y_prob = np.concatenate(self.prob)
        pooled = classification_metrics(np.concatenate(self.y_true), y_prob.argmax(axis=1), data.labels)
        result = {k: pooled[k] for k in ("ua", "wa", "macro_f1", "weighted_f1", "per_class", "labels", "confusion")}
        result.update(folds=self.fold_results, protocol=config["protocol"], leaky=self.leaky,
                      speaker_norm=config["speaker_norm"])
        _write_json(out / "metrics.json", result)
        plots.confusion_plot(pooled["confusion"], data.labels, out / "confusion.png",
                             title=f"{kind} {config['protocol']}{tag}: UA {100 * pooled['ua']:.1f} %")
        plots.learning_curves(self.histories, out / "learning_curves.png", title=kind)
        with open(out / "predictions.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["fold", "path", "speaker", "true", "predicted", *[f"p_{label}" for label in data.labels]])
            writer.writerows(self.pred_rows)
        _write_json(out / "ser_model.json", {
            "kind": kind, "input": input_kind, "labels": data.labels, "clip": data.settings.to_dict(),
            "models": [f"folds/{p.name}/model.keras" for p in data.folds],
            "final_model": "final/model.keras" if config["final_model"] else None,
            "protocol": config["protocol"], "leaky": self.leaky, "speaker_norm": config["speaker_norm"],
            **(model_info or {}),
        })
        _write_json(out / "run.json", {
            "kind": kind, "input": input_kind, "corpora": data.corpora, "files": len(data.utterances),
            "clips_cached": len(data.cache), "cache": str(data.cache.path), "skipped": data.skipped,
            "wall_seconds": round(wall_seconds, 1), "folds": len(data.folds),
            "train_seconds": round(sum(f["train_seconds"] for f in self.fold_results), 1),
            "python": platform.python_version(), "keras": keras.__version__, "cpus": os.cpu_count(),
            "replicas": int(replicas), **(model_info or {}),
        })
        self.log(format_table(result, f"{kind} on {len(data.utterances)} files"))
        skipped = data.skipped
        if skipped:
            self.log(f"skipped {len(skipped)} file(s):")
            for s in skipped[:20]:
                self.log(f"  {s['path']}: {s['reason']}")
            if len(skipped) > 20:
                self.log(f"  ... and {len(skipped) - 20} more (run.json lists all)")
        self.log(f"outputs in {out}" + (" (LEAKY per-file split)" if self.leaky else ""))
        return result


# ------------------------------------------------------------------------------------------------- run


def fit_folds(plans, trainer, writer, folder, config, log):
    """Train each plan's fold (``trainer.fit(plan, fold_dir)``) and write it (``writer.add``), saving its
    ``outcome.npz`` last; with ``config["resume"]`` a fold whose outcome is there is read back instead."""
    for plan in plans:
        final = plan.name == "final" and not len(plan.test)
        fold_dir = folder.write_dir / "final" if final else folder.write_dir / "folds" / plan.name
        fold_dir.mkdir(parents=True, exist_ok=True)
        outcome = load_outcome(fold_dir, plan) if config.get("resume") else None
        if outcome is None:
            outcome = trainer.fit(plan, fold_dir)
            save_outcome(fold_dir, plan, outcome)
        else:
            log(f"fold {plan.name}: read back from {fold_dir} (--resume)")
        writer.add(outcome, fold_dir)


def run(config, kind, inputs_class, model_info=None, verbose=None, progress=None, log=None):
    """Cross-validate one model configuration and write every output.

    Loads the data (:func:`load_run_data`), trains and tests each fold (:class:`FoldTrainer`) and writes as it
    goes (:class:`RunWriter`); the run folder and the callbacks are :mod:`fin.runs`' as in ``fin.train``.

    Parameters
    ----------
    config : dict
        A resolved configuration (:func:`resolve_config` and the caller's own options).
    kind : str
        ``"finetune"`` or ``"baseline"``: recorded for ``ser.predict``.
    inputs_class : type
        A subclass of :class:`ser.inputs.Inputs`.
    model_info : dict or None
        Extra entries for ``ser_model.json``.
    verbose : int or None
        Keras' ``fit`` verbosity (default: 1 on a terminal, else 2).
    progress : bool or None
        Progress bars while caching (default: on a terminal).
    log : callable or None
        Where progress lines go (default: print to stdout).

    Returns
    -------
    metrics : dict
        The contents of ``metrics.json``; ``None`` on a non-chief worker.
    """
    from fin.distribute import make_strategy
    from fin.runs import RunFolder

    log = log or (lambda text: print(text, flush=True))
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    progress = sys.stderr.isatty() if progress is None else progress
    t_start = time.time()
    if config.get("resume"):
        check_resumable(config["out"], config)
    folder = RunFolder.open(config["out"])
    data = load_run_data(config, progress, log)
    log(f"{kind}{' LEAKY' if is_leaky(config) else ''}: {len(data.utterances)} files "
        f"({len(data.skipped)} skipped), {len(data.labels)} classes, {len(data.folds)} fold(s) ({config['protocol']}), "
        f"{data.settings.n_frames} frames per clip, copies {', '.join(data.cache.copies) if config['augment'] else 'original'}")
    folder.write_config(config)

    strategy = make_strategy(config["strategy"])
    inputs = inputs_class(config, data.cache, progress=progress)
    inputs.prepare(strategy)
    trainer = FoldTrainer(config, data, inputs, strategy, folder.n_workers, verbose)
    writer = RunWriter(folder.out, kind, config, data, log)
    plans = list(data.folds) + ([final_plan(data.utterances, config)] if config["final_model"] else [])
    fit_folds(plans, trainer, writer, folder, config, log)
    if folder.discard_scratch():
        data.cache.close()
        return None
    result = writer.finish(inputs.kind, strategy.num_replicas_in_sync, time.time() - t_start, model_info)
    data.cache.close()
    return result


def add_common_arguments(parser):
    """The command-line options shared by ``ser.finetune`` and ``ser.baseline``."""
    import argparse

    from data_prep.corpora import corpus_names
    from fin.distribute import STRATEGIES
    from ser.model import COMPRESSIONS, FEATURE_NORMS, HEADS, POOLINGS, TEMPORALS

    parser.add_argument("--corpus", action="append", dest="corpora", metavar="NAME=PATH",
                        help=f"a corpus (repeatable); NAME in {', '.join(corpus_names())}. Default: the demo corpus")
    parser.add_argument("--protocol", choices=list(PROTOCOLS),
                        help="loso (default), speaker-kfold (--folds k), split (a fixed speaker split) or file-kfold "
                             "(LEAKY: k folds over files, speakers shared; to reproduce seed papers' protocol)")
    parser.add_argument("--folds", type=int, help="k of speaker-kfold or file-kfold (default 5)")
    parser.add_argument("--leaky-file-split", action="store_true", default=None,
                        help="the seed's per-file 70/15/15 split (speakers shared between training and test; "
                             "labelled LEAKY everywhere)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default 70; early stopping on validation speakers)")
    parser.add_argument("--batch-size", type=int, help="global batch size (default 64)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default 5e-4)")
    parser.add_argument("--patience", type=int, dest="early_stopping_patience",
                        help="early-stopping patience in epochs (default 10; 0: off)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                        help="the seed's augmented copies in the training part of each fold (default: on)")
    parser.add_argument("--offset", type=float, help="seconds skipped at the start of each file (default 0.6)")
    parser.add_argument("--duration", type=float, help="seconds per clip (default 2.5: 108 frames)")
    parser.add_argument("--pooling", choices=list(POOLINGS), help="pooling over time (default mean, the seed's)")
    parser.add_argument("--feature-norm", choices=list(FEATURE_NORMS),
                        help="per-feature BatchNorm of the pooled vector before the head (default none, the seed's)")
    parser.add_argument("--head", choices=list(HEADS), help="seed (the seed's 1D CNN, default), mlp (a small "
                                                            "regularised Dense head) or svm (a linear one-vs-one SVM "
                                                            "fitted by sklearn, C chosen inside the training speakers; "
                                                            "needs --speaker-norm)")
    parser.add_argument("--compress", choices=list(COMPRESSIONS),
                        help="log: log of the rms and mel values before pooling (default none, the seed's)")
    parser.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=None,
                        help="z-normalise each clip's pooled vector with its speaker's statistics (test speakers: "
                             "from their own unlabelled recordings); frozen FINs and the baseline only (default off)")
    parser.add_argument("--deltas", action=argparse.BooleanOptionalAction, default=None,
                        help="append each frame's first difference over time before pooling (default off)")
    parser.add_argument("--temporal", choices=list(TEMPORALS),
                        help="a temporal block over the frames before pooling: none (default, the seed's), conv, gru")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None,
                        help="XLA-compile training: about 2x faster fine-tuning steps with the MLP head (slower with the "
                             "seed's CNN head), but it gave NaN losses on some EMO-DB batches that plain TensorFlow "
                             "computes finitely (not explained yet); default off")
    parser.add_argument("--mask-padding", action=argparse.BooleanOptionalAction, default=None,
                        help="pool over the frames with audio only, not the zero padding of short clips (default: on; "
                             "--no-mask-padding is the seed's mean over all frames)")
    parser.add_argument("--final-model", action="store_true", default=None,
                        help="also train one model on every speaker, saved as final/model.keras (used by ser.predict)")
    parser.add_argument("--max-files", type=int, help="at most N files per corpus (a seeded sample)")
    parser.add_argument("--cache-dir", help="clip cache folder (default $FIN_CACHE_DIR/ser or ~/.cache/fin-toolkit/ser)")
    parser.add_argument("--workers", type=int, help="audio loading processes (default: all cores)")
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--config", help="YAML file of defaults (option names as in config.yaml); flags override it")
    parser.add_argument("--strategy", choices=list(STRATEGIES), help="tf.distribute strategy (default: default)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--resume", action="store_true", default=None,
                        help="go on with a killed run in the same --out with the same options: folds that finished "
                             "(folds/<name>/outcome.npz) are read back, the others trained")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines and no progress bars")


def config_from_args(parser, args, defaults):
    """YAML defaults, then the flags given; resolved. Bad values end in ``parser.error`` (exit status 2)."""
    config = {}
    try:
        if args.config:
            config.update(load_options(args.config, defaults, SERError))
        for key in defaults:
            value = getattr(args, key, None)
            if value is not None:
                config[key] = value
        return config
    except SERError as err:
        parser.error(str(err))


def run_cli(parser, defaults, resolve, job, argv=None):
    """The ``main()`` of ``ser.finetune`` and ``ser.baseline``: parse, resolve, run; returns the exit status.

    Bad options, and a protocol the corpora's speakers cannot fill, end in ``parser.error`` (exit status 2) before
    any work; an error during the run prints ``error: ...`` and returns 1.
    ``resolve(config)`` completes a configuration, ``job(config, **kwargs)`` runs it.
    """
    args = parser.parse_args(argv)
    config = config_from_args(parser, args, defaults)
    try:
        config = resolve(config)
        check_protocol(config)
        if config.get("resume"):
            check_resumable(config["out"], config)
    except SERError as err:
        parser.error(str(err))
    quiet = {"verbose": 0, "progress": False} if args.quiet else {}
    try:
        job(config, **quiet)
    except SERError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
