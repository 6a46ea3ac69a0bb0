"""Export a FIN to a file, check the file against Keras, and keep it only when it passes.

Writes ``FILE`` atomically (a temporary file beside it, then ``os.replace``) and ``FILE.json``: ``model``,
``format``, ``frames``, ``max_abs_error``, ``max_rel_error`` (relative to the output scale), ``tolerance``,
``passed``, and details (frame source, output scale, tuning flips, converter notes). When parity fails the
exported file goes to ``FILE.failed`` with ``FILE.failed.json`` (an earlier ``FILE`` is left as it was).
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_write_text
from data_prep.targets import FRAME_LENGTH
from fin.errors import FINError
from fin.export.converters import ONNX_OPSET, get_format
from fin.export.frames import parity_frames
from fin.export.parity import DEFAULT_RTOL, ParityError, check_parity, summary


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
        raise ParityError(f"{export_format.name} export of {report['model']} disagrees with Keras: " + summary(report)
                          + f"; kept as {target} for inspection", report)
    return report
