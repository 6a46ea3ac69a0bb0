"""Keras layers of the SER model: thin holders around the pure ``keras.ops`` functions defined here.

Every layer is registered under the package name ``ser``, so ``keras.saving.load_model`` rebuilds a saved SER
model after ``import ser`` (which also imports :mod:`fin` for the FIN layers).

Axis convention: ``(batch, n_frames, ...)``; one row per 2048-sample frame, features last.
"""

import keras
import numpy as np
from keras import ops

# ------------------------------------------------------------------------------------------ pure functions


def merge_frames(frames):
    """``(batch, n_frames, *rest) -> (batch * n_frames, *rest)``: every frame of every clip as one batch row."""
    return ops.reshape(frames, (-1, *frames.shape[2:]))


def split_frames(flat, reference):
    """Inverse of :func:`merge_frames`: ``(batch * n_frames, dim) -> (batch, n_frames, dim)``.

    ``reference`` is any tensor of shape ``(batch, n_frames, ...)`` (the frames themselves); its second axis
    gives ``n_frames``, so the reshape also works when ``n_frames`` is only known at run time.
    """
    n_frames = reference.shape[1] if reference.shape[1] is not None else ops.shape(reference)[1]
    return ops.reshape(flat, (-1, n_frames, flat.shape[-1]))


def frame_mask(frames):
    """1.0 for a frame holding any non-zero sample, 0.0 for an all-zero frame (end padding, digital silence).

    ``(batch, n_frames, 2048) -> (batch, n_frames)`` float32.
    """
    return ops.cast(ops.any(ops.not_equal(frames, 0), axis=-1), "float32")


def _weights(x, mask):
    """Per-frame averaging weights ``(batch, n_frames, 1)``: uniform over the frames the mask keeps."""
    mask = ops.ones_like(x[:, :, :1]) if mask is None else ops.cast(mask, x.dtype)[:, :, None]
    return mask / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)


def mean_pool(x, mask=None):
    """Mean over time: ``(batch, n_frames, dim) -> (batch, dim)``; the seed's ``AveragePooling1D(n_frames)``.

    With ``mask`` ``(batch, n_frames)``, the mean over the frames where the mask is 1 (0 if there are none).
    """
    if mask is None:
        return ops.mean(x, axis=1)
    return ops.sum(x * _weights(x, mask), axis=1)


def statistics_pool(x, mask=None, eps=1e-6):
    """Mean and standard deviation over time, concatenated: ``(batch, n_frames, dim) -> (batch, 2 * dim)``.

    With ``mask``, over the frames where it is 1.
    """
    weights = _weights(x, mask)
    mean = ops.sum(x * weights, axis=1)
    var = ops.sum(ops.square(x - mean[:, None, :]) * weights, axis=1)
    return ops.concatenate([mean, ops.sqrt(var + eps)], axis=-1)


def attention_pool(x, scores, mask=None):
    """Weighted mean over time with weights ``softmax(scores)`` over the frames (over the masked-in frames).

    Parameters
    ----------
    x : tensor [shape=(batch, n_frames, dim)]
    scores : tensor [shape=(batch, n_frames)]
    mask : tensor [shape=(batch, n_frames)] or None

    Returns
    -------
    pooled : tensor [shape=(batch, dim)]
    """
    if mask is not None:
        mask = ops.cast(mask, scores.dtype)
        scores = scores * mask - 1e9 * (1.0 - mask)
    weights = ops.softmax(scores, axis=1)
    if mask is not None:  # a clip without any kept frame pools to zeros
        weights = weights * ops.minimum(ops.sum(mask, axis=1, keepdims=True), 1.0)
    return ops.sum(x * weights[:, :, None], axis=1)


# ------------------------------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="ser")
class MergeFrames(keras.layers.Layer):
    """``(batch, n_frames, 2048) -> (batch * n_frames, 2048)``, so a FIN sees all frames of a batch at once.

    A reshape, not ``TimeDistributed`` (which in Keras 3 loops over the time steps in Python).
    """

    def call(self, frames):
        return merge_frames(frames)

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[2:])


@keras.saving.register_keras_serializable(package="ser")
class SplitFrames(keras.layers.Layer):
    """``[(batch * n_frames, dim), frames (batch, n_frames, ...)] -> (batch, n_frames, dim)``."""

    def call(self, inputs):
        flat, reference = inputs
        return split_frames(flat, reference)

    def compute_output_shape(self, input_shape):
        flat, reference = input_shape
        return (reference[0], reference[1], flat[-1])


@keras.saving.register_keras_serializable(package="ser")
class FrameMask(keras.layers.Layer):
    """``(batch, n_frames, 2048) -> (batch, n_frames)``: 1 for frames with audio, 0 for all-zero (padding) frames."""

    def call(self, frames):
        return frame_mask(frames)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])


def _unpack(inputs):
    """``x`` or ``[x, mask]`` -> ``(x, mask or None)``."""
    if isinstance(inputs, (list, tuple)):
        return inputs[0], inputs[1]
    return inputs, None


def _shape(input_shape):
    """Shape of ``x`` from the shape of ``x`` or of ``[x, mask]``."""
    return input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)) \
        else input_shape


@keras.saving.register_keras_serializable(package="ser")
class MeanPooling(keras.layers.Layer):
    """Mean over the frames, ``(batch, n_frames, dim) -> (batch, dim)`` (the seed's pooling).

    Called on ``[x, mask]``, the mean over the frames where ``mask`` (``(batch, n_frames)``) is 1.
    """

    def call(self, inputs):
        return mean_pool(*_unpack(inputs))

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (shape[0], shape[-1])


