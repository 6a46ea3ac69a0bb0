"""How well FINs imitate librosa on whole corpora: R² per corpus and feature, error against frame energy, and
on band-limited input.

::

    python -m experiments.generalization --corpus esd=/data/ESD [--corpus emodb=/data/emodb ...]
        [--fins presets | DIR | FILE.keras | PRESET ...] [--max-files N] [--json OUT] [--report DIR]
        [--batch-size 1024] [--seed 0] [--band-limited-files 20]

For each corpus the files the loaders of :mod:`data_prep.corpora` find (at most ``--max-files`` of them, a
seeded sample) are loaded as the store build loads them (:func:`data_prep.audio.load_audio`: mono, 22,050 Hz,
no augmentation), framed (2048 samples, hop 512, no padding) and given the seed-faithful targets
(:func:`data_prep.targets.targets_from_frames`, target set ``seed``). Every FIN runs on the same frames in
batches, and per feature the script accumulates, over all frames of the corpus:

- uniform R², variance-weighted R², per-output R², MSE and the frame count (:class:`fin.metrics.R2Accumulator`,
  which equals ``sklearn.metrics.r2_score`` on the concatenated frames);
- the error against frame energy: frames binned by their RMS in dBFS (``20 log10 rms``, full scale 1.0; a
  full-scale sine is -3 dBFS) at :data:`ENERGY_EDGES`, with per bin the MSE normalised by the corpus-wide target
  variance (``nmse``: 1 - nmse is the R² the corpus would have if every frame erred like that bin's) and the R²
  within the bin;
- band-limited input: every k-th file (``--band-limited-files`` of them) also goes through
  22,050 -> 16,000 -> 22,050 Hz (``librosa.resample``), which leaves nothing above 8 kHz, with its targets
  recomputed on the band-limited signal; R² on those frames beside the full-band R² on the same files.

Files that cannot be labelled or read are skipped with their path and reason, listed at the end and in the JSON
(``"skipped"``); the rest of the corpus still reports. Without ``--corpus`` the script runs on the built-in demo
corpus (:mod:`data_prep.demo`).

``--fins`` (default ``presets``) takes any mix of: ``presets`` or ``closed-form`` (every shipped closed-form preset,
:func:`fin.list_presets`); ``learned`` (every preset of the learned family); a preset name (``mfcc``, ``learned:mfcc``); a ``.keras`` file; a ``fin.train`` output folder (holding ``model.keras``); or a folder of
run folders ``<feature>*/model.keras`` (or of files ``<feature>*.keras``). A model's feature is read from its name
(``<feature>_<arch>``, as :func:`fin.build_model` names it), else from its file or folder name. Later arguments
replace earlier ones for the same feature (``--fins presets runs/mfcc_new``).

Outputs: a table on stdout; with ``--json OUT`` the results as JSON::

    {"corpora": {NAME: {"rms": {"r2", "r2_vw", "per_output": [...], "mse", "frames"}, "zcr": {...}, ...}},
     "fins": {FEATURE: {"source", "arch", "params", "model"}},
     "skipped": {NAME: [{"path", "reason", "stage"}]}, "files": {NAME: {...counts}},
     "energy": {NAME: {...}}, "band_limited": {NAME: {...}}, "config": {...}}

and with ``--report DIR`` a folder holding ``README.md`` (the tables, links to the plots), ``results.json`` (the
same JSON) and PNGs. This module measures; :mod:`experiments.generalization_report` writes the table, the JSON
and the report from the results.
"""

import argparse
import math
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.errors import ToolkitError
from data_prep.targets import FEATURE_DIMS, FEATURES, FRAME_LENGTH, HOP_LENGTH, SR
from experiments.generalization_report import format_table, write_json, write_report

#: Frame-energy bin edges in dBFS (``20 log10 rms``): bins ``< -60``, ``-60..-40``, ``-40..-20``, ``>= -20``.
ENERGY_EDGES = (-60.0, -40.0, -20.0)
#: Sample rate the band-limited copies pass through: nothing above half of it survives.
BAND_LIMIT_SR = 16000
#: RMS floor before taking dB (librosa's ``amin`` for amplitudes).
_RMS_FLOOR = 1e-10


