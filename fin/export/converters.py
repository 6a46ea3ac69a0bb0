"""The export formats: converters (Keras -> TFLite flatbuffer, Keras -> ONNX) and the runtimes that run their
files, in one registry (:data:`FORMATS`, :func:`get_format`).

- ``tflite``: ``model.export(..., format="tf_saved_model")``, then ``tf.lite.TFLiteConverter`` with TFLite builtin
  ops only (no ``SELECT_TF_OPS``: the Python interpreter of TensorFlow 2.21 has no Flex delegate, so a Flex model
  could not be checked here, and most on-device runtimes lack it too); a tuning estimate is swapped for its
  float32 variant first (:func:`fin.export.tuning.tflite_graph`).
- ``onnx``: ``tf2onnx.convert.from_function`` on a ``tf.function`` with a fixed input signature (opset
  :data:`ONNX_OPSET`). tf2onnx lowers ``tf.where`` to ``cond * x + (1 - cond) * y``, which turns the ``-inf``
  fill of the masked median into NaN (``0 * inf``) and broke the tuning estimate of 87 % of the frames; here
  every ``Select`` becomes an ONNX ``Where``, which is exact.

A combination a converter cannot handle fails with :class:`fin.errors.FINError` naming the unsupported ops.
This module and :mod:`fin.export.tuning` hold the TensorFlow-specific code of the export.
"""

import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from data_prep.targets import FRAME_LENGTH
from fin.errors import FINError
from fin.export.tuning import tflite_graph

ONNX_OPSET = 17
#: Frames per call of the exported model (bounds the memory of the big ``paper`` convolutions).
BATCH_SIZE = 64


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
    graph, notes = tflite_graph(model)
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
                               "available to check parity)") from err
            raise FINError(f"TFLite conversion of {model.name} failed: {str(err).strip().splitlines()[-1]}") from err
    return content, notes


def _onnx_select_as_where(ctx, node, name, args):
    """tf2onnx handler (old-style custom handler signature): ``Select``/``SelectV2`` -> ONNX ``Where``, always.

    tf2onnx's own handler emits ``Cast(c) * x + Cast(!c) * y`` unless it sees a NaN or inf constant, which gives
    NaN where the unselected branch is infinite (the masked median of :func:`fin.ops.estimate_tuning_index` fills with ``-inf`` at run time).
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
        raise FINError(f"ONNX export needs tf2onnx and onnx ({err}); pip install 'fin-toolkit[export]'") from err

    function = tf.function(lambda frame: model(frame, training=False),
                           input_signature=[tf.TensorSpec([None, FRAME_LENGTH], tf.float32, name="frame")])
    handlers = {op: (_onnx_select_as_where, []) for op in ("Select", "SelectV2")}
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=opset,
                                                 custom_op_handlers=handlers)
    except Exception as err:  # tf2onnx raises whatever its handlers raise
        raise FINError(f"tf2onnx could not convert {model.name}: {type(err).__name__}: {err}") from err
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
            raise FINError(f"tf.lite.Interpreter cannot load {path}: {err}") from err
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
            raise FINError(f"tf.lite.Interpreter cannot run {path}: {err}") from err
        outputs.append(np.array(interpreter.get_tensor(out["index"])))
    return np.concatenate(outputs)


def run_onnx(path, frames, batch_size=BATCH_SIZE):
    """Run an ONNX FIN on ``frames`` [shape=(n, 2048)] with onnxruntime (CPU); returns ``(n, dim)``."""
    try:
        import onnxruntime
    except ImportError as err:
        raise FINError(f"checking an ONNX export needs onnxruntime ({err}); "
                       "pip install 'fin-toolkit[export]'") from err
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's pybind errors (e.g. NOT_IMPLEMENTED for an unknown op)
        raise FINError(f"onnxruntime cannot load {path}: {err}") from err
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
    except (KeyError, TypeError) as err:
        raise FINError(f"unknown export format {name!r}; expected one of {', '.join(FORMATS)}") from err
