"""Predict the emotion of audio files with a trained SER model folder.

::

    python -m ser.predict FILE_OR_DIR [FILE_OR_DIR ...] [--model DIR] [--models final|ensemble|FOLD]
        [--window 2.5] [--hop 0.5] [--json]

``--model`` is a ``ser.finetune`` or ``ser.baseline`` output folder; its ``ser_model.json`` says what the models
take (raw frames, the baseline's librosa clip features or librosa's frame features), the labels and the clip
settings. Which of its models predict (:func:`choose_models`): ``--models final`` is ``final/model.keras``
(trained with ``--final-model`` on every speaker), ``--models FOLD`` one fold's model, ``--models ensemble`` the
mean of every fold model's probabilities (k times the work). By default one model: the final model if the folder
has one, else the fold model trained on the most files, with a note on stderr naming it.

Each file is loaded mono at 22.05 kHz from ``--offset`` seconds (default: the model's clip offset, 0.6 s, as in
training). Audio up to one window long is one clip, zero-padded as in training. Longer audio is cut into windows of
``--window`` seconds every ``--hop`` seconds (the last window ends at the end of the file); the file's emotion is
the mean of the windows' probabilities and the windows are printed as a timeline. A model on raw frames takes a
fixed number of frames, so its window is at most its training clip (2.5 s by default).

A model trained with ``--speaker-norm`` normalises each clip's pooled vector with its speaker's statistics. By
default (``--speaker-adapt``) every file given is taken to come from one speaker: the statistics are computed over
all their windows (at least :data:`MIN_ADAPT_WINDOWS`) before any is classified. ``--no-speaker-adapt`` (or fewer
windows) uses the statistics of the training speakers stored in the model instead.

The real-time factor is the processing time (loading, features, inference; not loading the model) over the
seconds of audio analysed. Unreadable files are reported and skipped; the exit status is 0 if at least one file
was predicted, 1 if none was, 2 for bad options.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from ser.errors import SERError

DEFAULT_MODEL = "runs/ser/finetune-none-pretrained"
#: Fewest windows over which ``--speaker-adapt`` computes a speaker's statistics.
MIN_ADAPT_WINDOWS = 10


class Predictor:
    """The models of a SER output folder and what they need.

    Parameters
    ----------
    folder : str or Path
        A ``ser.finetune`` or ``ser.baseline`` output folder (holding ``ser_model.json``).
    models : str or None
        ``"final"``, ``"ensemble"`` or a fold name; ``None``: the default of :func:`choose_models`.

    Attributes
    ----------
    kind : str
        ``"finetune"`` or ``"baseline"``.
    labels : list of str
    settings : ser.data.ClipSettings
        The training clips' settings.
    input : str
        What the models take: ``"frames"`` or ``"fin_features"`` (raw frames), ``"librosa_frames"`` (librosa's
        features per frame) or ``"clip_features"`` (librosa's features averaged over the clip).
    models : list of keras.Model
    note : str or None
        Why these models, when the choice was not explicit and the folder offered others.
    """

    def __init__(self, folder, models=None):
        import fin  # noqa: F401  (registers the FIN layers)
        import ser.layers  # noqa: F401  (registers the SER layers)
        from fin.errors import FINError
        from fin.presets import load_model_file
        from ser.data import ClipSettings

        self.folder = Path(folder)
        card = self.folder / "ser_model.json"
        if not card.is_file():
            raise SERError(f"--model {folder}: no ser_model.json there; expected a ser.finetune or ser.baseline "
                           "output folder")
        try:
            self.info = json.loads(card.read_text())
            self.kind, self.labels = self.info["kind"], self.info["labels"]
            clip = self.info["clip"]
            self.settings = ClipSettings(offset=clip["offset"], duration=clip["duration"], sr=clip["sr"])
            if not isinstance(self.info["models"], list):
                raise TypeError("'models' is not a list of model files")
        except SERError:  # a bad clip setting: its own message (SERError is a ValueError too)
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise SERError(f"--model {folder}: {card} is damaged or not a ser_model.json ({type(err).__name__}: {err})") from err
        self.input = self.info.get("input") or ("clip_features" if self.kind == "baseline" else "frames")
        files, self.note = choose_models(self.folder, self.info, models)
        missing = [f for f in files if not (self.folder / f).is_file()]
        if missing:
            raise SERError(f"--model {folder}: missing model file(s) {', '.join(missing)}")
        self.model_files = files
        try:
            self.models = [load_model_file(self.folder / f) for f in files]
        except FINError as err:
            raise SERError(f"--model {folder}: {err}") from err
        self.speaker_norm = bool(self.info.get("speaker_norm"))
        if self.speaker_norm:
            self._parts = [self._split(m) for m in self.models]
        from ser.model import inference_model

        # what runs: the FINs' layers in common (window, DFT, mel filter bank) computed once, the same outputs
        self._run = [inference_model(m) for m in self.models]

    @staticmethod
    def _split(model):
        """``(pooled, head, speaker_norm layer)`` of a model with speaker normalisation."""
        from ser.model import find_layer, head_model, pooled_model

        if model.name == "ser":
            import keras

            from ser.layers import FrameMask
            from ser.model import build_shared_fin_stack, get_fins

            classifier = model.get_layer("classifier")
            stack = build_shared_fin_stack(get_fins(model), model.input_shape[1])  # the layers in common once
            frames = keras.Input(shape=model.input_shape[1:], name="frames")
            features = stack(frames)
            inputs = [features, FrameMask(name="frame_mask")(frames)] if len(classifier.inputs) == 2 else features
            to_pooled = keras.Model(frames, pooled_model(classifier)(inputs), name="pooled")
        else:
            to_pooled, classifier = pooled_model(model), model
        return to_pooled, head_model(classifier), find_layer(classifier, "speaker_norm")

    def _inputs(self, part):
        """The model input of clips, as training computed it."""
        from ser.data import clip_frames, fit_clip, frame_mask
        from ser.features import clip_features, frame_features

        if self.input == "clip_features":
            return np.stack([clip_features(c, sr=self.settings.sr) for c in part])
        frames = clip_frames(np.stack([fit_clip(c, self.settings.n_samples)[0] for c in part]), self.settings.n_frames)
        if self.input != "librosa_frames":
            return frames
        features = frame_features(frames, sr=self.settings.sr)
        if len(self.models[0].inputs) == 2:  # mask_padding: pool over the frames with audio
            return [features, frame_mask(frames).astype(np.float32)]
        return features

    def pooled(self, clips, batch_size=4):
        """Per model, the pooled vectors of clips before speaker normalisation: a list of ``(len(clips), dim)``."""
        out = [[] for _ in self.models]
        for start in range(0, len(clips), batch_size):
            x = self._inputs(clips[start : start + batch_size])
            for parts, (pooled, _, _) in zip(out, self._parts):
                parts.append(np.asarray(pooled.predict_on_batch(x)))
        return [np.concatenate(p) for p in out]

    def adapt(self, pooled):
        """Set every model's speaker statistics from pooled vectors (:meth:`pooled`) of one speaker's windows."""
        for vectors, (_, _, layer) in zip(pooled, self._parts):
            layer.set_statistics(vectors.mean(axis=0), vectors.std(axis=0))

    def classify(self, pooled):
        """Class probabilities from pooled vectors (:meth:`pooled`), averaged over the models."""
        return np.mean([np.asarray(head.predict_on_batch(p)) for p, (_, head, _) in zip(pooled, self._parts)], axis=0)

    @property
    def takes_frames(self):
        """Whether the models take a fixed number of frames (all but the averaged baseline's clip features)."""
        return self.input != "clip_features"

    @property
    def max_window(self):
        """Longest window in seconds: the training clip for a model on frames, unlimited for clip features."""
        return self.settings.duration if self.takes_frames else float("inf")

    def predict_clips(self, clips, batch_size=4):
        """Class probabilities of clips (each a 1-D signal at 22.05 kHz, at most one training clip long).

        Returns
        -------
        probabilities : np.ndarray [shape=(len(clips), n_classes)]
            Averaged over the models.
        """
        out = []
        for start in range(0, len(clips), batch_size):
            x = self._inputs(clips[start : start + batch_size])
            # predict_on_batch runs Keras' compiled predict function: far less per-call overhead than eager calls
            out.append(np.mean([np.asarray(m.predict_on_batch(x)) for m in self._run], axis=0))
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)


def choose_models(folder, info, choice=None):
    """The model files of a run folder to predict with, and a note saying why when the choice was implicit.

    Parameters
    ----------
    folder : Path
        The run folder.
    info : dict
        Its ``ser_model.json``: ``models`` (the fold models' files) and ``final_model`` (a file or ``None``).
    choice : str or None
        ``"final"``: the final model (an error if the run has none); ``"ensemble"``: every fold model, their
        probabilities averaged; a fold name: that fold's model. ``None``: the final model if present, else one fold
        model, the one trained on the most files (``n_train_files`` in ``metrics.json``; the first on a tie), named
        in the note: several models are chosen only when asked for, as they cost one model call each.

    Returns
    -------
    files : list of str
        Model files, relative to ``folder``.
    note : str or None
        Set when ``choice`` is ``None`` and the folder holds several fold models but no final model.

    Raises
    ------
    SERError
        ``"final"`` without a final model, an unknown fold name, or a folder without models; the message lists
        the valid choices.
    """
    folder = Path(folder)
    folds = list(info["models"])
    names = [Path(m).parent.name for m in folds]
    final = info.get("final_model")
    has_final = bool(final) and (folder / final).is_file()
    valid = ", ".join([*(["final"] if has_final else []), "ensemble", *names])
    if choice == "final":
        if not has_final:
            raise SERError(f"--models final: {folder} has no final model (trained with --final-model); expected one "
                           f"of {valid}")
        return [final], None
    if not folds:
        if has_final and choice is None:
            return [final], None
        raise SERError(f"--model {folder}: ser_model.json lists no fold models")
    if choice == "ensemble":
        return folds, None
    if choice is not None:
        if choice not in names:
            raise SERError(f"--models {choice!r} is not a model of {folder}; expected one of {valid}")
        return [folds[names.index(choice)]], None
    if has_final:
        return [final], None
    if len(folds) == 1:
        return folds, None
    n_train = {}
    try:
        n_train = {f["name"]: int(f["n_train_files"]) for f in json.loads((folder / "metrics.json").read_text())["folds"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable metrics.json: the first fold
    pick = max(range(len(folds)), key=lambda i: (n_train.get(names[i], -1), -i))
    why = f"the one trained on the most files ({n_train[names[pick]]})" if names[pick] in n_train else "the first"
    note = (f"note: {folder} has no final model (train with --final-model); using one of its {len(folds)} fold "
            f"models, {folds[pick]}, {why}. --models ensemble averages all {len(folds)} ({len(folds)}x the work); "
            f"--models FOLD picks one ({', '.join(names)})")
    return [folds[pick]], note


def speed_words(rtf):
    """A real-time factor (processing seconds per second of audio) in words.

    Examples
    --------
    >>> speed_words(0.01), speed_words(1.7096), speed_words(0.5), speed_words(1.0)
    ('100x faster than real time', '1.7x slower than real time', '2.0x faster than real time', 'as fast as real time')
    """
    if rtf <= 0:
        return "instantaneous"
    if abs(rtf - 1) < 0.05:
        return "as fast as real time"
    if rtf > 1:
        return f"{rtf:.1f}x slower than real time"
    factor = 1 / rtf
    return f"{factor:.0f}x faster than real time" if factor >= 10 else f"{factor:.1f}x faster than real time"


def window_starts(n_samples, window, hop):
    """Start samples of the windows over a signal: every ``hop`` samples, the last one ending at the end.

    Examples
    --------
    >>> window_starts(100, 40, 25)
    [0, 25, 50, 60]
    >>> window_starts(30, 40, 25)
    [0]
    """
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples:
        starts.append(n_samples - window)
    return starts


def audio_files(paths):
    """Files named, and audio files found (recursively, sorted) in folders named; missing paths are returned
    as ``(path, reason)`` failures."""
    from data_prep.corpora import AUDIO_EXTENSIONS

    from data_prep.audio import path_problem

    files, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_EXTENSIONS and not q.is_dir()
                           and not any(part.startswith(".") for part in q.relative_to(p).parts))
            if not found:
                missing.append((str(p), "folder holds no audio files"))
            files.extend(found)  # FIFOs, devices and broken links among them are reported by load_audio
        elif (problem := path_problem(p)) is None:
            files.append(p)
        else:
            missing.append((str(p), "no such file or folder" if problem == "file not found" else problem))
    return files, missing


def file_windows(predictor, path, window, hop, offset):
    """Load one file and cut its windows: ``(signal, window start samples, windows)``. Raises ``AudioError``."""
    from data_prep.audio import load_audio

    sr = predictor.settings.sr
    y = load_audio(path, sr=sr, offset=offset)
    n_window, n_hop = int(round(window * sr)), max(1, int(round(hop * sr)))
    starts = window_starts(len(y), n_window, n_hop)
    return y, starts, [y[s : s + n_window] for s in starts]


def file_result(predictor, path, y, starts, probs, window, offset):
    """The result dict of one file from its windows' probabilities."""
    sr = predictor.settings.sr
    n_window = int(round(window * sr))
    mean = probs.mean(axis=0)
    result = {
        "path": str(path),
        "seconds": round(len(y) / sr + offset, 3),
        "analysed_seconds": round(len(y) / sr, 3),
        "emotion": predictor.labels[int(mean.argmax())],
        "probabilities": {label: round(float(p), 4) for label, p in zip(predictor.labels, mean)},
        "timeline": None,
    }
    if len(starts) > 1:
        result["timeline"] = [
            {"start": round(offset + s / sr, 3), "end": round(offset + min(s + n_window, len(y)) / sr, 3),
             "emotion": predictor.labels[int(p.argmax())],
             "probabilities": {label: round(float(v), 4) for label, v in zip(predictor.labels, p)}}
            for s, p in zip(starts, probs)
        ]
    return result


def _format(result):
    probs = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
    lines = [f"{result['path']} ({result['seconds']:.1f} s): {result['emotion']}  "
             + "  ".join(f"{label} {p:.2f}" for label, p in probs)]
    for w in result["timeline"] or []:
        lines.append(f"  {w['start']:7.2f}-{w['end']:7.2f} s  {w['emotion']:<9} {w['probabilities'][w['emotion']]:.2f}")
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m ser.predict", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="audio files, or folders searched recursively")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"a ser.finetune or ser.baseline output folder "
                                                                f"(default {DEFAULT_MODEL})")
    parser.add_argument("--models", metavar="final|ensemble|FOLD",
                        help="final: final/model.keras; ensemble: every fold model, averaged; FOLD: that fold's model. "
                             "Default: the final model if the folder has one, else the fold model trained on the most "
                             "files (named in a note)")
    parser.add_argument("--window", type=float, help="window in seconds (default: the model's clip, 2.5 s)")
    parser.add_argument("--hop", type=float, default=0.5, help="hop between windows in seconds (default 0.5)")
    parser.add_argument("--offset", type=float, help="seconds skipped at the start of each file "
                                                     "(default: the model's clip offset, 0.6 s)")
    parser.add_argument("--batch-size", type=int, default=4, help="windows per model call (default 4)")
    parser.add_argument("--speaker-adapt", action=argparse.BooleanOptionalAction, default=True,
                        help="for a model trained with --speaker-norm: take every file given as one speaker and "
                             "normalise with their statistics (default); --no-speaker-adapt: the training speakers'")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return parser


def main(argv=None):
    """Command line; returns 0 if any file was predicted, 1 if none was (bad options: 2)."""
    from data_prep.audio import AudioError

    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("hop", "window", "offset"):
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            parser.error(f"--{name} {value} is not valid; expected a finite number of seconds")
    if args.hop <= 0:
        parser.error(f"--hop must be positive, got {args.hop}")
    if args.window is not None and args.window * 22050 < 2048:
        parser.error(f"--window {args.window} is shorter than one 2048-sample frame ({2048 / 22050:.3f} s)")
    if args.offset is not None and args.offset < 0:
        parser.error(f"--offset must be >= 0, got {args.offset}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        predictor = Predictor(args.model, models=args.models)
    except SERError as err:
        parser.error(str(err))
    if predictor.note:
        print(predictor.note, file=sys.stderr)
    window = predictor.settings.duration if args.window is None else args.window
    if window > predictor.max_window + 1e-9:
        parser.error(f"--window {window} is longer than the model's clip ({predictor.max_window} s, "
                     f"{predictor.settings.n_frames} frames); use at most that")
    offset = predictor.settings.offset if args.offset is None else args.offset

    files, failed = audio_files(args.inputs)
    failed = [{"path": p, "reason": r} for p, r in failed]
    if not args.json:
        for item in failed:
            print(f"error: {item['path']}: {item['reason']} (skipped)", file=sys.stderr)
    results, audio_seconds, t0 = [], 0.0, time.perf_counter()

    def emit(result):
        nonlocal audio_seconds
        results.append(result)
        audio_seconds += result["analysed_seconds"]
        if not args.json:
            print(_format(result), flush=True)

    adapt = predictor.speaker_norm and args.speaker_adapt
    loaded = []  # with speaker adaptation: (path, signal, window starts, pooled vectors) of every file first
    for path in files:
        try:
            y, starts, clips = file_windows(predictor, path, window, args.hop, offset)
        except AudioError as err:
            failed.append({"path": str(path), "reason": str(err)})
            if not args.json:
                print(f"error: {path}: {err} (skipped)", file=sys.stderr)
            continue
        if adapt:
            loaded.append((path, y, starts, predictor.pooled(clips, args.batch_size)))
        else:
            emit(file_result(predictor, path, y, starts, predictor.predict_clips(clips, args.batch_size), window, offset))
    adapted = False
    if loaded:  # the speaker's statistics over every window of every file, then the heads
        n_windows = sum(len(item[2]) for item in loaded)
        if n_windows >= MIN_ADAPT_WINDOWS:
            predictor.adapt([np.concatenate([item[3][m] for item in loaded]) for m in range(len(predictor.models))])
            adapted = True
        elif not args.json:
            print(f"note: {n_windows} window(s) are too few to estimate the speaker's statistics (at least "
                  f"{MIN_ADAPT_WINDOWS}); using the training speakers'", file=sys.stderr)
        for path, y, starts, pooled in loaded:
            emit(file_result(predictor, path, y, starts, predictor.classify(pooled), window, offset))
    seconds = time.perf_counter() - t0
    rtf = seconds / audio_seconds if audio_seconds else None
    summary = {
        "model": str(args.model), "kind": predictor.kind, "input": predictor.input, "models": predictor.model_files,
        "models_note": predictor.note, "labels": predictor.labels,
        "window": window, "hop": args.hop, "offset": offset, "speaker_norm": predictor.speaker_norm,
        "speaker_adapted": adapted, "files": results, "failed": failed,
        "audio_seconds": round(audio_seconds, 3), "processing_seconds": round(seconds, 3),
        "real_time_factor": None if rtf is None else round(rtf, 5),
    }
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        speed = f"real-time factor {rtf:.4f} ({speed_words(rtf)})" if rtf else "no audio analysed"
        print(f"{len(results)} file(s), {audio_seconds:.1f} s of audio in {seconds:.2f} s: {speed}; "
              f"{len(predictor.models)} model(s) averaged" + (f"; {len(failed)} file(s) failed" if failed else ""))
    return 0 if results else 1


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (lazily, in main)
    sys.exit(main())