class GeneralizationError(ToolkitError):
    """A bad ``--fins`` or ``--corpus`` argument; the message names the value and what was expected."""


# ------------------------------------------------------------------------------------------- pure helpers


def energy_bin_labels(edges=ENERGY_EDGES):
    """Labels of the frame-energy bins that ``edges`` (dBFS, increasing) define.

    Examples
    --------
    >>> energy_bin_labels((-60, -40, -20))
    ['< -60', '-60..-40', '-40..-20', '>= -20']
    """
    edges = [f"{e:g}" for e in edges]
    return [f"< {edges[0]}"] + [f"{lo}..{hi}" for lo, hi in zip(edges[:-1], edges[1:])] + [f">= {edges[-1]}"]


def frame_dbfs(rms):
    """Frame level in dBFS, ``20 log10(max(rms, 1e-10))``.

    Parameters
    ----------
    rms : np.ndarray [shape=(n_frames,) or (n_frames, 1)]
        Frame RMS (the ``rms`` target), full scale 1.0.

    Returns
    -------
    db : np.ndarray [shape=(n_frames,)]

    Examples
    --------
    >>> frame_dbfs(np.array([[1.0], [0.01], [0.0]])).round(6).tolist()
    [0.0, -40.0, -200.0]
    """
    return 20.0 * np.log10(np.maximum(np.asarray(rms, dtype=np.float64).reshape(-1), _RMS_FLOOR))


def energy_bins(rms, edges=ENERGY_EDGES):
    """Index of the energy bin of every frame (0: quietest), from its RMS.

    Examples
    --------
    >>> energy_bins(np.array([0.0, 0.005, 0.05, 0.5])).tolist()
    [0, 1, 2, 3]
    """
    return np.searchsorted(np.asarray(edges, dtype=np.float64), frame_dbfs(rms), side="right")


