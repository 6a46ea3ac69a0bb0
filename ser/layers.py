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


def functionals_pool(x, mask=None, eps=1e-6):
    """Mean, standard deviation, minimum and maximum over the (masked-in) frames: ``(batch, 4 * dim)``.

    The first four of openSMILE's functionals. A clip without any kept frame pools to zeros.
    """
    stats = statistics_pool(x, mask, eps)
    keep = ops.ones_like(x[:, :, :1]) if mask is None else ops.cast(mask, x.dtype)[:, :, None]
    big = ops.convert_to_tensor(3e38, x.dtype)
    low = ops.min(ops.where(keep > 0, x, big), axis=1)
    high = ops.max(ops.where(keep > 0, x, -big), axis=1)
    any_kept = ops.minimum(ops.sum(keep, axis=1), 1.0)
    return ops.concatenate([stats, low * any_kept, high * any_kept], axis=-1)


#: The functionals of :func:`descriptive_pool`, per feature, in output order (feature-major within each).
DESCRIPTIVE_FUNCTIONALS = ("mean", "std", "p1", "p25", "p50", "p75", "p99", "range_1_99", "iqr_25_75", "slope",
                           "skewness", "kurtosis", "delta_mean", "delta_std", "delta_abs_mean")


def masked_percentiles(x, mask, percents):
    """Percentiles over the (masked-in) frames, numpy's default linear interpolation: a list of ``(batch, dim)``.

    The kept frames need not be contiguous: the values are sorted with the masked-out ones pushed to the end, and
    percentile ``q`` of ``n`` kept values interpolates between sorted positions ``floor`` and ``ceil`` of
    ``q / 100 * (n - 1)`` (as ``np.percentile``). A clip without any kept frame gives zeros.
    """
    keep = ops.cast(mask, x.dtype)
    big = ops.convert_to_tensor(3e38, x.dtype)
    ordered = ops.sort(ops.where(keep[:, :, None] > 0, x, big), axis=1)
    n = ops.sum(keep, axis=1)  # (batch,)
    last = ops.maximum(n - 1.0, 0.0)
    any_kept = ops.minimum(n, 1.0)[:, None]
    index0 = ops.zeros_like(ordered[:, :1, :], dtype="int32")

    def at(position):  # the sorted value at an integer position per clip, (batch, dim)
        index = index0 + ops.cast(position, "int32")[:, None, None]
        return ops.take_along_axis(ordered, index, axis=1)[:, 0, :]

    out = []
    for q in percents:
        position = (float(q) / 100.0) * last
        low = ops.floor(position)
        frac = (position - low)[:, None]
        lower, upper = at(low), at(ops.minimum(low + 1.0, last))
        out.append((lower + frac * (upper - lower)) * any_kept)
    return out


