"""Export a FIN to TensorFlow Lite or ONNX, then check the exported file against Keras on real frames.

::

    python -m fin.export --model DIR_OR_PRESET --format {tflite,onnx} --out FILE [--data STORE.h5] [--frames N]
        [--atol X]

``--model`` takes a ``fin.train`` output folder, a ``.keras`` file or a preset name, as ``fin.evaluate`` does. The
exported model keeps the FIN's interface: input ``frame`` ``(batch, 2048)`` float32, output ``(batch, dim)``
float32, with a dynamic batch dimension in both formats.

- ``tflite``: ``model.export(..., format="tf_saved_model")``, then ``tf.lite.TFLiteConverter`` with TFLite builtin
  ops only (no ``SELECT_TF_OPS``: the Python interpreter of TensorFlow 2.21 has no Flex delegate, so a Flex model
  could not be checked here, and most on-device runtimes lack it too). TFLite has no float64 kernels and no
  ``DenseBincount``, which the chroma ``spectral`` FIN's :class:`fin.layers.TuningEstimate` uses to reproduce
  librosa's rounding; for TFLite that one layer is swapped for :func:`tuning_index_float32`, which gets the same
  histogram bin from exact float32 comparisons with a precomputed table (:func:`tuning_cell_table`, 0.35 MB)
  and counts with a one-hot sum. In TensorFlow it equals the layer on every one of 35,778 speech frames.
- ``onnx``: ``tf2onnx.convert.from_function`` on a ``tf.function`` with a fixed input signature (opset
  :data:`ONNX_OPSET`). tf2onnx lowers ``tf.where`` to ``cond * x + (1 - cond) * y``, which turns the ``-inf``
  fill of the masked median into NaN (``0 * inf``) and broke the tuning estimate of 87 % of the frames; here
  every ``Select`` becomes an ONNX ``Where``, which is exact.

A combination a converter cannot handle fails with :class:`fin.errors.FINError` naming the unsupported ops.

Parity. The exported file is run (``tf.lite.Interpreter`` / ``onnxruntime``) and the Keras model is run on the
same ``N`` frames: the test split of ``--data`` (else its first split), else frames of a few EMO-DB and RAVDESS
files of the shared corpora (``../shared/data``) when present, else synthetic speech (harmonics and noise). The
output scale is ``max |Keras output|`` over those frames (1 where every output is 0). The export passes when
every frame's largest absolute error is within the tolerance: by default ``1e-4`` of the output scale
(:data:`DEFAULT_RTOL`); ``--atol`` sets an absolute tolerance instead.

FINs with a :class:`fin.layers.TuningEstimate` (chroma ``spectral``) make a discrete choice per frame, the
tuning-histogram bin, which an ulp of difference in the spectrum (another runtime's matrix products) or in the
interpolation shift can flip, legitimately changing that frame's whole chroma vector. Such a model also passes
when the frames beyond the tolerance are at most :data:`TUNING_FLIP_FRACTION` (1 %) of the frames (at least one)
and each of them is *explained*: the exported output matches, within the tolerance, the Keras output of that
frame computed with some other tuning bin. Measured on 8,000 EMO-DB and RAVDESS frames: closed-form weights, TFLite
0 flips, ONNX 2 (0.025 %); random weights (as after training), TFLite 0-1, ONNX 5-6 (0.07 %). The report
gives the flips and the largest error without them; every other frame stays within the tolerance.

Writes ``FILE`` atomically (a temporary file beside it, then ``os.replace``) and ``FILE.json``: ``model``,
``format``, ``frames``, ``max_abs_error``, ``max_rel_error`` (relative to the output scale), ``tolerance``,
``passed``, and details (frame source, output scale, tuning flips, converter notes). When parity fails the
exported file goes to ``FILE.failed`` with ``FILE.failed.json`` (an earlier ``FILE`` is left as it was) and the
command exits with status 1; bad arguments exit with status 2.
"""

import argparse
import functools
import json
import math
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from data_prep.atomic import atomic_write_text
from fin.errors import FINError

#: The shared corpora (``../shared/data`` from the project root), used for parity frames when present.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: Corpora of :data:`SHARED_DATA` that parity frames are drawn from: registry name -> folder.
SHARED_CORPORA = {"emodb": "emodb", "ravdess": "ravdess"}
DEFAULT_FRAMES = 512
#: Default tolerance: this fraction of the output scale (``max |Keras output|``).
DEFAULT_RTOL = 1e-4
#: Largest fraction of frames whose tuning bin may flip (chroma ``spectral`` only); at least one frame. Measured
#: flip rates are 0.00-0.08 % (module docstring): the cap leaves a 10x margin and still catches a broken estimate.
TUNING_FLIP_FRACTION = 1e-2
ONNX_OPSET = 17
#: Frames per call of the exported model (bounds the memory of the big ``paper`` convolutions).
BATCH_SIZE = 64
FRAME_LENGTH = 2048