def band_limit(y, sr=SR, via_sr=BAND_LIMIT_SR):
    """Resample ``y`` from ``sr`` to ``via_sr`` and back, keeping its length: nothing above ``via_sr / 2`` is left.

    This is what a 16 kHz recording looks like once loaded at 22,050 Hz.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]

    Returns
    -------
    y_band : np.ndarray [shape=(n,), dtype=float32]

    Examples
    --------
    >>> t = np.arange(22050) / 22050
    >>> y = np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 10000 * t)
    >>> spectrum = np.abs(np.fft.rfft(band_limit(y)))   # 1 Hz bins
    >>> bool(spectrum[10000] < 1e-3 * spectrum[1000])
    True
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    low = librosa.resample(y, orig_sr=sr, target_sr=via_sr)
    back = librosa.resample(low, orig_sr=via_sr, target_sr=sr)
    out = np.zeros_like(y)
    n = min(len(y), len(back))
    out[:n] = back[:n]
    return out


def sample_utterances(utterances, max_files, seed):
    """At most ``max_files`` of ``utterances``, a seeded sample kept in the original order.

    Examples
    --------
    >>> sample_utterances(list("abcdef"), 3, seed=0) == sample_utterances(list("abcdef"), 3, seed=0)
    True
    >>> sample_utterances(list("abc"), None, seed=0)
    ['a', 'b', 'c']
    """
    if not max_files or len(utterances) <= max_files:
        return list(utterances)
    chosen = np.sort(np.random.default_rng(seed).choice(len(utterances), size=max_files, replace=False))
    return [utterances[i] for i in chosen]


# ------------------------------------------------------------------------------------------------- FINs


@dataclass
class LoadedFIN:
    """A FIN ready to run, with where it came from.

    Attributes
    ----------
    feature : str
    model : keras.Model
        Input ``(batch, 2048)`` frames, output ``(batch, FEATURE_DIMS[feature])``.
    source : str
        ``preset:<name>`` or the path it was loaded from.
    arch : str
    """

    feature: str
    model: object
    source: str
    arch: str

    def describe(self):
        """``{"source", "arch", "params", "model"}``, the JSON ``fins`` entry."""
        return {"source": self.source, "arch": self.arch, "params": int(self.model.count_params()), "model": self.model.name}


def _feature_of(model, hints=()):
    """(feature, arch) from the model name ``<feature>_<arch>``, else from the first hint naming a feature."""
    feature, _, arch = model.name.partition("_")
    if feature in FEATURE_DIMS:
        return feature, arch or "unknown"
    for hint in hints:
        for name in FEATURES:
            if str(hint).startswith(name):
                return name, "unknown"
    return None, None


def _checked(model, source, hints=()):
    feature, arch = _feature_of(model, hints)
    if feature is None:
        raise GeneralizationError(
            f"cannot tell which feature the model {model.name!r} from {source} imitates: expected a model named "
            f"<feature>_<arch> or a file or folder named after the feature ({', '.join(FEATURES)})"
        )
    dim = model.output_shape[-1] if isinstance(model.output_shape, tuple) else None
    if model.input_shape[-1] != FRAME_LENGTH or dim != FEATURE_DIMS[feature]:
        raise GeneralizationError(
            f"model {model.name!r} from {source} maps {model.input_shape} to {model.output_shape}; a {feature} FIN "
            f"maps (None, {FRAME_LENGTH}) to (None, {FEATURE_DIMS[feature]})"
        )
    return LoadedFIN(feature, model, source, arch)


def _resolve_one(spec):
    """The FINs one ``--fins`` argument names, as feature -> :class:`LoadedFIN`."""
    from fin.errors import FINError
    from fin.presets import FAMILIES, FAMILY_ALIASES, resolve_model_specs

    try:
        found_models = resolve_model_specs(spec, FEATURES)
    except FINError as err:
        raise GeneralizationError(str(err)) from err
    except (OSError, ValueError, TypeError) as err:  # a corrupt or foreign .keras file
        raise GeneralizationError(f"cannot load {spec!r}: {type(err).__name__}: {err}") from err
    found = {}
    for model, source, hints in found_models:
        item = _checked(model, source, hints)
        if item.feature in found and spec not in FAMILIES and spec not in FAMILY_ALIASES:
            raise GeneralizationError(
                f"{spec!r} holds more than one {item.feature} FIN ({found[item.feature].source} and {item.source}); "
                "pass the one you mean"
            )
        found[item.feature] = item
    return found


def resolve_fins(specs):
    """Load the FINs that ``--fins`` names, later arguments replacing earlier ones for the same feature.

    Parameters
    ----------
    specs : list of str
        ``presets``, preset names, ``.keras`` files, ``fin.train`` output folders, or folders of those.

    Returns
    -------
    fins : dict
        Feature -> :class:`LoadedFIN`, in :data:`data_prep.targets.FEATURES` order.

    Raises
    ------
    GeneralizationError
        If an argument names nothing loadable, or a folder holds two FINs for one feature.
    """
    fins = {}
    for spec in specs:
        fins.update(_resolve_one(spec))
    return {f: fins[f] for f in FEATURES if f in fins}


def compiled(models):
    """One function ``frames -> {feature: outputs}`` running every FIN in inference mode, traced once for any batch size.

    The FINs share one input in one Keras model, so each batch is one call. Files give batches of every size and
    ``predict_on_batch`` retraces its graph for new shapes (and warns), so on the TensorFlow backend this traces one
    ``tf.function`` with a ``(None, 2048)`` signature; other backends use ``predict_on_batch``. This is the only
    TensorFlow-specific code of the module.

    Parameters
    ----------
    models : dict
        Feature -> ``keras.Model`` from ``(batch, 2048)`` frames to ``(batch, dim)``.
    """
    import keras

    frames = keras.Input((FRAME_LENGTH,), dtype="float32", name="frames")
    together = keras.Model(frames, {f: m(frames) for f, m in models.items()}, name="fins")
    if keras.backend.backend() != "tensorflow":
        return lambda x: {f: np.asarray(v) for f, v in together.predict_on_batch(x).items()}
    import tensorflow as tf

    step = tf.function(lambda x: together(x, training=False), input_signature=[tf.TensorSpec((None, FRAME_LENGTH), tf.float32)])
    return lambda x: {f: v.numpy() for f, v in step(tf.convert_to_tensor(x, tf.float32)).items()}


def predict(run, frames, batch_size=1024):
    """Outputs of ``run`` (from :func:`compiled`) on ``frames``, ``batch_size`` frames per call.

    Returns
    -------
    outputs : dict
        Feature -> ``np.ndarray [shape=(n_frames, dim), dtype=float32]``.
    """
    parts = [run(frames[i : i + batch_size]) for i in range(0, len(frames), batch_size)]
    return {f: np.concatenate([p[f] for p in parts]).reshape(len(frames), -1).astype(np.float32, copy=False) for f in parts[0]}


# ------------------------------------------------------------------------------------------- evaluation


class CorpusAccumulator:
    """Everything the script measures on one corpus, updated one file at a time.

    Parameters
    ----------
    features : sequence of str
        The features with a FIN.
    edges : sequence of float
        Frame-energy bin edges in dBFS.
    """

    def __init__(self, features, edges=ENERGY_EDGES):
        from fin.metrics import R2Accumulator

        self.features = tuple(features)
        self.edges = tuple(edges)
        self.overall = {f: R2Accumulator() for f in self.features}
        self.by_energy = {f: [R2Accumulator() for _ in range(len(self.edges) + 1)] for f in self.features}
        self.band = {f: R2Accumulator() for f in self.features}
        self.band_full = {f: R2Accumulator() for f in self.features}
        self.band_files = 0
        self.example = None  # (path, targets, outputs) of the first file

    def add(self, path, targets, outputs):
        """Add one file's targets and FIN outputs (feature -> ``(n_frames, dim)``)."""
        bins = energy_bins(targets["rms"], self.edges)
        for f in self.features:
            self.overall[f].update(targets[f], outputs[f])
            for b, acc in enumerate(self.by_energy[f]):
                rows = bins == b
                if rows.any():
                    acc.update(targets[f][rows], outputs[f][rows])
        if self.example is None:
            self.example = (path, {f: targets[f] for f in self.features}, outputs)

    def add_band_limited(self, targets, outputs, full_targets, full_outputs):
        """Add one band-limited file: its own targets and outputs, and the full-band ones of the same file."""
        self.band_files += 1
        for f in self.features:
            self.band[f].update(targets[f], outputs[f])
            self.band_full[f].update(full_targets[f], full_outputs[f])

    @staticmethod
    def _metrics(acc, per_output=True):
        r = acc.result()
        out = {"r2": r["r2"], "r2_vw": r["r2_vw"], "per_output": r["r2_per_output"], "mse": r["mse"], "frames": r["frames"]}
        if not per_output:
            del out["per_output"]
        return out

    def metrics(self):
        """Feature -> ``{"r2", "r2_vw", "per_output", "mse", "frames"}``; empty if no frame was added."""
        return {f: self._metrics(acc) for f, acc in self.overall.items() if acc.n}

    def energy(self):
        """Error against frame energy: bins, frames per bin, and per feature lists over the bins.

        Per bin: ``nmse`` (the bin's MSE of each output over the corpus-wide variance of that output, averaged
        over the outputs that vary), ``nmse_vw`` (summed over outputs before dividing), and ``r2``, ``r2_vw``,
        ``mse`` within the bin. ``None`` where a bin holds no frame.
        """
        result = {"edges_dbfs": list(self.edges), "bins": energy_bin_labels(self.edges), "frames": None, "features": {}}
        for f in self.features:
            total = self.overall[f]
            if not total.n:
                continue
            variance = total.m2 / total.n
            lists = {key: [] for key in ("nmse", "nmse_vw", "r2", "r2_vw", "mse", "frames")}
            for acc in self.by_energy[f]:
                if not acc.n:
                    for key in lists:
                        lists[key].append(0 if key == "frames" else None)
                    continue
                r = acc.result()
                mse_out = acc.sse / acc.n
                varies = variance > 0
                lists["nmse"].append(float(np.mean(mse_out[varies] / variance[varies])) if varies.any() else None)
                lists["nmse_vw"].append(float(mse_out.sum() / variance.sum()) if variance.sum() > 0 else None)
                for key in ("r2", "r2_vw", "mse", "frames"):
                    lists[key].append(r[key])
            result["frames"] = lists.pop("frames")
            result["features"][f] = lists
        return result

    def band_limited(self):
        """R² on the band-limited copies, beside the full-band R² of the same files."""
        features = {}
        for f in self.features:
            if self.band[f].n:
                features[f] = {**self._metrics(self.band[f]), "full_band": self._metrics(self.band_full[f], per_output=False)}
        return {"files": self.band_files, "via_sr": BAND_LIMIT_SR, "features": features}