def descriptive_pool(x, mask=None, eps=1e-6):
    """Fifteen functionals of every feature over the (masked-in) frames: ``(batch, 15 * dim)``.

    In the order of :data:`DESCRIPTIVE_FUNCTIONALS`, each block ``dim`` wide: mean and standard deviation;
    percentiles 1, 25, 50, 75, 99 and the ranges 1-99 and 25-75; the slope of a line fit over time (covariance
    with the standardised frame index); skewness and kurtosis; mean, standard deviation and mean magnitude of the
    frame-to-frame differences (over pairs of consecutive kept frames). The kind of summary openSMILE's functionals
    make of low-level descriptors, here of the FINs' frame features. A clip without any kept frame gives zeros.
    """
    keep = ops.ones_like(x[:, :, 0]) if mask is None else ops.cast(mask, x.dtype)
    weights = keep / ops.maximum(ops.sum(keep, axis=1, keepdims=True), 1.0)  # (batch, n_frames)
    w = weights[:, :, None]
    mean = ops.sum(x * w, axis=1)
    centred = (x - mean[:, None, :]) * ops.cast(keep[:, :, None] > 0, x.dtype)
    std = ops.sqrt(ops.sum(ops.square(centred) * w, axis=1) + eps)
    z = centred / std[:, None, :]
    skewness = ops.sum(z * z * z * w, axis=1)
    kurtosis = ops.sum(ops.square(ops.square(z)) * w, axis=1)
    t = ops.cast(ops.arange(ops.shape(x)[1]), x.dtype)[None, :]
    t_centred = (t - ops.sum(t * weights, axis=1, keepdims=True)) * keep
    t_std = ops.sqrt(ops.sum(ops.square(t_centred) * weights, axis=1, keepdims=True) + eps)
    slope = ops.sum(x * (t_centred / t_std * weights)[:, :, None], axis=1)
    p1, p25, p50, p75, p99 = masked_percentiles(x, keep, (1, 25, 50, 75, 99))
    pair = keep[:, 1:] * keep[:, :-1]
    pair_w = (pair / ops.maximum(ops.sum(pair, axis=1, keepdims=True), 1.0))[:, :, None]
    delta = x[:, 1:] - x[:, :-1]
    delta_mean = ops.sum(delta * pair_w, axis=1)
    delta_std = ops.sqrt(ops.sum(ops.square(delta - delta_mean[:, None, :]) * pair_w, axis=1) + eps)
    delta_abs = ops.sum(ops.abs(delta) * pair_w, axis=1)
    any_kept = ops.minimum(ops.sum(keep, axis=1), 1.0)[:, None]
    parts = [mean, std * any_kept, p1, p25, p50, p75, p99, p99 - p1, p75 - p25, slope, skewness, kurtosis,
             delta_mean, delta_std * ops.minimum(ops.sum(pair, axis=1), 1.0)[:, None], delta_abs]
    return ops.concatenate(parts, axis=-1)


def frame_deltas(x, mask=None):
    """``x`` with its first difference over time appended: ``(batch, n_frames, 2 * dim)``.

    ``delta_t = x_t - x_{t-1}`` (0 for the first frame); with a mask, a difference touching a masked-out frame
    is 0, so padding does not create a jump.
    """
    previous = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
    delta = x - previous
    if mask is not None:
        mask = ops.cast(mask, x.dtype)
        both = mask * ops.concatenate([mask[:, :1], mask[:, :-1]], axis=1)
        delta = delta * both[:, :, None]
    return ops.concatenate([x, delta], axis=-1)