class ParityError(FINError):
    """The exported model disagrees with Keras beyond the tolerance; ``report`` holds the measurements."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


# ---------------------------------------------------------------------------------------------------------
# the TFLite tuning estimate: float32 and builtin ops only
# ---------------------------------------------------------------------------------------------------------


def _float32_keys(x):
    """Integer keys in the order of the float32 values ``x`` (``-0.0`` and ``0.0`` share key 0)."""
    bits = np.asarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def _float32_from_keys(keys):
    keys = np.asarray(keys, dtype=np.int64)
    bits = np.where(keys < 0, (-keys) | 0x80000000, keys).astype(np.uint32)
    return bits.view(np.float32)


def _tuning_cells(k, shift, sr, n_fft, edges, bins_per_octave):
    """The tuning cell ``n_hist * semitone + bin`` of a peak at FFT bin ``k`` shifted by ``shift`` (float32).

    Mirrors :func:`fin.ops.estimate_tuning_index` step by step (pitch rounded once from float64, float32 ratio,
    TensorFlow's float64 ``log2`` rounded to float32, the float32 edges), so it gives the layer's histogram bin
    (``cell mod n_hist``) bit for bit. The cell grows with ``shift``: a semitone's bins, then the next semitone's.
    """
    from keras import ops

    n_hist = len(edges) - 1
    shift = np.asarray(shift, dtype=np.float32)
    pitch = ((np.asarray(k, dtype=np.float64) + shift) * float(sr) / n_fft).astype(np.float32)
    ratio = pitch / np.float32(27.5)
    log2 = ops.convert_to_numpy(ops.log2(ops.convert_to_tensor(ratio.astype(np.float64))))  # the layer's kernel
    octaves = np.float32(bins_per_octave) * log2.astype(np.float32)
    whole = np.floor(octaves)
    residual = octaves - whole
    wrap = residual >= 0.5
    residual = np.where(wrap, residual - np.float32(1.0), residual)
    index = np.clip(np.searchsorted(edges, residual, side="right") - 1, 0, n_hist - 1)
    return n_hist * (whole.astype(np.int64) + wrap) + index


@functools.lru_cache(maxsize=4)
def tuning_cell_table(lo, hi, sr=22050, n_fft=2048, resolution=0.01, bins_per_octave=12):
    """Where the tuning cell of each searched FFT bin changes, as thresholds on the interpolation shift.

    For bin ``k`` the parabolic shift lies in ``[-1, 1]`` and the layer's cell (:func:`_tuning_cells`) is a
    non-decreasing step function of it; ``thresholds[k - lo, j]`` is the smallest float32 shift whose cell is at
    least ``first[k - lo] + j + 1`` (found by bisection over the float32 values), so the cell of a shift ``s``
    is ``first[k - lo] + sum(s >= thresholds[k - lo])``. Rows are padded with ``+inf``.

    Returns
    -------
    thresholds : np.ndarray [shape=(hi - lo, width), dtype=float32]
    first : np.ndarray [shape=(hi - lo,), dtype=int32]
        The cell at shift ``-1``.
    """
    from fin import ops as fops

    edges = fops.float32_ceil(fops.tuning_edges(resolution))
    bins = np.arange(lo, hi)
    cells = lambda k, s: _tuning_cells(k, s, sr, n_fft, edges, bins_per_octave)  # noqa: E731
    first = cells(bins, np.full(bins.shape, -1.0, np.float32))
    last = cells(bins, np.full(bins.shape, 1.0, np.float32))
    rows = np.repeat(np.arange(len(bins)), last - first)
    targets = first[rows] + 1 + np.concatenate([np.arange(n) for n in last - first]) if rows.size else rows
    below = np.full(rows.shape, _float32_keys(-1.0)[()], np.int64)  # cell < target here
    above = np.full(rows.shape, _float32_keys(1.0)[()], np.int64)  # cell >= target here
    while np.any(above - below > 1):
        middle = (below + above) // 2
        reached = cells(bins[rows], _float32_from_keys(middle)) >= targets
        above, below = np.where(reached, middle, above), np.where(reached, below, middle)
    width = int((last - first).max(initial=1))
    thresholds = np.full((len(bins), width), np.inf, np.float32)
    thresholds[rows, targets - first[rows] - 1] = _float32_from_keys(above)
    return thresholds, first.astype(np.int32)


def tuning_index_float32(S, lo, hi, n_hist, zero_index, thresholds, first, threshold=0.1):
    """:func:`fin.ops.estimate_tuning_index` with TFLite builtin ops: no float64, a one-hot histogram.

    The peaks, the parabolic interpolation and the median gate are the layer's float32 steps, except that
    ``a = x[k+1] + x[k-1] - 2 x[k]`` is rounded to float32 before ``shift = -b / a`` (librosa divides in
    float64): the shift can differ by an ulp. The pitch, its log and the histogram bin, which the layer computes
    in float64 and rounds, come instead from :func:`tuning_cell_table`: exact comparisons of the shift with
    precomputed thresholds, which give the layer's bin for the same shift bit for bit. ``bincount`` becomes a
    sum of one-hot rows (TFLite has no ``DenseBincount``).

    Parameters
    ----------
    S : tensor [shape=(batch, n_bins), dtype=float32]
        Magnitude spectra.
    lo, hi : int
        Searched bins (:func:`fin.ops.piptrack_bins`).
    n_hist, zero_index : int
        Histogram size, and the index of a frame without peaks.
    thresholds, first : np.ndarray
        From :func:`tuning_cell_table`.
    threshold : float
        Peaks below ``threshold`` times the frame's maximum are ignored.

    Returns
    -------
    index : tensor [shape=(batch,), dtype=int32]
    """
    from keras import ops

    from fin.ops import _masked_median

    ref = threshold * ops.max(S, axis=-1, keepdims=True)
    gated = ops.where(S > ref, S, ops.zeros_like(S))
    prev, cur, nxt = S[:, lo - 1 : hi - 1], S[:, lo:hi], S[:, lo + 1 : hi + 1]
    peak = (gated[:, lo:hi] > gated[:, lo - 1 : hi - 1]) & (gated[:, lo:hi] >= gated[:, lo + 1 : hi + 1])
    a = (nxt + prev) - 2.0 * cur
    b = (nxt - prev) / 2.0
    interpolate = ops.abs(b) < ops.abs(a)
    shift = ops.where(interpolate, -b / ops.where(interpolate, a, ops.ones_like(a)), ops.zeros_like(a))
    magnitude = cur + (0.5 * ((nxt - prev) / 2.0)) * shift
    selected = peak & (magnitude >= _masked_median(magnitude, peak))
    passed = ops.cast(ops.expand_dims(shift, -1) >= ops.convert_to_tensor(thresholds), "int32")
    cell = ops.convert_to_tensor(first) + ops.sum(passed, axis=-1)  # (batch, hi - lo)
    index = ops.where(selected, cell % n_hist, n_hist)  # unselected peaks go to an overflow bin, dropped below
    counts = ops.sum(ops.one_hot(index, n_hist + 1, dtype="int32"), axis=1)[:, :n_hist]
    best = ops.max(counts, axis=-1, keepdims=True)
    first_best = ops.min(ops.where(counts == best, ops.arange(n_hist, dtype="int32"), n_hist), axis=-1)
    return ops.cast(ops.where(ops.sum(counts, axis=-1) > 0, first_best, zero_index), "int32")


def _tuning_layers(model):
    from fin.layers import TuningEstimate

    return [layer for layer in model.layers if isinstance(layer, TuningEstimate)]


def _swap_tuning(model, make_layer):
    """A clone of ``model`` sharing every layer (and weight) but its TuningEstimate, replaced by ``make_layer``."""
    import keras

    from fin.layers import TuningEstimate

    def clone(layer):
        return make_layer(layer.get_config()) if isinstance(layer, TuningEstimate) else layer

    return keras.models.clone_model(model, clone_function=clone)


def _tflite_graph(model):
    """``model`` ready for TFLite builtins (its tuning estimate in float32), and a note on what was changed.

    The replacement layers live only for the conversion (they are never saved), so they are not registered.
    """
    from fin.layers import TuningEstimate

    if not _tuning_layers(model):
        return model, []

    class Float32TuningEstimate(TuningEstimate):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # built here, eagerly: the table evaluates TensorFlow's log2 on concrete values
            self._table = tuning_cell_table(self._lo, self._hi, self.sr, self.n_fft, self.resolution,
                                            self.bins_per_octave)

        def call(self, magnitudes):
            from keras import ops

            return tuning_index_float32(ops.stop_gradient(magnitudes), self._lo, self._hi, len(self._edges) - 1,
                                        self._zero_index, *self._table, threshold=self.threshold)

    note = ("TuningEstimate without float64 (TFLite has no float64 kernels and no DenseBincount): the histogram bin "
            "comes from exact float32 comparisons of the interpolation shift with precomputed thresholds and a one-hot "
            "histogram; only the float32 shift itself can differ by an ulp, rarely flipping a frame's tuning bin")
    return _swap_tuning(model, Float32TuningEstimate.from_config), [note]


# ---------------------------------------------------------------------------------------------------------
# converters and runners
# ---------------------------------------------------------------------------------------------------------


def _tensorflow():
    """TensorFlow, its C++ log kept to warnings when this is the first import (``import fin`` imports it first)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _tflite_unsupported_ops(message):
    """TensorFlow op names a TFLite ``ConverterError`` message reports as having no builtin kernel."""
    names = set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message))
    for line in re.findall(r"(?:Custom|Flex) ops: ([^\n]*)", message):
        names.update(name.strip() for name in line.split(",") if name.strip())
    return sorted(names)