def _targets_and_outputs(y, run, batch_size):
    from data_prep.targets import frame_signal, targets_in_chunks

    frames = frame_signal(y)
    targets = targets_in_chunks(frames, "seed", chunk_frames=batch_size)
    outputs = predict(run, frames, batch_size)
    return targets, outputs


def evaluate_corpus(utterances, fins, *, batch_size=1024, band_limited_files=20, progress=False, label=""):
    """Run every FIN on every utterance of a corpus and accumulate the measures.

    Parameters
    ----------
    utterances : list of data_prep.corpora.Utterance
        The files to evaluate, in order.
    fins : dict
        Feature -> :class:`LoadedFIN`.
    batch_size : int
        Frames per target computation and per FIN call.
    band_limited_files : int
        How many files (every k-th, deterministically) also go through the band-limited measure; 0 for none.
    progress : bool
        Show a tqdm bar over the files.

    Returns
    -------
    acc : CorpusAccumulator
    skipped : list of dict
        ``{"path", "reason", "stage": "load"}`` for every file that could not be read.
    """
    from tqdm import tqdm

    from data_prep.audio import AudioError, load_audio

    acc = CorpusAccumulator(fins)
    run = compiled({f: fin_.model for f, fin_ in fins.items()})
    skipped = []
    stride = max(1, math.ceil(len(utterances) / band_limited_files)) if band_limited_files else 0
    bar = tqdm(utterances, desc=label or "files", unit="file", disable=not progress, leave=False)
    for i, utt in enumerate(bar):
        try:
            y = load_audio(utt.path)
        except AudioError as err:
            skipped.append({"path": utt.path, "reason": str(err), "stage": "load"})
            continue
        targets, outputs = _targets_and_outputs(y, run, batch_size)
        acc.add(utt.path, targets, outputs)
        if stride and i % stride == 0:
            band_targets, band_outputs = _targets_and_outputs(band_limit(y), run, batch_size)
            acc.add_band_limited(band_targets, band_outputs, targets, outputs)
    bar.close()
    return acc, skipped