# ------------------------------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="ser")
class ClipFrames(keras.layers.Layer):
    """Clips to frames in the graph: ``(batch, n_samples) -> (batch, n_frames, frame_length)``.

    The same frames as :func:`ser.data.clip_frames` (centred: ``frame_length // 2`` zeros in front, zeros after the
    end), built from ``frame_length // hop_length`` shifted views of the clip cut into hops: a copy, so bit for
    bit equal. Feeding clips instead of frames moves a quarter of the bytes per batch (the frames overlap 4x),
    which is what makes the in-memory fine-tuning path of :class:`ser.inputs.FrameInputs` cheap.

    Examples
    --------
    >>> import numpy as np
    >>> from ser.data import clip_frames
    >>> clips = np.random.default_rng(0).standard_normal((2, 55125)).astype("float32")
    >>> frames = keras.ops.convert_to_numpy(ClipFrames(108)(clips))
    >>> frames.shape, bool(np.array_equal(frames, clip_frames(clips, 108)))
    ((2, 108, 2048), True)
    """

    def __init__(self, n_frames, frame_length=2048, hop_length=512, **kwargs):
        super().__init__(**kwargs)
        self.n_frames, self.frame_length, self.hop_length = int(n_frames), int(frame_length), int(hop_length)
        if self.frame_length % self.hop_length:
            raise ValueError(f"frame_length {frame_length} must be a multiple of hop_length {hop_length}")

    def _blocks(self, clips):
        """The centred, zero-padded clips cut into hops: ``(batch, n_frames + hops - 1, hop_length)``; frame ``f``
        is blocks ``f .. f + hops - 1`` end to end."""
        hops = self.frame_length // self.hop_length
        n_blocks = self.n_frames + hops - 1
        needed = n_blocks * self.hop_length
        half = self.frame_length // 2
        keep = min(clips.shape[-1], needed - half)
        padded = ops.pad(clips[:, :keep], [[0, 0], [half, needed - half - keep]])
        return ops.reshape(padded, (-1, n_blocks, self.hop_length))

    def call(self, clips):
        blocks = self._blocks(clips)
        hops = self.frame_length // self.hop_length
        return ops.concatenate([blocks[:, i : i + self.n_frames] for i in range(hops)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_frames, self.frame_length)

    def get_config(self):
        return {**super().get_config(), "n_frames": self.n_frames, "frame_length": self.frame_length,
                "hop_length": self.hop_length}


def _take_frames(frames, index):
    """``frames[b, index[b, j]]`` as ``(batch, kept, ...)``: one row gather of the flattened frames (a copy).
    ``ops.take_along_axis`` with the index broadcast over the samples gathered element by element: 94 ms against
    a few ms for one batch of 64 EMO-DB clips (an exploratory timing)."""
    batch, n_frames = ops.shape(frames)[0], frames.shape[1]
    flat = ops.reshape(frames, (-1, *frames.shape[2:]))
    rows = ops.reshape(index + n_frames * ops.arange(batch, dtype=index.dtype)[:, None], (-1,))
    return ops.reshape(ops.take(flat, rows, axis=0), (batch, index.shape[1], *frames.shape[2:]))


@keras.saving.register_keras_serializable(package="ser")
class FrameSubsample(keras.layers.Layer):
    """In training, every ``stride``-th frame of each clip from a random phase; at inference all frames.

    ``(batch, n_frames, ...) -> (batch, n_frames // stride, ...)`` when ``training``, identity otherwise.
    With 2048-sample frames at hop 512, stride 4 keeps frames that tile the clip without overlap: every sample is
    still seen once per step, with a quarter of the FIN work. Only for order-free pooling (mean, statistics,
    attention), which estimates the same clip statistics from the kept frames. Keeps ``n_frames // stride`` frames
    (27 of 108 for stride 4); when ``stride`` does not divide ``n_frames`` the last few frames are kept in fewer
    steps.
    """

    def __init__(self, stride, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stride, self.seed = int(stride), seed
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, frames, training=False):
        if not training or self.stride == 1:
            return frames
        n_frames = frames.shape[1]
        kept = n_frames // self.stride
        return _take_frames(frames, _strided_index(ops.shape(frames)[0], kept, self.stride, self.generator))

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "seed": self.seed}


def _strided_index(batch, kept, stride, generator):
    """Per clip a random phase in ``0 .. stride-1`` and the ``kept`` frame indices ``phase + stride * j``."""
    phase = keras.random.randint((batch, 1), 0, stride, seed=generator)
    return phase + stride * ops.arange(kept, dtype=phase.dtype)[None, :]


@keras.saving.register_keras_serializable(package="ser")
class StridedClipFrames(ClipFrames):
    """:class:`ClipFrames` then :class:`FrameSubsample` in one layer: in training only the kept frames are built.

    ``(batch, n_samples) -> (batch, n_frames // stride, frame_length)`` when ``training`` (every ``stride``-th
    frame from a random phase per clip), all ``n_frames`` frames otherwise. The same frames, bit for bit, as
    ``FrameSubsample(stride, seed)(ClipFrames(n_frames)(clips), training=True)`` with the same seed (the same
    phase draws; tested), without framing the whole clip first: each kept frame is gathered from the clip's hops
    (at stride 4 and 2048-sample frames at hop 512, a quarter of the samples, each once). The training path of
    :func:`ser.inputs.on_clips`.
    """

    def __init__(self, n_frames, stride, seed=None, frame_length=2048, hop_length=512, **kwargs):
        super().__init__(n_frames, frame_length=frame_length, hop_length=hop_length, **kwargs)
        self.stride, self.seed = int(stride), seed
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, clips, training=False):
        if not training or self.stride == 1:
            return super().call(clips)
        blocks = self._blocks(clips)
        batch, hops = ops.shape(clips)[0], self.frame_length // self.hop_length
        index = _strided_index(batch, self.n_frames // self.stride, self.stride, self.generator)
        parts = [_take_frames(blocks, index + h) for h in range(hops)]  # frame f is blocks f .. f + hops - 1
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None, self.frame_length)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "seed": self.seed}


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