def to_tflite(model):
    """Convert a FIN to a TFLite flatbuffer with builtin ops only.

    Parameters
    ----------
    model : keras.Model
        ``(batch, 2048) -> (batch, dim)``.

    Returns
    -------
    content : bytes
    notes : list of str
        What had to change for TFLite (empty for most FINs).

    Raises
    ------
    FINError
        The converter failed; names the TensorFlow ops that have no TFLite builtin kernel when it says which.
    """
    tf = _tensorflow()
    graph, notes = _tflite_graph(model)
    with tempfile.TemporaryDirectory(prefix="fin-export-") as saved_model:
        graph.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            content = converter.convert()
        except Exception as err:  # tf.lite's ConverterError, and whatever the MLIR passes raise
            unsupported = _tflite_unsupported_ops(str(err))
            if unsupported:
                raise FINError(f"TFLite cannot convert {model.name}: no TFLite builtin op for TensorFlow op(s) "
                               f"{', '.join(unsupported)} (SELECT_TF_OPS/Flex is not used: its delegate is not "
                               "available to check parity)") from None
            raise FINError(f"TFLite conversion of {model.name} failed: {str(err).strip().splitlines()[-1]}") from None
    return content, notes


def _onnx_select_as_where(ctx, node, name, args):
    """tf2onnx handler (old-style custom handler signature): ``Select``/``SelectV2`` -> ONNX ``Where``, always.

    tf2onnx's own handler emits ``Cast(c) * x + Cast(!c) * y`` unless it sees a NaN or inf constant, which gives
    NaN where the unselected branch is infinite (``fin.ops._masked_median`` fills with ``-inf`` at run time).
    """
    from tf2onnx.onnx_opset.controlflow import Select

    node.set_attr("handles_nan", True)  # the flag tf2onnx's converter sets itself when it detects NaN inputs
    Select.version_9(ctx, node)


