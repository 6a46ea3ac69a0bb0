"""Keras layers of the FINs: thin holders of weights and constants around :mod:`fin.ops`.

Every layer is registered under the package name ``fin``, so ``keras.saving.load_model`` rebuilds a saved FIN
after ``import fin``. Layers with trainable weights take ``init``: ``"closed-form"`` sets the weights to the
librosa operator they imitate (the layer is then exact before any training), ``"random"`` draws them from a
seeded distribution of a comparable scale (the same structure, learned from scratch).

Axis convention: inputs and outputs are ``(batch, ..., features)``, one row per 2048-sample frame.
"""

import keras
import numpy as np
from keras import ops

from fin import ops as fops
from fin.errors import FINError

INITS = ("closed-form", "random")


def _check_init(init):
    if init not in INITS:
        raise FINError(f"unknown init {init!r}; expected one of {', '.join(INITS)}")
    return init


def _constant(value):
    """An initializer returning ``value`` (a closed-form operator) whatever the requested dtype."""
    value = np.asarray(value, dtype=np.float32)

    def initializer(shape, dtype=None):
        if tuple(shape) != value.shape:
            raise FINError(f"closed-form weight has shape {value.shape}, layer asked for {tuple(shape)}")
        return ops.convert_to_tensor(value, dtype=dtype or "float32")

    return initializer