class _StatisticPooling(keras.layers.Layer):
    """Base of the poolings that are a fixed function of the frames: ``pool(x, mask, eps)`` with ``factor`` values
    per feature, over the frames where ``mask`` is 1 when called on ``[x, mask]``.

    Parameters
    ----------
    eps : float
        Added to variances before square roots (a finite gradient for constant features).
    """

    factor = 1

    def __init__(self, eps=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    @staticmethod
    def pool(x, mask, eps):
        raise NotImplementedError

    def call(self, inputs):
        x, mask = _unpack(inputs)
        return self.pool(x, mask, self.eps)

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (shape[0], self.factor * shape[-1])

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(package="ser")
class StatisticsPooling(_StatisticPooling):
    """Mean and standard deviation over the frames, ``(batch, n_frames, dim) -> (batch, 2 * dim)``
    (:func:`statistics_pool`)."""

    factor = 2
    pool = staticmethod(statistics_pool)


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


@keras.saving.register_keras_serializable(package="ser")
class FunctionalsPooling(_StatisticPooling):
    """Mean, standard deviation, minimum and maximum over the frames, ``(batch, n_frames, dim) -> (batch, 4 * dim)``
    (:func:`functionals_pool`)."""

    factor = 4
    pool = staticmethod(functionals_pool)


@keras.saving.register_keras_serializable(package="ser")
class DescriptivePooling(_StatisticPooling):
    """Fifteen functionals per feature over the frames (:func:`descriptive_pool`): ``dim -> 15 * dim``."""

    factor = len(DESCRIPTIVE_FUNCTIONALS)
    pool = staticmethod(descriptive_pool)


@keras.saving.register_keras_serializable(package="ser")
class OneVsOneSVM(keras.layers.Layer):
    """A linear one-vs-one SVM as a layer: ``(batch, dim) -> (batch, n_classes)``, softmax of sklearn's decision.

    One linear function per class pair ``(i, j)``, ``i < j`` in libsvm's order (:func:`ser.svm.pair_index`):
    ``d = x @ kernel + bias``, ``d >= 0`` a vote for ``i``, else for ``j``. The decision per class is sklearn's
    ``SVC.decision_function`` with ``decision_function_shape="ovr"``: votes plus the summed confidences ``s``
    squashed to ``s / (3 (|s| + 1))``, so its argmax is the SVM's prediction. The output is a softmax of it, so
    that the model's output is a distribution like every head's; it is not calibrated.

    The weights are fitted by sklearn (:func:`ser.svm.fit_svm_head`), not by gradient descent: the layer has no
    trainable weights.
    """

    def __init__(self, n_classes, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = int(n_classes)
        pairs = [(i, j) for i in range(self.n_classes) for j in range(i + 1, self.n_classes)]
        self.n_pairs = len(pairs)
        first, second = np.zeros((self.n_pairs, self.n_classes)), np.zeros((self.n_pairs, self.n_classes))
        for k, (i, j) in enumerate(pairs):
            first[k, i], second[k, j] = 1.0, 1.0
        self._first, self._second = first.astype("float32"), second.astype("float32")

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), self.n_pairs), initializer="zeros",
                                      trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(self.n_pairs,), initializer="zeros", trainable=False, name="bias")

    def decision(self, x):
        """sklearn's ``decision_function`` (``"ovr"`` shape): ``(batch, n_classes)``."""
        d = ops.matmul(x, self.kernel) + self.bias
        first = ops.convert_to_tensor(self._first, d.dtype)
        second = ops.convert_to_tensor(self._second, d.dtype)
        wins = ops.cast(d >= 0, d.dtype)
        votes = ops.matmul(wins, first) + ops.matmul(1.0 - wins, second)
        confidence = ops.matmul(d, first - second)
        return votes + confidence / (3.0 * (ops.abs(confidence) + 1.0))

    def call(self, x):
        return ops.softmax(self.decision(x), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_classes)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