def to_onnx(model, opset=ONNX_OPSET):
    """Convert a FIN to an ONNX model (tf2onnx on a ``tf.function`` with a fixed input signature).

    Parameters
    ----------
    model : keras.Model
    opset : int
        ONNX opset, at least 13.

    Returns
    -------
    content : bytes
        The serialised ``ModelProto``: input ``frame`` ``(batch, 2048)``, one output ``(batch, dim)``.
    notes : list of str

    Raises
    ------
    FINError
        tf2onnx or onnx is missing, or the graph holds ops with no ONNX equivalent (named).
    """
    tf = _tensorflow()
    if opset < 13:
        raise FINError(f"ONNX opset {opset} is too old; expected 13 or newer")
    try:
        import onnx
        import tf2onnx
    except ImportError as err:
        raise FINError(f"ONNX export needs tf2onnx and onnx ({err}); pip install 'fin-toolkit[export]'") from None

    function = tf.function(lambda frame: model(frame, training=False),
                           input_signature=[tf.TensorSpec([None, FRAME_LENGTH], tf.float32, name="frame")])
    handlers = {op: (_onnx_select_as_where, []) for op in ("Select", "SelectV2")}
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=opset,
                                                 custom_op_handlers=handlers)
    except Exception as err:  # tf2onnx raises whatever its handlers raise
        raise FINError(f"tf2onnx could not convert {model.name}: {type(err).__name__}: {err}") from None
    # tf2onnx leaves an op it cannot map in the graph under its TensorFlow name (and only logs it)
    unknown = sorted({node.op_type for node in proto.graph.node if not onnx.defs.has(node.op_type, node.domain)})
    if unknown:
        raise FINError(f"ONNX cannot represent {model.name}: no ONNX (opset {opset}) op for TensorFlow op(s) "
                       f"{', '.join(unknown)}")
    notes = ["tf.where exported as ONNX Where (tf2onnx's multiply-add form gives NaN next to infinities)"]
    return proto.SerializeToString(), notes