@keras.saving.register_keras_serializable(package="ser")
class StatisticsPooling(keras.layers.Layer):
    """Mean and standard deviation over the frames, ``(batch, n_frames, dim) -> (batch, 2 * dim)``.

    Called on ``[x, mask]``, over the frames where ``mask`` is 1.

    Parameters
    ----------
    eps : float
        Added to the variance before the square root (a finite gradient for constant features).
    """

    def __init__(self, eps=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, inputs):
        x, mask = _unpack(inputs)
        return statistics_pool(x, mask, self.eps)

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (shape[0], 2 * shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(eps=self.eps)
        return config


@keras.saving.register_keras_serializable(package="ser")
class AttentionPooling(keras.layers.Layer):
    """Additive attention over the frames: ``score_t = v . tanh(W bn(x_t) + b)``, output ``sum_t softmax(score)_t x_t``.

    The FIN outputs span decades (mel power against ZCR), so the scores are computed from a batch-normalised
    copy of the frames; the pooled output is a weighted mean of the frames as they come in. Called on
    ``[x, mask]``, frames where ``mask`` is 0 get no weight.

    Parameters
    ----------
    units : int
        Width of the scoring layer.
    seed : int or None
        Seeds the scoring weights.
    """

    def __init__(self, units=64, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.seed = seed
        self.norm = keras.layers.BatchNormalization(name="score_norm")
        self.hidden = keras.layers.Dense(self.units, activation="tanh", name="score_hidden",
                                         kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
        self.score = keras.layers.Dense(1, use_bias=False, name="score",
                                        kernel_initializer=keras.initializers.GlorotUniform(
                                            seed=None if seed is None else seed + 1))

    def build(self, input_shape):
        shape = _shape(input_shape)
        self.norm.build(shape)
        self.hidden.build(shape)
        self.score.build((*shape[:-1], self.units))

    def call(self, inputs, training=None):
        x, mask = _unpack(inputs)
        scores = self.score(self.hidden(self.norm(x, training=training)))[..., 0]
        return attention_pool(x, scores, mask)

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (shape[0], shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, seed=self.seed)
        return config


# ----------------------------------------------------------------------- compression and speaker normalisation


@keras.saving.register_keras_serializable(package="ser")
class LogCompress(keras.layers.Layer):
    """``log(x + floor)`` on some feature columns of each frame, the others passed through.

    The FIN stack's RMS and mel outputs are amplitudes and powers spanning several decades; their mean over a
    clip is dominated by the loudest frames. Compressing them frame by frame before pooling makes the pooled
    mean a mean of log-energies (as MFCCs already are). Not in the seed.

    Parameters
    ----------
    columns : list of int
        Indices (last axis) to compress.
    floor : float
        Added before the log (the dB floor librosa's ``power_to_db`` uses is 1e-10; 1e-6 keeps near-silent
        frames from dominating the statistics).
    """

    def __init__(self, columns, floor=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]
        self.floor = float(floor)

    def build(self, input_shape):
        selected = [0.0] * int(input_shape[-1])
        for c in self.columns:
            selected[c] = 1.0
        self._selected = ops.convert_to_tensor(selected, dtype="float32")

    def call(self, x):
        logged = ops.log(ops.maximum(x, 0.0) + self.floor)
        return self._selected * logged + (1.0 - self._selected) * x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(columns=self.columns, floor=self.floor)
        return config


@keras.saving.register_keras_serializable(package="ser")
class SpeakerNormalization(keras.layers.Layer):
    """``(x - mean) / std`` with one speaker's statistics of the pooled vector: ``(batch, dim) -> (batch, dim)``.

    The statistics are not learned: they are the mean and standard deviation of the pooled vectors of one
    speaker's recordings (no labels needed), set with :meth:`set_statistics` before predicting that speaker.
    Training feeds the head vectors already normalised per training speaker (see :mod:`ser.inputs`); a saved
    model holds the statistics of all its training speakers' recordings together, the fallback when a speaker's
    own recordings are not at hand (``ser.predict --no-speaker-adapt``).
    """

    def __init__(self, eps=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.mean = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(dim,), initializer="ones", trainable=False, name="std")

    def set_statistics(self, mean, std):
        """Set the speaker's mean and standard deviation (``(dim,)`` each; ``eps`` is added to ``std``)."""
        self.mean.assign(np.asarray(mean, dtype="float32"))
        self.std.assign(np.asarray(std, dtype="float32") + self.eps)

    def call(self, x):
        return (x - self.mean) / self.std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(eps=self.eps)
        return config


def speaker_statistics(pooled, speakers, reference=None):
    """Per-speaker mean and standard deviation of pooled vectors.

    Parameters
    ----------
    pooled : np.ndarray [shape=(n, dim)]
    speakers : np.ndarray [shape=(n,)]
        The speaker of each row.
    reference : np.ndarray [shape=(n,), dtype=bool] or None
        Rows the statistics are computed from (e.g. the original recordings, not augmented copies); default all.

    Returns
    -------
    stats : dict
        Speaker -> ``(mean, std)``, each ``(dim,)``.
    """
    speakers = np.asarray(speakers)
    reference = np.ones(len(speakers), bool) if reference is None else np.asarray(reference, bool)
    stats = {}
    for s in np.unique(speakers):
        rows = (speakers == s) & reference
        if not rows.any():
            rows = speakers == s
        stats[s] = (pooled[rows].mean(axis=0), pooled[rows].std(axis=0))
    return stats


def normalise_by_speaker(pooled, speakers, stats, eps=1e-6):
    """Each row z-normalised with its speaker's statistics (:func:`speaker_statistics`), as
    :class:`SpeakerNormalization` does."""
    out = np.empty_like(pooled, dtype=np.float32)
    for s, (mean, std) in stats.items():
        rows = np.asarray(speakers) == s
        out[rows] = (pooled[rows] - mean) / (std + eps)
    return out