# ------------------------------------------------------------------------------------------------- CLI


def _integer(name, low):
    """An argparse type: an integer of at least ``low``, else an error naming ``name`` and the value."""

    def parse(text):
        try:
            value = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not an integer") from err
        if value < low:
            expected = "0 or more" if low == 0 else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{name} {value} is out of range; expected {expected}")
        return value

    return parse


def build_parser():
    from data_prep.corpora import corpus_names

    parser = argparse.ArgumentParser(prog="python -m experiments.generalization", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=PATH",
                        help=f"a corpus to evaluate on, NAME one of {', '.join(corpus_names())}; repeatable "
                             "(default: the built-in demo corpus)")  # fmt: skip
    parser.add_argument("--fins", nargs="+", default=["presets"], metavar="SPEC",
                        help="'presets' (= 'closed-form'), 'learned', preset names (mfcc, learned:mfcc), .keras files, "
                             "fin.train output folders or folders of <feature>*/model.keras run folders (default: presets)")  # fmt: skip
    parser.add_argument("--max-files", type=_integer("--max-files", 1), default=None,
                        help="evaluate at most N files per corpus, a seeded sample (default: all)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--report", type=Path, help="write README.md, results.json and the plots into this folder")
    parser.add_argument("--batch-size", type=_integer("--batch-size", 1), default=1024, help="frames per FIN call (default 1024)")
    parser.add_argument("--seed", type=_integer("--seed", 0), default=0, help="seed of the file sample (default 0)")
    parser.add_argument("--band-limited-files", type=_integer("--band-limited-files", 0), default=20,
                        help="files per corpus also measured band-limited (every k-th file; 0: none; default 20)")
    return parser