def run_tflite(path, frames, batch_size=BATCH_SIZE):
    """Run a TFLite FIN on ``frames`` [shape=(n, 2048)] with ``tf.lite.Interpreter``; returns ``(n, dim)``."""
    tf = _tensorflow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice pointing to ai_edge_litert
        try:
            interpreter = tf.lite.Interpreter(model_path=str(path))
        except ValueError as err:
            raise FINError(f"tf.lite.Interpreter cannot load {path}: {err}") from None
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs, shape = [], None
    for start in range(0, len(frames), batch_size):
        batch = np.ascontiguousarray(frames[start : start + batch_size], dtype=np.float32)
        if batch.shape != shape:  # the batch dimension is dynamic: resize, then re-plan the tensors
            interpreter.resize_tensor_input(inp["index"], batch.shape)
            interpreter.allocate_tensors()
            shape = batch.shape
        interpreter.set_tensor(inp["index"], batch)
        try:
            interpreter.invoke()
        except RuntimeError as err:
            raise FINError(f"tf.lite.Interpreter cannot run {path}: {err}") from None
        outputs.append(np.array(interpreter.get_tensor(out["index"])))
    return np.concatenate(outputs)


def run_onnx(path, frames, batch_size=BATCH_SIZE):
    """Run an ONNX FIN on ``frames`` [shape=(n, 2048)] with onnxruntime (CPU); returns ``(n, dim)``."""
    try:
        import onnxruntime
    except ImportError as err:
        raise FINError(f"checking an ONNX export needs onnxruntime ({err}); "
                       "pip install 'fin-toolkit[export]'") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's pybind errors (e.g. NOT_IMPLEMENTED for an unknown op)
        raise FINError(f"onnxruntime cannot load {path}: {err}") from None
    name = session.get_inputs()[0].name
    outputs = [session.run(None, {name: np.ascontiguousarray(frames[i : i + batch_size], dtype=np.float32)})[0]
               for i in range(0, len(frames), batch_size)]
    return np.concatenate(outputs)


@dataclass(frozen=True)
class ExportFormat:
    """An export format: its converter and the runtime that checks its files.

    Attributes
    ----------
    name : str
    suffix : str
        Usual file suffix.
    convert : callable
        ``convert(model) -> (bytes, notes)``.
    run : callable
        ``run(path, frames) -> np.ndarray [shape=(n, dim)]``.
    runtime : str
    """

    name: str
    suffix: str
    convert: Callable
    run: Callable
    runtime: str


FORMATS = {
    "tflite": ExportFormat("tflite", ".tflite", to_tflite, run_tflite, "tf.lite.Interpreter"),
    "onnx": ExportFormat("onnx", ".onnx", to_onnx, run_onnx, "onnxruntime (CPU)"),
}