@keras.saving.register_keras_serializable(package="ser")
class FrameDeltas(keras.layers.Layer):
    """Each frame's features and their first difference over time (:func:`frame_deltas`): ``dim -> 2 * dim``.

    Called on ``[x, mask]``, differences touching a masked-out (padding) frame are 0.
    """

    def call(self, inputs):
        return frame_deltas(*_unpack(inputs))

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (*shape[:-1], 2 * shape[-1])


@keras.saving.register_keras_serializable(package="ser")
class TemporalConv(keras.layers.Layer):
    """A temporal block over the frame sequence: per-feature BatchNorm, then two ReLU ``Conv1D`` over time.

    ``(batch, n_frames, dim) -> (batch, n_frames, filters)``; ``padding="same"``, so frame ``t`` of the output sees
    frames ``t - (kernel - 1) .. t + (kernel - 1)``; masked-out (padding) frames are zeroed after the norm so they
    feed the edge frames zeros. Pooling over time follows (with the same mask).

    Parameters
    ----------
    filters, kernel : int
    dropout : float
        Dropout on the block's output (training only).
    seed : int or None
    """

    def __init__(self, filters=128, kernel=5, dropout=0.2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel, self.dropout_rate, self.seed = int(filters), int(kernel), float(dropout), seed
        init = lambda k: keras.initializers.GlorotUniform(seed=None if seed is None else seed + k)  # noqa: E731
        self.norm = keras.layers.BatchNormalization(name="frame_norm")
        self.conv1 = keras.layers.Conv1D(self.filters, self.kernel, padding="same", activation="relu",
                                         kernel_initializer=init(0), name="conv1")
        self.conv2 = keras.layers.Conv1D(self.filters, self.kernel, padding="same", activation="relu",
                                         kernel_initializer=init(1), name="conv2")
        self.drop = keras.layers.Dropout(self.dropout_rate, seed=seed, name="drop")

    def build(self, input_shape):
        shape = _shape(input_shape)
        self.norm.build(shape)
        self.conv1.build(shape)
        self.conv2.build((*shape[:-1], self.filters))

    def call(self, inputs, training=None):
        x, mask = _unpack(inputs)
        x = self.norm(x, training=training)
        if mask is not None:
            x = x * ops.cast(mask, x.dtype)[:, :, None]
        return self.drop(self.conv2(self.conv1(x)), training=training)

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (*shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel, "dropout": self.dropout_rate,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="ser")
class TemporalGRU(keras.layers.Layer):
    """A bidirectional GRU over the frame sequence, after a per-feature BatchNorm.

    ``(batch, n_frames, dim) -> (batch, n_frames, 2 * units)``; called on ``[x, mask]``, the GRUs skip
    masked-out (padding) frames (Keras masking), so the backward GRU starts at the clip's last audio frame.
    """

    def __init__(self, units=64, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.seed = int(units), seed
        self.norm = keras.layers.BatchNormalization(name="frame_norm")
        self.gru = keras.layers.Bidirectional(
            keras.layers.GRU(self.units, return_sequences=True, seed=seed,
                             kernel_initializer=keras.initializers.GlorotUniform(seed=seed)), name="bigru")

    def build(self, input_shape):
        shape = _shape(input_shape)
        self.norm.build(shape)
        self.gru.build(shape)

    def call(self, inputs, training=None):
        x, mask = _unpack(inputs)
        x = self.norm(x, training=training)
        out = self.gru(x, mask=None if mask is None else ops.cast(mask, "bool"), training=training)
        try:  # the pooling after takes the mask as an input; a Keras mask left on the tensor would only warn
            out._keras_mask = None
        except AttributeError:
            pass
        return out

    def compute_output_shape(self, input_shape):
        shape = _shape(input_shape)
        return (*shape[:-1], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "seed": self.seed}


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
