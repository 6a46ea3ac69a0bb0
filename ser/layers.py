"""Keras layers of the SER model: thin holders around the pure ``keras.ops`` functions defined here.

Every layer is registered under the package name ``ser``, so ``keras.saving.load_model`` rebuilds a saved SER
model after ``import ser`` (which also imports :mod:`fin` for the FIN layers).

Axis convention: ``(batch, n_frames, ...)``; one row per 2048-sample frame, features last.
"""

import keras
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


def mean_pool(x):
    """Mean over time: ``(batch, n_frames, dim) -> (batch, dim)``; the seed's ``AveragePooling1D(n_frames)``."""
    return ops.mean(x, axis=1)


def statistics_pool(x, eps=1e-6):
    """Mean and standard deviation over time, concatenated: ``(batch, n_frames, dim) -> (batch, 2 * dim)``."""
    mean = ops.mean(x, axis=1)
    var = ops.mean(ops.square(x - mean[:, None, :]), axis=1)
    return ops.concatenate([mean, ops.sqrt(var + eps)], axis=-1)


def attention_pool(x, scores):
    """Weighted mean over time with weights ``softmax(scores)`` over the frames.

    Parameters
    ----------
    x : tensor [shape=(batch, n_frames, dim)]
    scores : tensor [shape=(batch, n_frames)]

    Returns
    -------
    pooled : tensor [shape=(batch, dim)]
    """
    weights = ops.softmax(scores, axis=1)
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
class MeanPooling(keras.layers.Layer):
    """Mean over the frames, ``(batch, n_frames, dim) -> (batch, dim)`` (the seed's pooling)."""

    def call(self, x):
        return mean_pool(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="ser")
class StatisticsPooling(keras.layers.Layer):
    """Mean and standard deviation over the frames, ``(batch, n_frames, dim) -> (batch, 2 * dim)``.

    Parameters
    ----------
    eps : float
        Added to the variance before the square root (a finite gradient for constant features).
    """

    def __init__(self, eps=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x):
        return statistics_pool(x, self.eps)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(eps=self.eps)
        return config


@keras.saving.register_keras_serializable(package="ser")
class AttentionPooling(keras.layers.Layer):
    """Additive attention over the frames: ``score_t = v . tanh(W bn(x_t) + b)``, output ``sum_t softmax(score)_t x_t``.

    The FIN outputs span decades (mel power against ZCR), so the scores are computed from a batch-normalised
    copy of the frames; the pooled output is a weighted mean of the frames as they come in.

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
        self.norm.build(input_shape)
        self.hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        scores = self.score(self.hidden(self.norm(x, training=training)))[..., 0]
        return attention_pool(x, scores)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, seed=self.seed)
        return config
