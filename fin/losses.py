"""Training losses of the FINs."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="fin")
class StandardizedLoss(keras.losses.Loss):
    """MSE or MAE on standardised targets: ``mean(|(y - y_hat) / std| ** p)``, ``p`` 2 (mse) or 1 (mae).

    The models output librosa units; dividing the error by the training set's per-output standard deviation
    gives every output the same weight whatever its scale (an MFCC's c0 spans hundreds, c19 a few units)
    without changing what the model outputs.

    Parameters
    ----------
    std : sequence of float
        Per-output standard deviation of the training targets.
    kind : {"mse", "mae"}
    """

    def __init__(self, std, kind="mse", name=None, **kwargs):
        super().__init__(name=name or f"standardized_{kind}", **kwargs)
        if kind not in ("mse", "mae"):
            raise ValueError(f"kind must be 'mse' or 'mae', got {kind!r}")
        self.std = [float(s) for s in np.atleast_1d(std)]
        self.kind = kind

    def call(self, y_true, y_pred):
        err = (y_true - y_pred) / ops.convert_to_tensor(np.maximum(self.std, 1e-12), dtype=y_pred.dtype)
        return ops.mean(ops.square(err) if self.kind == "mse" else ops.abs(err), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(std=self.std, kind=self.kind)
        return config


@keras.saving.register_keras_serializable(package="fin")
class RelativeEnergyLoss(keras.losses.Loss):
    """MSE relative to each frame's mean target: ``mean(((y - y_hat) / (mean(|y|) + eps)) ** 2)``.

    Energies such as mel power span many orders of magnitude between frames; plain MSE would let the loudest
    frames decide everything. Dividing by the frame's own mean energy weighs every frame equally, whatever
    its level, and stays a power-domain error within the frame (the loud bands matter most, as in the
    variance-weighted R² the mel FIN is scored with).
    """

    def __init__(self, eps=1e-12, name="relative_energy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.eps = float(eps)

    def call(self, y_true, y_pred):
        scale = ops.mean(ops.abs(y_true), axis=-1, keepdims=True) + self.eps
        return ops.mean(ops.square((y_true - y_pred) / scale), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(eps=self.eps)
        return config