def get_format(name):
    """The :class:`ExportFormat` called ``name``; :class:`FINError` listing the valid names if unknown."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise FINError(f"unknown export format {name!r}; expected one of {', '.join(FORMATS)}") from None


# ---------------------------------------------------------------------------------------------------------
# parity frames
# ---------------------------------------------------------------------------------------------------------


def _spread(n_total, n):
    """``min(n, n_total)`` indices spread evenly over ``range(n_total)``, ascending."""
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).round().astype(int))


def store_frames(path, n):
    """``n`` frames spread over the test split of a store (its first split if it has no ``test``).

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32]
    source : str
    """
    from data_prep import open_store

    with open_store(path) as store:
        split = "test" if "test" in store.splits else (store.splits[0] if store.splits else None)
        if split is None or store.num_frames(split) == 0:
            raise FINError(f"{path} has no frames in split {split!r} to check the export on")
        frames = store.frames(split, _spread(store.num_frames(split), n))
    return frames, f"store {path} (split {split})"


def corpus_frames(n, root=None, corpora=None):
    """``n`` frames spread over a few files of each shared corpus (evenly spaced files), or ``None`` without any.

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32] or None
    source : str
    """
    from data_prep.audio import AudioError, load_audio
    from data_prep.corpora import discover
    from data_prep.errors import DataPrepError
    from data_prep.targets import frame_signal

    root = Path(SHARED_DATA if root is None else root)
    corpora = SHARED_CORPORA if corpora is None else corpora
    present = {name: root / folder for name, folder in corpora.items() if (root / folder).is_dir()}
    if not present:
        return None, ""
    per_corpus = min(50, max(2, math.ceil(n / 80 / len(present))))  # EMO-DB files hold 83 frames, RAVDESS ~150
    signals, used = [], []
    for name, folder in present.items():
        try:
            utterances, _ = discover(name, folder)
        except DataPrepError:
            continue
        for utterance in [utterances[i] for i in _spread(len(utterances), per_corpus)] if utterances else []:
            try:
                signals.append(frame_signal(load_audio(utterance.path)))
            except (AudioError, DataPrepError):
                continue  # an unreadable file: the others are enough
        used.append(name)
    if not signals:
        return None, ""
    frames = np.concatenate(signals)
    return frames[_spread(len(frames), n)], f"{', '.join(used)} files under {root} ({len(signals)} files)"


def synthetic_frames(n, seed=0, sr=22050):
    """``n`` frames of synthetic speech: gliding harmonics with a syllable envelope, noise, and a silent stretch.

    Examples
    --------
    >>> synthetic_frames(4).shape
    (4, 2048)
    """
    from data_prep.targets import HOP_LENGTH, frame_signal

    rng = np.random.default_rng(seed)
    t = np.arange(FRAME_LENGTH + HOP_LENGTH * (max(n, 1) - 1)) / sr
    f0 = 130.0 + 70.0 * np.sin(2 * np.pi * 0.8 * t) + 20.0 * np.sin(2 * np.pi * 5.0 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h for h in range(1, 25))
    envelope = 0.3 * np.clip(np.sin(2 * np.pi * 2.5 * t), 0.05, None)
    y = envelope * voiced + 0.01 * rng.standard_normal(t.size)
    y[int(0.45 * t.size) : int(0.5 * t.size)] = 0.0  # digital silence: all-zero frames
    return frame_signal(y.astype(np.float32))[:n]


def parity_frames(n=DEFAULT_FRAMES, data=None):
    """The frames an export is checked on: from ``data`` (a store), else the shared corpora, else synthetic.

    Returns
    -------
    frames : np.ndarray [shape=(n, 2048), dtype=float32]
        Fewer than ``n`` only when the store or the corpora hold fewer.
    source : str
    """
    if data is not None:
        return store_frames(data, n)
    frames, source = corpus_frames(n)
    if frames is not None:
        return frames, source
    return synthetic_frames(n), "synthetic speech (harmonics and noise)"


# ---------------------------------------------------------------------------------------------------------
# parity
# ---------------------------------------------------------------------------------------------------------


def _predict(model, frames, batch_size=256):
    import keras

    return np.concatenate([keras.ops.convert_to_numpy(model(frames[i : i + batch_size], training=False))
                           for i in range(0, len(frames), batch_size)])


def _explained_by_tuning(model, frames, exported, tolerance, chunk=8):
    """Whether each of ``frames``' exported outputs equals a Keras output with some tuning bin, within ``tolerance``.

    Runs the model with its TuningEstimate replaced by a layer that returns given bins: every frame with every
    bin of the histogram (100 at the default resolution), so only call it on the few frames out of tolerance.
    """
    from keras import ops

    from fin.layers import TuningEstimate
    from fin.ops import tuning_edges

    n_tunings = len(tuning_edges(_tuning_layers(model)[0].resolution)) - 1

    class ForcedTuning(TuningEstimate):
        index = None

        def call(self, magnitudes):
            return ops.convert_to_tensor(self.index, dtype="int32")

    forced = _swap_tuning(model, ForcedTuning.from_config)
    explained = np.zeros(len(frames), dtype=bool)
    for start in range(0, len(frames), chunk):
        part = slice(start, start + chunk)
        n = len(frames[part])
        for layer in forced.layers:
            if isinstance(layer, ForcedTuning):
                layer.index = np.tile(np.arange(n_tunings, dtype=np.int32), n)  # every frame with every bin
        candidates = _predict(forced, np.repeat(frames[part], n_tunings, axis=0), batch_size=n * n_tunings)
        distance = np.abs(candidates.reshape(n, n_tunings, -1) - exported[part, None, :]).max(axis=-1)
        explained[part] = distance.min(axis=1) <= tolerance
    return explained


def _number(x):
    x = float(x)
    return x if math.isfinite(x) else None  # JSON has no inf / NaN


def check_parity(model, exported, frames, atol=None, rtol=DEFAULT_RTOL):
    """Compare an exported model's outputs with the Keras model's on the same frames.

    Parameters
    ----------
    model : keras.Model
    exported : np.ndarray [shape=(n, dim)]
        The exported model's outputs on ``frames``.
    frames : np.ndarray [shape=(n, 2048)]
    atol : float or None
        Absolute tolerance; ``None`` for ``rtol`` times the output scale.
    rtol : float
        Tolerance relative to the output scale ``max |Keras output|`` (1 where that is 0).

    Returns
    -------
    report : dict
        ``frames``, ``max_abs_error``, ``max_rel_error``, ``tolerance``, ``passed`` and details: ``output_scale``,
        ``tolerance_rule``, ``frames_over_tolerance``, ``tuning_flips`` (frames over the tolerance explained by
        another tuning bin; ``None`` when more than ``allowed_tuning_flips`` are over it), ``allowed_tuning_flips``
        and ``max_abs_error_excluding_tuning_flips`` (all three ``None`` for FINs without a tuning estimate).

    Examples
    --------
    >>> import fin
    >>> model = fin.build_model("rms", "spectral", init="closed-form")
    >>> frames = synthetic_frames(8)
    >>> check_parity(model, _predict(model, frames) + 1e-3, frames)["passed"]    # doctest: +SKIP
    False
    """
    reference = _predict(model, frames).reshape(len(frames), -1)
    exported = np.asarray(exported, dtype=np.float64)
    if exported.size != reference.size:
        raise FINError(f"the exported model gave outputs of shape {exported.shape}; Keras gives {reference.shape}")
    exported = exported.reshape(reference.shape)
    error = np.abs(exported - reference)
    error[exported == reference] = 0.0  # equal infinities
    error[np.isnan(error)] = np.inf
    finite = np.abs(reference[np.isfinite(reference)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    tolerance = float(atol) if atol is not None else rtol * scale
    frame_error = error.max(axis=1) if error.size else np.zeros(len(frames))
    over = np.flatnonzero(frame_error > tolerance)
    report = {
        "frames": int(len(frames)),
        "max_abs_error": _number(frame_error.max(initial=0.0)),
        "max_rel_error": _number(frame_error.max(initial=0.0) / scale),
        "tolerance": tolerance,
        "tolerance_rule": f"absolute (--atol {atol:g})" if atol is not None else f"{rtol:g} x output scale",
        "output_scale": scale,
        "frames_over_tolerance": int(over.size),
        "tuning_flips": None,
        "allowed_tuning_flips": None,
        "max_abs_error_excluding_tuning_flips": None,
    }
    passed = over.size == 0
    if _tuning_layers(model):
        allowed = max(1, int(TUNING_FLIP_FRACTION * len(frames)))
        flips = over[:0]
        if 0 < over.size <= allowed:  # more frames over the tolerance fail without a look
            explained = _explained_by_tuning(model, frames[over], exported[over], tolerance)
            flips = over[explained]
            passed = bool(explained.all())
        kept = np.setdiff1d(np.arange(len(frames)), flips)
        report.update(tuning_flips=int(flips.size) if over.size <= allowed else None, allowed_tuning_flips=allowed,
                      max_abs_error_excluding_tuning_flips=_number(frame_error[kept].max(initial=0.0)))
    report["passed"] = bool(passed)
    return report


# ---------------------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------------------


def _sidecar(path):
    return path.with_name(path.name + ".json")


def export_model(model, fmt, out, frames=None, atol=None, rtol=DEFAULT_RTOL, model_spec=None, frames_source=None):
    """Export ``model`` to ``out`` in format ``fmt``, check it against Keras, and write ``out.json``.

    The file is written to a temporary name beside ``out``, run from there, and moved to ``out`` only when the
    parity check passes; otherwise it becomes ``out.failed`` (with ``out.failed.json``) and :class:`ParityError`
    is raised.

    Parameters
    ----------
    model : keras.Model
        A FIN, ``(batch, 2048) -> (batch, dim)``.
    fmt : str
        ``"tflite"`` or ``"onnx"``.
    out : str or Path
    frames : np.ndarray [shape=(n, 2048)] or None
        Parity frames; ``None`` for :func:`parity_frames` with its defaults.
    atol, rtol : float
        As :func:`check_parity`.
    model_spec : str or None
        What the model was loaded from, recorded as ``model`` in the JSON (default: the model's name).
    frames_source : str or None
        Where the frames come from, recorded in the JSON.

    Returns
    -------
    report : dict
        The content of ``out.json``.

    Raises
    ------
    FINError
        The conversion is not possible (names the unsupported ops) or the runtime cannot run the file.
    ParityError
        The exported model disagrees with Keras beyond the tolerance.

    Examples
    --------
    >>> import fin
    >>> report = export_model(fin.build_model("rms", "compact", seed=0), "onnx", "rms.onnx")   # doctest: +SKIP
    >>> report["passed"], report["max_rel_error"] < 1e-4                                        # doctest: +SKIP
    (True, True)
    """
    export_format = get_format(fmt)
    if frames is None:
        frames, frames_source = parity_frames()
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != FRAME_LENGTH or len(frames) == 0:
        raise FINError(f"parity frames must have shape (n >= 1, {FRAME_LENGTH}), got {frames.shape}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    content, notes = export_format.convert(model)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=export_format.suffix)
    tmp = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        parity = check_parity(model, export_format.run(tmp, frames), frames, atol=atol, rtol=rtol)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report = {
        "model": str(model_spec) if model_spec is not None else model.name,
        "format": export_format.name,
        "frames": parity.pop("frames"),
        "max_abs_error": parity.pop("max_abs_error"),
        "max_rel_error": parity.pop("max_rel_error"),
        "tolerance": parity.pop("tolerance"),
        "passed": parity.pop("passed"),
        **parity,
        "file": str(out),
        "bytes": len(content),
        "keras_model": model.name,
        "input": f"frame (batch, {FRAME_LENGTH}) float32, batch dynamic",
        "output": f"(batch, {int(model.output_shape[-1])}) float32",
        "runtime": export_format.runtime,
        "frames_source": frames_source or "given",
        "notes": notes,
    }
    if export_format.name == "onnx":
        report["opset"] = ONNX_OPSET
    target = out if report["passed"] else out.with_name(out.name + ".failed")
    if not report["passed"]:
        report["file"] = str(target)
    os.replace(tmp, target)
    atomic_write_text(_sidecar(target), json.dumps(report, indent=2) + "\n")
    if not report["passed"]:
        raise ParityError(f"{export_format.name} export of {report['model']} disagrees with Keras: " + _summary(report)
                          + f"; kept as {target} for inspection", report)
    return report


def _g(x):
    return "inf/NaN" if x is None else f"{x:.3g}"


def _format_error(report):
    return (f"max |error| {_g(report['max_abs_error'])} = {_g(report['max_rel_error'])} of the output scale "
            f"{report['output_scale']:.4g}")


def _summary(report):
    text = (f"{report['frames']} frames, {_format_error(report)}; tolerance {report['tolerance']:.3g} "
            f"({report['tolerance_rule']}); {report['frames_over_tolerance']} frame(s) over it")
    if report["allowed_tuning_flips"] is not None and report["tuning_flips"] is None:
        text += f", more than the {report['allowed_tuning_flips']} tuning flip(s) allowed"
    elif report["tuning_flips"] is not None:
        text += (f", {report['tuning_flips']} explained by a flipped tuning bin "
                 f"(allowed {report['allowed_tuning_flips']}; "
                 f"max |error| without them {_g(report['max_abs_error_excluding_tuning_flips'])})")
    return text


def main(argv=None):
    from fin.presets import load_model_spec

    parser = argparse.ArgumentParser(
        prog="python -m fin.export",
        description="Export a FIN to TFLite or ONNX and check the exported file against Keras on real frames.",
        epilog=(f"Parity passes when every frame's largest absolute error is within the tolerance: by default "
                f"{DEFAULT_RTOL:g} of the output scale (max |Keras output| over the frames); --atol sets an absolute "
                f"tolerance instead. A chroma spectral FIN may also flip its tuning bin on up to "
                f"{TUNING_FLIP_FRACTION:.0%} "
                "of the frames (at least one) when the exported output then equals Keras with that other bin. "
                "Exit status: 0 passed; 1 parity failure (the export goes to FILE.failed, with FILE.failed.json) or "
                "a model the format cannot represent (the unsupported ops are named); 2 bad arguments."),
    )
    parser.add_argument("--model", required=True, help="a fin.train output folder, a .keras file or a preset name")
    parser.add_argument("--format", required=True, choices=list(FORMATS), help="tflite (builtin ops) or onnx (opset "
                        f"{ONNX_OPSET})")
    parser.add_argument("--out", required=True, type=Path, help="the exported file; FILE.json is written beside it")
    parser.add_argument("--data", type=Path, help="a data_prep store: parity frames from its test split (default: the "
                        "shared corpora ../shared/data if present, else synthetic speech)")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                        help=f"frames to check on (default {DEFAULT_FRAMES})")
    parser.add_argument("--atol", type=float, help=f"absolute tolerance (default: {DEFAULT_RTOL:g} x the output scale)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error(f"--frames must be at least 1, got {args.frames}")
    if args.atol is not None and not args.atol >= 0:
        parser.error(f"--atol must be a non-negative number, got {args.atol}")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; expected a file name")
    from data_prep import DataPrepError

    try:
        try:
            model = load_model_spec(args.model)
        except (ValueError, OSError) as err:  # a .keras file that Keras cannot read
            raise FINError(f"cannot load the model {args.model}: {err}") from None
        if len(model.inputs) != 1 or tuple(model.input_shape[1:]) != (FRAME_LENGTH,):
            raise FINError(f"{args.model} takes input {model.input_shape}; a FIN takes (batch, {FRAME_LENGTH}) frames")
        frames, source = parity_frames(args.frames, args.data)
    except (FINError, DataPrepError) as err:
        parser.error(str(err))
    try:
        report = export_model(model, args.format, args.out, frames, atol=args.atol, model_spec=args.model,
                              frames_source=source)
    except ParityError as err:
        print(f"fin.export: FAILED: {err}", file=sys.stderr)
        return 1
    except FINError as err:
        print(f"fin.export: error: {err}", file=sys.stderr)
        return 1
    print(f"{report['keras_model']} -> {args.out} ({report['bytes'] / 1e3:.1f} kB, {args.format}, batch dynamic); "
          f"frames from {source}")
    print(f"parity with Keras: {_summary(report)}: PASSED")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
