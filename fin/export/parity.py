"""The parity check: an exported model's outputs against the Keras model's on the same frames.

The output scale is ``max |Keras output|`` over the frames (1 where every output is 0). The export passes when
every frame's largest absolute error is within the tolerance: by default ``1e-4`` of the output scale
(:data:`DEFAULT_RTOL`); an absolute tolerance can be given instead.

FINs with a :class:`fin.layers.TuningEstimate` (chroma ``spectral``) make a discrete choice per frame, the
tuning-histogram bin, which an ulp of difference in the spectrum (another runtime's matrix products) or in the
interpolation shift can flip, legitimately changing that frame's whole chroma vector. Such a model also passes
when the frames beyond the tolerance are at most :data:`TUNING_FLIP_FRACTION` (1 %) of the frames (at least one)
and each of them is *explained*: the exported output matches, within the tolerance, the Keras output of that
frame computed with some other tuning bin. Measured on 8,000 EMO-DB and RAVDESS frames: closed-form weights, TFLite
0 flips, ONNX 2 (0.025 %); random weights (as after training), TFLite 0-1, ONNX 5-6 (0.07 %).
"""

import math

import numpy as np

from fin.errors import FINError
from fin.export.tuning import swap_tuning, tuning_layers

#: Default tolerance: this fraction of the output scale (``max |Keras output|``).
DEFAULT_RTOL = 1e-4
#: Largest fraction of frames whose tuning bin may flip (chroma ``spectral`` only); at least one frame. Measured
#: flip rates are 0.00-0.08 % (module docstring): the cap leaves a 10x margin and still catches a broken estimate.
TUNING_FLIP_FRACTION = 1e-2


class ParityError(FINError):
    """The exported model disagrees with Keras beyond the tolerance; ``report`` holds the measurements."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report



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

    n_tunings = len(tuning_edges(tuning_layers(model)[0].resolution)) - 1

    class ForcedTuning(TuningEstimate):
        index = None

        def call(self, magnitudes):
            return ops.convert_to_tensor(self.index, dtype="int32")

    forced = swap_tuning(model, ForcedTuning.from_config)
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
    >>> from fin.export import synthetic_frames
    >>> model = fin.build_model("rms", "spectral", init="closed-form")
    >>> frames = synthetic_frames(8)
    >>> check_parity(model, _predict(model, frames), frames)["passed"]
    True
    >>> check_parity(model, _predict(model, frames) + 1e-3, frames)["passed"]   # 1e-3 is far beyond 1e-4 x scale
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
    if tuning_layers(model):
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


def _g(x):
    return "inf/NaN" if x is None else f"{x:.3g}"


def _format_error(report):
    return (f"max |error| {_g(report['max_abs_error'])} = {_g(report['max_rel_error'])} of the output scale "
            f"{report['output_scale']:.4g}")


def summary(report):
    text = (f"{report['frames']} frames, {_format_error(report)}; tolerance {report['tolerance']:.3g} "
            f"({report['tolerance_rule']}); {report['frames_over_tolerance']} frame(s) over it")
    if report["allowed_tuning_flips"] is not None and report["tuning_flips"] is None:
        text += f", more than the {report['allowed_tuning_flips']} tuning flip(s) allowed"
    elif report["tuning_flips"] is not None:
        text += (f", {report['tuning_flips']} explained by a flipped tuning bin "
                 f"(allowed {report['allowed_tuning_flips']}; "
                 f"max |error| without them {_g(report['max_abs_error_excluding_tuning_flips'])})")
    return text