def _corpus_keys(names):
    """Unique result keys: the corpus name, with ``_2``, ``_3`` ... for repeats."""
    keys, seen = [], {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return keys


def _versions():
    import keras
    import librosa

    return {"python": platform.python_version(), "numpy": np.__version__, "librosa": librosa.__version__,
            "keras": keras.__version__, "backend": keras.backend.backend()}  # fmt: skip


def main(argv=None):
    """Command line; see the module docstring.

    Returns
    -------
    int
        0 on success; bad arguments (an unknown corpus, a missing folder, a ``--fins`` that names no FIN) exit 2
        through ``parser.error``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    from data_prep.corpora import discover, parse_corpus_arg
    from data_prep.errors import DataPrepError

    # the corpora first: a wrong path fails in a second, before any model loads
    from data_prep.demo import corpus_args_or_demo

    corpora = []
    for text in corpus_args_or_demo(args.corpus, seed=args.seed):
        try:
            name, root = parse_corpus_arg(text)
            utterances, unlabelled = discover(name, root)
        except DataPrepError as err:
            parser.error(f"--corpus {text}: {err}")
        corpora.append((name, root, utterances, unlabelled))
    keys = _corpus_keys([c[0] for c in corpora]) if args.corpus else ["demo"]
    try:
        fins = resolve_fins(args.fins)
    except GeneralizationError as err:
        parser.error(f"--fins {' '.join(args.fins)}: {err}")
    if not fins:
        parser.error(f"--fins {' '.join(args.fins)}: no FIN found")

    command = "python -m experiments.generalization " + shlex.join(sys.argv[1:] if argv is None else [str(a) for a in argv])
    progress = sys.stderr.isatty()
    results = {"corpora": {}, "fins": {f: fin_.describe() for f, fin_ in fins.items()}, "skipped": {}, "files": {},
               "energy": {}, "band_limited": {}, "examples": {}}  # fmt: skip
    corpus_results = {}
    t0 = time.time()
    for key, (name, root, utterances, unlabelled) in zip(keys, corpora):
        chosen = sample_utterances(utterances, args.max_files, args.seed)
        acc, unreadable = evaluate_corpus(chosen, fins, batch_size=args.batch_size, band_limited_files=args.band_limited_files,
                                          progress=progress, label=key)  # fmt: skip
        skipped = [{"path": s.path, "reason": s.reason, "stage": "discover"} for s in unlabelled] + unreadable
        metrics = acc.metrics()
        corpus_results[key] = {"metrics": metrics, "example": acc.example, "energy": acc.energy(),
                               "band_limited": acc.band_limited()}  # fmt: skip
        results["corpora"][key] = metrics
        results["skipped"][key] = skipped
        results["files"][key] = {"corpus": name, "root": str(Path(root).resolve()), "discovered": len(utterances),
                                 "unlabelled": len(unlabelled), "evaluated": len(chosen),
                                 "read": len(chosen) - len(unreadable), "skipped": len(skipped)}  # fmt: skip
        results["energy"][key] = corpus_results[key]["energy"]
        results["band_limited"][key] = corpus_results[key]["band_limited"]
        results["examples"][key] = acc.example[0] if acc.example else None
    results["config"] = {
        "command": command,
        "corpora": [{"key": k, "name": c[0], "path": str(c[1])} for k, c in zip(keys, corpora)],
        "fins": list(args.fins), "max_files": args.max_files, "batch_size": args.batch_size, "seed": args.seed,
        "band_limited_files": args.band_limited_files, "band_limit_via_sr": BAND_LIMIT_SR,
        "energy_edges_dbfs": list(ENERGY_EDGES), "target_set": "seed", "sr": SR, "frame_length": FRAME_LENGTH,
        "hop_length": HOP_LENGTH, "seconds": round(time.time() - t0, 1), "versions": _versions(),
    }  # fmt: skip

    print(format_table(results["corpora"]))
    for key, items in results["skipped"].items():
        if items:
            print(f"{key}: skipped {len(items)} of {results['files'][key]['discovered'] + results['files'][key]['unlabelled']} "
                  "files:", file=sys.stderr)  # fmt: skip
            for s in items[:20]:
                print(f"  {s['path']}: {s['reason']}", file=sys.stderr)
            if len(items) > 20:
                print(f"  ... and {len(items) - 20} more (listed in the JSON under 'skipped')", file=sys.stderr)
    if args.json:
        write_json(args.json, results)
        print(f"results written to {args.json}")
    if args.report:
        write_report(args.report, results, corpus_results)
        print(f"report written to {args.report / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