class _InitLayer(keras.layers.Layer):
    """Base of the layers with closed-form or random weights: keeps ``init`` and ``seed`` and their config."""

    def __init__(self, init="closed-form", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.init = _check_init(init)
        self.seed = seed

    def _weight(self, name, closed_form, random_initializer, trainable=True):
        """Add a weight set to ``closed_form()`` or drawn from ``random_initializer``, a ``(shape, initializer)``."""
        if self.init == "closed-form":
            value = np.asarray(closed_form(), dtype=np.float32)
            shape, initializer = value.shape, _constant(value)
        else:
            shape, initializer = random_initializer
        return self.add_weight(name=name, shape=shape, initializer=initializer, trainable=trainable)

    def _random(self, kind, shape, offset=0, **kw):
        """``(shape, initializer)`` for a seeded random weight; ``kind`` is a keras initializer class name.

        ``offset`` gives each weight of a layer its own stream.
        """
        seed = None if self.seed is None else int(self.seed) + offset
        return tuple(shape), getattr(keras.initializers, kind)(seed=seed, **kw)

    def get_config(self):
        config = super().get_config()
        config.update(init=self.init, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="fin")
class Destandardize(keras.layers.Layer):
    """``y = x * std + mean``: maps a network's standardised output back to librosa units.

    ``mean`` and ``std`` are non-trainable weights (zeros and ones until set), so the target statistics of the
    training set travel inside the saved model.

    Parameters
    ----------
    units : int
        Output size.

    Input shape ``(batch, units)``, output shape ``(batch, units)``.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        self.mean = self.add_weight(name="mean", shape=(self.units,), initializer="zeros", trainable=False)
        self.std = self.add_weight(name="std", shape=(self.units,), initializer="ones", trainable=False)

    def set_statistics(self, mean=None, std=None):
        """Set the target mean and standard deviation, each ``(units,)`` or a scalar; ``None`` keeps the value."""
        for variable, value in ((self.mean, mean), (self.std, std)):
            if value is not None:
                value = np.broadcast_to(np.asarray(value, dtype=np.float32).reshape(-1), (self.units,))
                variable.assign(value)

    def call(self, x):
        return x * self.std + self.mean

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package="fin")
class FrameWindow(_InitLayer):
    """A trainable per-sample window; closed form: librosa's periodic Hann window.

    Parameters
    ----------
    length : int
        Samples per frame.

    Input shape ``(batch, length)``, output shape ``(batch, length)``.
    """

    def __init__(self, length=2048, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.length = int(length)

    def build(self, input_shape):
        self.window = self._weight(
            "window", lambda: fops.hann_window(self.length), self._random("RandomUniform", (self.length,), minval=0.0, maxval=1.0)
        )

    def call(self, frames):
        return frames * self.window

    def get_config(self):
        config = super().get_config()
        config.update(length=self.length)
        return config


@keras.saving.register_keras_serializable(package="fin")
class FactorisedDFT(_InitLayer):
    """A trainable real-input DFT factorised as two smaller DFT stages and twiddle factors (Cooley-Tukey).

    ``n_fft = N1 * N2`` (default 2048 = 32 x 64): the frame is read as an ``(N1, N2)`` matrix, an ``N1``-point
    DFT runs down its columns, each entry is multiplied by a twiddle factor, and an ``N2``-point DFT runs along
    its rows, of which only the ``ceil(n_bins / N1)`` outputs that hold bins ``0 .. n_bins-1`` are computed;
    see :func:`fin.ops.dft_factors` for the index algebra. All three factors are trainable (real and imaginary
    parts as separate real weights): 10,368 weights and 0.4 M multiply-adds per frame for 2048 points and
    1025 bins, against 4.2 M of each for a dense 2048 x 2050 projection. The closed form is the exact DFT
    (``np.fft.rfft`` within float32 round-off).

    Parameters
    ----------
    n_fft : int
        Samples per frame.
    factors : tuple of int
        ``(N1, N2)`` with ``N1 * N2 == n_fft``.
    n_bins : int or None
        Bins returned; ``None`` for ``1 + n_fft // 2``.

    Input shape ``(batch, n_fft)``; output: a list ``[real, imag]``, each ``(batch, n_bins)``.
    """

    def __init__(self, n_fft=2048, factors=(32, 64), n_bins=None, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.n_fft = int(n_fft)
        self.factors = tuple(int(f) for f in factors)
        self.n_bins = 1 + self.n_fft // 2 if n_bins is None else int(n_bins)
        fops.check_dft_factors(self.n_fft, self.factors, self.n_bins)

    def build(self, input_shape):
        n1, n2, k2 = fops.check_dft_factors(self.n_fft, self.factors, self.n_bins)
        closed = fops.dft_factors(self.n_fft, self.factors, self.n_bins) if self.init == "closed-form" else (None,) * 3
        self.stage1 = self._weight("stage1", lambda: closed[0], self._random("RandomNormal", (2, n1, n1), stddev=n1**-0.5))
        self.twiddle = self._weight("twiddle", lambda: closed[1], self._random("RandomNormal", (2, n1, n2), 1, stddev=0.5**0.5))
        self.stage2 = self._weight("stage2", lambda: closed[2], self._random("RandomNormal", (2, n2, k2), 2, stddev=n2**-0.5))

    def call(self, frames):
        return list(fops.factorised_rdft(frames, self.stage1, self.twiddle, self.stage2, self.n_bins))

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.n_bins), (input_shape[0], self.n_bins)]

    def get_config(self):
        config = super().get_config()
        config.update(n_fft=self.n_fft, factors=list(self.factors), n_bins=self.n_bins)
        return config


@keras.saving.register_keras_serializable(package="fin")
class SpectralPower(keras.layers.Layer):
    """``|X|**2`` (``magnitude=False``) or ``|X|`` (``magnitude=True``) from real and imaginary parts.

    The magnitude uses :func:`fin.ops.safe_sqrt`: exact, with a finite gradient at 0.

    Input: a list ``[real, imag]``, each ``(batch, n_bins)``; output ``(batch, n_bins)``.
    """

    def __init__(self, magnitude=False, **kwargs):
        super().__init__(**kwargs)
        self.magnitude = bool(magnitude)

    def call(self, inputs):
        real, imag = inputs
        power = ops.square(real) + ops.square(imag)
        return fops.safe_sqrt(power) if self.magnitude else power

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(magnitude=self.magnitude)
        return config


@keras.saving.register_keras_serializable(package="fin")
class Filterbank(_InitLayer):
    """A trainable filter bank ``y = x @ M``; closed form: librosa's mel or tuning-0 chroma filter bank.

    Parameters
    ----------
    kind : {"mel", "chroma"}
        The closed form: ``data_prep.targets.mel_filterbank`` (Slaney, area-normalised) or
        ``chroma_filterbank(tuning)``.
    n_filters : int
        Output size (128 mels, 12 chroma bins).
    sr, n_fft : int
        Sample rate and FFT size the filter bank is for.
    tuning : float
        Tuning deviation of the chroma filter bank, in fractions of a bin.

    Input shape ``(batch, 1 + n_fft // 2)``, output shape ``(batch, n_filters)``.
    """

    KINDS = ("mel", "chroma")

    def __init__(self, kind="mel", n_filters=128, sr=22050, n_fft=2048, tuning=0.0, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        if kind not in self.KINDS:
            raise FINError(f"unknown filter bank kind {kind!r}; expected one of {', '.join(self.KINDS)}")
        self.kind = kind
        self.n_filters = int(n_filters)
        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.tuning = float(tuning)

    def _closed_form(self):
        from data_prep.targets import chroma_filterbank, mel_filterbank

        if self.kind == "mel":
            return mel_filterbank(sr=self.sr, n_fft=self.n_fft, n_mels=self.n_filters).T
        if self.n_filters != 12:
            raise FINError(f"the closed-form chroma filter bank has 12 bins, not {self.n_filters}")
        return chroma_filterbank(self.tuning, sr=self.sr, n_fft=self.n_fft).T

    def build(self, input_shape):
        n_bins = 1 + self.n_fft // 2
        self.matrix = self._weight(
            "matrix", self._closed_form, self._random("RandomUniform", (n_bins, self.n_filters), minval=0.0, maxval=2.0 / n_bins)
        )

    def call(self, spectra):
        return ops.matmul(spectra, self.matrix)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_filters)

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, n_filters=self.n_filters, sr=self.sr, n_fft=self.n_fft, tuning=self.tuning)
        return config


@keras.saving.register_keras_serializable(package="fin")
class PowerToDb(keras.layers.Layer):
    """``librosa.power_to_db(p, ref=1.0, amin, top_db)`` per frame (the clip is relative to each frame's max).

    Input shape ``(batch, n)``, output shape ``(batch, n)``.
    """

    def __init__(self, amin=1e-10, top_db=80.0, **kwargs):
        super().__init__(**kwargs)
        self.amin = float(amin)
        self.top_db = None if top_db is None else float(top_db)

    def call(self, power):
        return fops.power_to_db(power, amin=self.amin, top_db=self.top_db)

    def get_config(self):
        config = super().get_config()
        config.update(amin=self.amin, top_db=self.top_db)
        return config


@keras.saving.register_keras_serializable(package="fin")
class DCT(_InitLayer):
    """A trainable ``(n_in, n_out)`` projection; closed form: DCT-II, orthonormal, first ``n_out`` coefficients.

    Input shape ``(batch, n_in)``, output shape ``(batch, n_out)``.
    """

    def __init__(self, n_in=128, n_out=20, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.n_in = int(n_in)
        self.n_out = int(n_out)

    def build(self, input_shape):
        self.matrix = self._weight(
            "matrix",
            lambda: fops.dct_matrix(self.n_in, self.n_out),
            self._random("RandomNormal", (self.n_in, self.n_out), stddev=self.n_in**-0.5),
        )

    def call(self, x):
        return ops.matmul(x, self.matrix)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_out)

    def get_config(self):
        config = super().get_config()
        config.update(n_in=self.n_in, n_out=self.n_out)
        return config


@keras.saving.register_keras_serializable(package="fin")
class MaxNormalize(keras.layers.Layer):
    """``librosa.util.normalize(x, norm=np.inf)`` per row: divide by ``max |x|`` unless it is below ``tiny``.

    Input shape ``(batch, n)``, output shape ``(batch, n)``.
    """

    def call(self, x):
        return fops.max_normalize(x)


@keras.saving.register_keras_serializable(package="fin")
class WeightedRMS(_InitLayer):
    """``sqrt(sum_n w[n] x[n]**2)`` with trainable ``w``; closed form ``w = 1 / length``: librosa's RMS.

    Input shape ``(batch, length)``, output shape ``(batch, 1)``.
    """

    def __init__(self, length=2048, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.length = int(length)

    def build(self, input_shape):
        self.kernel = self._weight(
            "weights",
            lambda: np.full(self.length, 1.0 / self.length),
            self._random("RandomUniform", (self.length,), minval=0.0, maxval=2.0 / self.length),
        )

    def call(self, frames):
        return fops.weighted_rms(frames, self.kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(length=self.length)
        return config


@keras.saving.register_keras_serializable(package="fin")
class SpectralCentroid(_InitLayer):
    """``sum_k f[k] S[k] / sum_k S[k]`` with trainable bin frequencies ``f``; closed form: librosa's centroid.

    Closed form ``f = librosa.fft_frequencies(sr, n_fft)``: ``librosa.feature.spectral_centroid(S=S, sr=sr)``.
    Input ``(batch, 1 + n_fft // 2)`` magnitudes, output ``(batch, 1)`` in Hz.
    """

    def __init__(self, sr=22050, n_fft=2048, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.sr, self.n_fft = int(sr), int(n_fft)

    def build(self, input_shape):
        n_bins = 1 + self.n_fft // 2
        self.frequencies = self._weight(
            "frequencies",
            lambda: np.linspace(0, self.sr / 2, n_bins),
            self._random("RandomUniform", (n_bins,), minval=0.0, maxval=self.sr / 2),
        )

    def call(self, S):
        return fops.spectral_centroid(S, self.frequencies)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(sr=self.sr, n_fft=self.n_fft)
        return config


@keras.saving.register_keras_serializable(package="fin")
class ZeroCrossingRate(_InitLayer):
    """librosa's zero-crossing rate with trainable per-pair weights (closed form ``1 / length``).

    The forward pass counts sign-bit changes exactly as ``librosa.zero_crossings(threshold=1e-10, pad=False)``;
    gradients pass through the tanh surrogate of :func:`fin.ops.zero_crossing_rate` (straight-through). The
    surrogate's ``sharpness`` is a fixed constant, not a weight: under a straight-through estimator it does not
    change the forward pass, so a gradient on it would have nothing to fit.

    Parameters
    ----------
    length : int
        Samples per frame (``length - 1`` adjacent pairs).
    threshold : float
        Samples with ``|x| <= threshold`` count as zero (positive).
    sharpness : float
        Slope ``a`` of the surrogate ``tanh(a x)``.

    Input shape ``(batch, length)``, output shape ``(batch, 1)``.
    """

    def __init__(self, length=2048, threshold=1e-10, sharpness=1000.0, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.length = int(length)
        self.threshold = float(threshold)
        self.sharpness = float(sharpness)

    def build(self, input_shape):
        self.kernel = self._weight(
            "weights",
            lambda: np.full(self.length - 1, 1.0 / self.length),
            self._random("RandomUniform", (self.length - 1,), minval=0.0, maxval=2.0 / self.length),
        )

    def call(self, frames):
        return fops.zero_crossing_rate(frames, self.kernel, threshold=self.threshold, sharpness=self.sharpness)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(length=self.length, threshold=self.threshold, sharpness=self.sharpness)
        return config


@keras.saving.register_keras_serializable(package="fin")
class TuningEstimate(keras.layers.Layer):
    """librosa's ``estimate_tuning`` on each frame's magnitude spectrum, as a histogram-bin index.

    Reproduces ``piptrack`` (``fmin``, ``fmax``, ``threshold`` times the frame's maximum, local maxima, parabolic
    interpolation) and ``pitch_tuning`` (median magnitude gate, residuals of ``12 log2(f / 27.5)`` mod 1, a
    histogram of resolution ``resolution`` over ``[-0.5, 0.5)``, first arg-max); see
    :func:`fin.ops.estimate_tuning_index`. A frame without peaks gets the bin of tuning 0.0, as librosa.
    No weights; no gradient (the spectrum enters through ``stop_gradient``).

    Input shape ``(batch, 1 + n_fft // 2)`` (magnitudes), output shape ``(batch,)``, int32.
    """

    def __init__(self, sr=22050, n_fft=2048, fmin=150.0, fmax=4000.0, threshold=0.1, resolution=0.01, bins_per_octave=12,
                 **kwargs):
        super().__init__(**kwargs)
        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.fmin = float(fmin)
        self.fmax = float(fmax)
        self.threshold = float(threshold)
        self.resolution = float(resolution)
        self.bins_per_octave = int(bins_per_octave)
        self._lo, self._hi = fops.piptrack_bins(self.sr, self.n_fft, self.fmin, self.fmax)
        edges = fops.tuning_edges(self.resolution)
        self._edges = fops.float32_ceil(edges)
        self._zero_index = int(np.argmin(np.abs(edges[:-1])))

    def call(self, magnitudes):
        return fops.estimate_tuning_index(
            ops.stop_gradient(magnitudes), self._lo, self._hi, self.sr, self.n_fft, self._edges, self._zero_index,
            threshold=self.threshold, bins_per_octave=self.bins_per_octave,
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def compute_output_spec(self, magnitudes):
        return keras.KerasTensor((magnitudes.shape[0],), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(sr=self.sr, n_fft=self.n_fft, fmin=self.fmin, fmax=self.fmax, threshold=self.threshold,
                      resolution=self.resolution, bins_per_octave=self.bins_per_octave)
        return config


def _partition_allowed():
    """Whether a layer may use dynamic shapes here: the TensorFlow backend, outside an XLA-compiled function."""
    if keras.backend.backend() != "tensorflow":
        return False
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without these internals: take the static path
        return False
    return not control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


@keras.saving.register_keras_serializable(package="fin")
class TunedChromaFilterbank(_InitLayer):
    """Chroma filter banks for every tuning of the histogram, one selected per frame.

    A trainable ``(n_tunings, 1 + n_fft // 2, 12)`` stack, closed form ``chroma_filterbank(edges[k]).T`` for each
    histogram edge ``k`` of :class:`TuningEstimate` (100 banks at resolution 0.01: 1.23 M weights, 4.9 MB).
    Frame ``b`` is projected with bank ``index[b]``; the selected bank gets the gradient.

    How, at inference (and under XLA): every frame is projected with all banks in one matmul,
    ``(batch, n_bins) @ (n_bins, 12 * n_tunings)``, and a one-hot of ``index`` keeps its own 12 values. Static
    shapes, so XLA, TFLite and ONNX take it. Gathering a ``(n_bins, 12)`` bank per frame instead moves 12,300 values
    per frame and scatters its gradient back bank by bank: on 1,728 EMO-DB frames (99 distinct tunings) the chroma
    FIN's training step took 2.5x as long and its forward pass 1.6x as long that way (one run on the 2-core machine).

    In training outside XLA (fine-tuning), the frames are partitioned by tuning (``tf.dynamic_partition``), each
    group is projected with its own bank and the results are stitched back in order: 12 x n_bins multiply-adds per
    frame instead of 100 times that, and each bank's gradient is one small matmul. The same values up to float32
    round-off (tested); on 1,728 random frames over 100 tunings the bank's training step took 2.5 ms against 30 ms
    (one run on the 2-core machine). Dynamic shapes, which XLA and the exports do not take, hence the two paths.

    Input: a list ``[magnitudes (batch, n_bins), index (batch,) int]``; output ``(batch, 12)``.
    """

    def __init__(self, sr=22050, n_fft=2048, resolution=0.01, init="closed-form", seed=None, **kwargs):
        super().__init__(init=init, seed=seed, **kwargs)
        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.resolution = float(resolution)

    def _closed_form(self):
        from data_prep.targets import chroma_filterbank

        edges = fops.tuning_edges(self.resolution)[:-1]
        return np.stack([chroma_filterbank(float(t), sr=self.sr, n_fft=self.n_fft).T for t in edges])

    def build(self, input_shape):
        n_tunings, n_bins = len(fops.tuning_edges(self.resolution)) - 1, 1 + self.n_fft // 2
        self.banks = self._weight(
            "banks", self._closed_form, self._random("RandomUniform", (n_tunings, n_bins, 12), minval=0.0, maxval=2.0 / n_bins)
        )

    def call(self, inputs, training=None):
        magnitudes, index = inputs
        n_tunings, n_bins = self.banks.shape[0], self.banks.shape[1]
        if training and _partition_allowed():
            import tensorflow as tf

            index = ops.cast(index, "int32")
            groups = tf.dynamic_partition(magnitudes, index, n_tunings)
            positions = tf.dynamic_partition(tf.range(tf.shape(magnitudes)[0]), index, n_tunings)
            banks = tf.unstack(ops.convert_to_tensor(self.banks))  # one gradient op (a stack), not 100 slices
            return tf.dynamic_stitch(positions, [tf.matmul(g, b) for g, b in zip(groups, banks)])
        every_bank = ops.reshape(ops.transpose(self.banks, (1, 0, 2)), (n_bins, n_tunings * 12))
        projected = ops.reshape(ops.matmul(magnitudes, every_bank), (-1, n_tunings, 12))
        own = ops.one_hot(ops.cast(index, "int32"), n_tunings, dtype=projected.dtype)  # (batch, n_tunings)
        return ops.sum(projected * own[:, :, None], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 12)

    def get_config(self):
        config = super().get_config()
        config.update(sr=self.sr, n_fft=self.n_fft, resolution=self.resolution)
        return config


@keras.saving.register_keras_serializable(package="fin")
class LogMeanPower(keras.layers.Layer):
    """``log(mean_t x**2 + eps)`` per channel: the log energy of a learned filter bank's outputs.

    Input shape ``(batch, time, channels)``, output shape ``(batch, channels)``.
    """

    def __init__(self, eps=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x):
        return fops.log_mean_power(x, eps=self.eps)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(eps=self.eps)
        return config


# ---------------------------------------------------------------------------------------------------------
# learned FINs (arch "quadratic"): structural layers without any librosa operator in them
# ---------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="fin")
class NormalizePower(keras.layers.Layer):
    """Unit-power frames and their mean power (:func:`fin.ops.normalize_power`); no weights.

    Input shape ``(batch, n)``; outputs ``[(batch, n), (batch, 1)]``.
    """

    def call(self, frames):
        return fops.normalize_power(frames)

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape), (input_shape[0], 1)]


@keras.saving.register_keras_serializable(package="fin")
class Square(keras.layers.Layer):
    """``x ** 2`` elementwise: the energy of each learned filter's output. No weights."""

    def call(self, x):
        return ops.square(x)


@keras.saving.register_keras_serializable(package="fin")
class PairMagnitude(keras.layers.Layer):
    """``sqrt(x[2k]**2 + x[2k+1]**2)``: a phase-free magnitude from each pair of learned filters. No weights.

    Input shape ``(batch, 2 * m)``, output shape ``(batch, m)``.
    """

    def call(self, x):
        return fops.pair_magnitude(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] // 2)


@keras.saving.register_keras_serializable(package="fin")
class Rescale(keras.layers.Layer):
    """``x * p``: puts the frame's power back onto energies computed from the unit-power frame. No weights.

    Inputs ``[(batch, n), (batch, 1)]``, output ``(batch, n)``; ``exponent`` 0.5 rescales magnitudes.
    """

    def __init__(self, exponent=1.0, **kwargs):
        super().__init__(**kwargs)
        self.exponent = float(exponent)

    def call(self, inputs):
        x, power = inputs
        return x * (power if self.exponent == 1.0 else ops.power(power, self.exponent))

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        config = super().get_config()
        config.update(exponent=self.exponent)
        return config


@keras.saving.register_keras_serializable(package="fin")
class NonNegativeDense(keras.layers.Layer):
    """``y = x @ exp(log_kernel)``: a learned bank whose weights stay positive (energies in, energies out).

    ``log_kernel`` is drawn from a normal distribution (mean ``log_mean``, std ``log_std``), so every output
    starts as a random positive mixture of every input.

    Parameters
    ----------
    units : int
    log_mean, log_std : float
    seed : int or None

    Input shape ``(batch, n)``, output shape ``(batch, units)``.
    """

    def __init__(self, units, log_mean=-3.0, log_std=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.log_mean = float(log_mean)
        self.log_std = float(log_std)
        self.seed = seed

    def build(self, input_shape):
        self.log_kernel = self.add_weight(
            name="log_kernel", shape=(input_shape[-1], self.units),
            initializer=keras.initializers.RandomNormal(mean=self.log_mean, stddev=self.log_std, seed=self.seed))

    def call(self, x):
        return ops.matmul(x, ops.exp(self.log_kernel))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, log_mean=self.log_mean, log_std=self.log_std, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="fin")
class SignSequence(keras.layers.Layer):
    """``-1`` for negative samples, ``+1`` elsewhere, as a ``(batch, n, 1)`` sequence (:func:`fin.ops.sign_sequence`)."""

    def call(self, frames):
        return fops.sign_sequence(frames)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="fin")
class SafeSqrt(keras.layers.Layer):
    """``sqrt(max(x, 0))`` with a finite gradient at 0 (:func:`fin.ops.safe_sqrt`). No weights."""

    def call(self, x):
        return fops.safe_sqrt(ops.relu(x))
