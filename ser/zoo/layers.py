"""Keras layers of the zoo models: thin holders around ``keras.ops`` functions.

Registered under the package name ``ser_zoo`` so ``keras.saving.load_model`` rebuilds a saved zoo model after
``import ser.zoo.layers``. Axis convention: ``(batch, n_frames, features)``.
"""

import keras
from keras import ops


def clip_power_to_db(power, amin=1e-10, top_db=80.0):
    """``librosa.power_to_db(S, ref=np.max, top_db)`` of each clip: dB relative to the clip's largest value.

    Parameters
    ----------
    power : tensor [shape=(batch, n_frames, n_bins)]

    Returns
    -------
    db : tensor [shape=(batch, n_frames, n_bins)]
        ``<= 0``, floored ``top_db`` below the clip's maximum.
    """
    log_spec = 10.0 * ops.log10(ops.maximum(power, amin))
    ref = 10.0 * ops.log10(ops.maximum(ops.max(power, axis=(1, 2), keepdims=True), amin))
    return ops.maximum(log_spec - ref, -top_db)


@keras.saving.register_keras_serializable(package="ser_zoo")
class ClipPowerToDb(keras.layers.Layer):
    """:func:`clip_power_to_db`: ``(batch, n_frames, n_bins)`` power -> dB relative to each clip's maximum."""

    def __init__(self, top_db=80.0, **kwargs):
        super().__init__(**kwargs)
        self.top_db = float(top_db)

    def call(self, power):
        return clip_power_to_db(power, top_db=self.top_db)

    def get_config(self):
        config = super().get_config()
        config.update(top_db=self.top_db)
        return config


@keras.saving.register_keras_serializable(package="ser_zoo")
class Columns(keras.layers.Layer):
    """The features ``start:stop`` of the last axis: ``(..., n) -> (..., stop - start)``."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x):
        return x[..., self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        config = super().get_config()
        config.update(start=self.start, stop=self.stop)
        return config
