"""Export a FIN to TensorFlow Lite or ONNX, then check the exported file against Keras on real frames.

::

    python -m fin.export --model DIR_OR_PRESET --format {tflite,onnx} --out FILE [--data STORE.h5]
        [--corpus NAME=PATH ...] [--frames N] [--atol X]

``--model`` takes a ``fin.train`` output folder, a ``.keras`` file or a preset name, as ``fin.evaluate`` does. The
exported model keeps the FIN's interface: input ``frame`` ``(batch, 2048)`` float32, output ``(batch, dim)``
float32, with a dynamic batch dimension in both formats.

The package, by stage:

- :mod:`fin.export.tuning`: the TFLite variant of the chroma ``spectral`` FIN's tuning estimate (float32, builtin
  ops; the same :func:`fin.ops.estimate_tuning_index` with its float32 rounding);
- :mod:`fin.export.converters`: ``tflite`` (builtin ops only) and ``onnx`` (opset :data:`ONNX_OPSET`, every
  ``Select`` as an exact ``Where``) converters and the runtimes that run their files (:data:`FORMATS`);
- :mod:`fin.export.frames`: the frames parity is checked on, from a store, from corpora the caller names, or
  synthetic speech;
- :mod:`fin.export.parity`: the parity check (tolerance ``1e-4`` of the output scale by default; for chroma
  ``spectral`` up to 1 % of the frames may flip their tuning bin when another bin explains them);
- :mod:`fin.export.exporter`: :func:`export_model`, which writes the file and its ``FILE.json`` report, keeping
  the file only when parity passes (else ``FILE.failed``);
- :mod:`fin.export.cli`: the command line (``python -m fin.export``); exit status 0 passed, 1 parity failure
  or a model the format cannot represent, 2 bad arguments.
"""

from fin.export.cli import main
from fin.export.converters import (BATCH_SIZE, FORMATS, ONNX_OPSET, ExportFormat, get_format, run_onnx, run_tflite,
                                   to_onnx, to_tflite)
from fin.export.exporter import export_model
from fin.export.frames import DEFAULT_FRAMES, corpus_frames, parity_frames, store_frames, synthetic_frames
from fin.export.parity import DEFAULT_RTOL, TUNING_FLIP_FRACTION, ParityError, check_parity
from fin.export.tuning import swap_tuning, tflite_graph, tuning_layers


__all__ = [
    "BATCH_SIZE",
    "DEFAULT_FRAMES",
    "DEFAULT_RTOL",
    "FORMATS",
    "ONNX_OPSET",
    "TUNING_FLIP_FRACTION",
    "ExportFormat",
    "ParityError",
    "check_parity",
    "corpus_frames",
    "export_model",
    "get_format",
    "main",
    "parity_frames",
    "run_onnx",
    "run_tflite",
    "store_frames",
    "swap_tuning",
    "synthetic_frames",
    "tflite_graph",
    "to_onnx",
    "to_tflite",
    "tuning_layers",
]
