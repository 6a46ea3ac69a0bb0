"""Raw-waveform models of the zoo: the seed's CNN-n-GRU and SigWavNet, at 16 kHz.

Both seed systems (``alaaNfissi/CNN-n-GRU-for-speech-emotion-recognition`` and
``alaaNfissi/SigWavNet-Learning-Multiresolution-Signal-Wavelet-Network-for-Speech-Emotion-Recognition``, PyTorch;
``shared/reference/seed-systems.md``) read the raw waveform resampled to 16 kHz. Here:

- :func:`waveform_16k` resamples every row of a :class:`ser.data.ClipCache` (22.05 kHz) to 16 kHz once and caches
  the result beside the clip cache, as :func:`ser.features.librosa_features` does for its features;
- :func:`build_cnn_gru` builds CNN-n-GRU for n in 3, 5, 11, 18;
- :func:`build_sigwavnet` builds SigWavNet (learnable fast wavelet transform, per-level dilated CNN with spatial
  attention and BiGRU with temporal attention, learnable level weighting);
- :data:`TRAINING` holds the seeds' optimiser settings.

Axis convention: models take ``(batch, n_samples)`` and work channels-last, ``(batch, time, channels)``, where
the seeds' PyTorch code is ``(batch, channels, time)``; the one transpose is the ``Reshape`` at the input.
Layers hold weights only; the maths is in the pure ``keras.ops`` functions at the top of this module.
Every initialiser is seeded from the ``seed`` argument (``None``: unseeded).
"""

import keras
import numpy as np
from keras import layers, ops

from ser.errors import SERError

#: Sample rate of the waveform models (the seeds').
SR_16K = 16000
#: The CNN-n-GRU depths the seed defines.
CNN_GRU_DEPTHS = (3, 5, 11, 18)
#: Slope of PyTorch's ``nn.LeakyReLU()`` (Keras' default is 0.3).
LEAKY_SLOPE = 0.01
#: PyTorch's BatchNorm1d / InstanceNorm1d epsilon.
NORM_EPS = 1e-5

#: The seeds' training settings. ``weight_decay`` is PyTorch Adam's (an L2 term added to the gradient, not
#: decoupled as Keras' ``weight_decay``). ``lr_step``: multiply the learning rate by ``factor`` every
#: ``epochs`` epochs (PyTorch ``StepLR``), ``None``: constant.
TRAINING = {
    # CNN-n-GRU, config.py and main.py: Adam lr 1e-3, weight decay 1e-5, batch 32, StepLR(20, 0.1), NLL loss on
    # log-softmax (= cross-entropy on softmax), dropout 0.0. Epochs: the README's 100 (config.py's default is 50).
    "cnn_gru": {
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 32,
        "epochs": 100,
        "lr_step": {"epochs": 20, "factor": 0.1},
        "loss": "categorical_crossentropy",
        "dropout": 0.0,
    },
    # SigWavNet, main.py: Adam with lr 1e-5 and weight decay 1e-5 hard-coded (the tuned "lr" of its config is
    # never used); batch size grid-searched over 2, 4, 8 (8 here); focal loss (gamma 2) weighted by inverse class
    # frequency; inputs standardised with the training set's global mean and std. Optimiser and StepLR(20, 0.1)
    # are re-created for each of 10 cross-validation folds of max_num_epochs=5 on the same model, so the learning
    # rate never steps and the model sees 10 x 5 = 50 epochs: "epochs": 50, "lr_step": None.
    "sigwavnet": {
        "optimizer": "adam",
        "lr": 1e-5,
        "weight_decay": 1e-5,
        "batch_size": 8,
        "epochs": 50,
        "lr_step": None,
        "loss": "focal",
        "focal_gamma": 2.0,
        "class_weight": "inverse_frequency",
        "standardize": "global",
    },
}

# ------------------------------------------------------------------------------------------ the 16 kHz waveforms


def waveform_16k(cache, progress=False, block=256):
    """Every row of a clip cache resampled to 16 kHz, computed once and cached beside the clip cache.

    Resampled with ``librosa.resample(res_type="soxr_hq")`` (whole padded clips), then cut or zero-padded to
    ``round(duration * 16000)`` samples.

    Parameters
    ----------
    cache : ser.data.ClipCache
        Clips at ``cache.settings.sr`` (22,050 Hz), augmented copies included.
    progress : bool
        Show a progress bar.
    block : int
        Rows read and resampled at once.

    Returns
    -------
    waves : np.ndarray [shape=(len(cache), round(duration * 16000)), dtype=float32]
        Row ``i`` is clip row ``i`` (40,000 samples for 2.5 s).
    """
    import librosa
    from tqdm import tqdm

    from ser.data import derived_cache_path, fit_clip, read_array_cache, write_array_cache

    n_samples = int(round(cache.settings.duration * SR_16K))
    path = derived_cache_path(cache, "wave16k")
    waves = read_array_cache(path) if path.is_file() else None
    if waves is not None and waves.shape == (len(cache), n_samples) and waves.dtype == np.float32:
        return waves
    waves = np.empty((len(cache), n_samples), dtype=np.float32)
    bar = tqdm(total=len(cache), unit="clip", desc="resampling to 16 kHz", disable=not progress)
    for start in range(0, len(cache), block):
        rows = np.arange(start, min(start + block, len(cache)))
        resampled = librosa.resample(cache.clips(rows), orig_sr=cache.settings.sr, target_sr=SR_16K,
                                     res_type="soxr_hq", axis=-1)
        for i, row in enumerate(rows):
            waves[row] = fit_clip(resampled[i], n_samples)[0]
        bar.update(len(rows))
    bar.close()
    write_array_cache(path, waves, {"sr": SR_16K, "n_samples": n_samples, "res_type": "soxr_hq"})
    return waves


# ------------------------------------------------------------------------------------------ pure functions


def qmf_highpass(lowpass):
    """The high-pass filter of a low-pass one by the quadrature-mirror relation: reversed, odd taps negated.

    ``g[k] = (-1)**k * h[K - 1 - k]``, as the seed's ``HighPassWave``.

    Parameters
    ----------
    lowpass : tensor [shape=(k,)]

    Returns
    -------
    highpass : tensor [shape=(k,)]

    Examples
    --------
    >>> np.asarray(qmf_highpass(np.array([1.0, 2.0, 3.0], "float32"))).tolist()
    [3.0, -2.0, 1.0]
    """
    k = lowpass.shape[0]
    signs = np.array([(-1.0) ** i for i in range(k)], dtype="float32")
    return ops.flip(lowpass, axis=0) * signs


def filter_decimate(x, taps):
    """Correlate each signal with ``taps`` and keep every second output (``valid``), one level of the FDWT.

    ``(batch, n, 1), (k,) -> (batch, (n - k) // 2 + 1, 1)``, the seed's ``F.conv1d(x, taps, stride=2)``.
    """
    return ops.conv(x, ops.reshape(taps, (-1, 1, 1)), strides=2, padding="valid")


def asymmetric_hard_threshold(x, thr_pos, thr_neg, alpha):
    """Learnable asymmetric hard thresholding (LAHT): ``x * (sigmoid(a (x - t+)) + sigmoid(-a (x + t-)))``.

    Smoothly zeroes coefficients in ``(-t-, t+)`` and keeps the others; ``alpha`` sets the sharpness.
    Elementwise, any shape.
    """
    return x * (ops.sigmoid(alpha * (x - thr_pos)) + ops.sigmoid(-alpha * (x + thr_neg)))


def strided_dilated_conv1d(x, kernel, bias, stride, dilation):
    """A ``valid`` 1D convolution with both a stride and a dilation (which ``keras.layers.Conv1D`` refuses).

    Output ``t`` reads ``x[stride * t + dilation * j]`` for ``j < k``, as PyTorch's ``Conv1d``; the taps are
    gathered by strided slicing and contracted in one matmul, so only the outputs kept are computed.

    Parameters
    ----------
    x : tensor [shape=(batch, n, c_in)]
    kernel : tensor [shape=(k, c_in, c_out)]
    bias : tensor [shape=(c_out,)] or None
    stride, dilation : int

    Returns
    -------
    y : tensor [shape=(batch, (n - dilation * (k - 1) - 1) // stride + 1, c_out)]
    """
    k, c_in, c_out = kernel.shape
    n = x.shape[1]
    n_out = (n - dilation * (k - 1) - 1) // stride + 1
    taps = [x[:, j * dilation : j * dilation + stride * (n_out - 1) + 1 : stride, :] for j in range(k)]
    y = ops.matmul(ops.concatenate(taps, axis=-1), ops.reshape(kernel, (k * c_in, c_out)))
    return y if bias is None else y + bias


def spatial_attention(local, glob, projection):
    """The seed's ``LinearAttentionBlock`` (normalised): attention weights over time from ``local + glob``.

    Parameters
    ----------
    local, glob : tensor [shape=(batch, time, channels)]
    projection : tensor [shape=(channels,)]
        The 1x1 convolution to one score per step (no bias).

    Returns
    -------
    attended : tensor [shape=(batch, channels)]
        ``sum_t softmax_t(score) * local[t]``.
    """
    scores = ops.einsum("btc,c->bt", local + glob, projection)
    weights = ops.softmax(scores, axis=1)
    return ops.einsum("bt,btc->bc", weights, local)


def temporal_attention(states, w_score, w_out):
    """The seed's ``TemporalAttn``: Luong attention of the last state over all states.

    Parameters
    ----------
    states : tensor [shape=(batch, time, hidden)]
    w_score : tensor [shape=(hidden, hidden)]
    w_out : tensor [shape=(2 * hidden, hidden)]

    Returns
    -------
    vector : tensor [shape=(batch, hidden)]
        ``tanh([context, h_last] @ w_out)`` with ``context = sum_t softmax_t(states[t] w_score . h_last) states[t]``.
    """
    last = states[:, -1, :]
    scores = ops.einsum("bth,bh->bt", ops.matmul(states, w_score), last)
    context = ops.einsum("bt,bth->bh", ops.softmax(scores, axis=1), states)
    return ops.tanh(ops.matmul(ops.concatenate([context, last], axis=-1), w_out))


def wavelet_lowpass(name):
    """The decomposition low-pass filter of a PyWavelets wavelet (``pywt.Wavelet(name).filter_bank[0]``).

    Examples
    --------
    >>> len(wavelet_lowpass("db10"))
    20
    """
    import pywt

    try:
        return np.asarray(pywt.Wavelet(name).filter_bank[0], dtype="float32")
    except ValueError as err:
        raise SERError(f"unknown wavelet {name!r}; expected a PyWavelets name such as 'db10'") from err


# ------------------------------------------------------------------------------------------ layers

_KERNEL_MODES = ("CQF", "PerLayer", "PerFilter")


@keras.saving.register_keras_serializable(package="ser")
class LearnableWaveletTransform(keras.layers.Layer):
    """Learnable fast discrete wavelet transform: ``levels`` stride-2 low/high-pass levels of the cascade.

    ``(batch, n, 1) -> [approximation, detail_1, ..., detail_levels]``, each ``(batch, n_l, 1)`` with
    ``n_l = (n_{l-1} - k) // 2 + 1``. The low-pass kernels start as the wavelet's decomposition low-pass filter;
    the high-pass kernels are :func:`qmf_highpass` of a low-pass kernel.

    Parameters
    ----------
    levels : int
    wavelet : str
        PyWavelets name of the initial filter bank (the seed's ``db10``, 20 taps).
    kernel_mode : {"CQF", "PerLayer", "PerFilter"}
        The seed's ``kernelsConstraint``: one low-pass kernel shared by all levels; one per level; or one low-pass
        and one (separately learnt, QMF-transformed) high-pass kernel per level.
    train_kernels : bool
        Whether the kernels learn.
    """

    def __init__(self, levels, wavelet="db10", kernel_mode="PerLayer", train_kernels=True, **kwargs):
        super().__init__(**kwargs)
        if kernel_mode not in _KERNEL_MODES:
            raise SERError(f"unknown kernel_mode {kernel_mode!r}; expected one of {', '.join(_KERNEL_MODES)}")
        self.levels = int(levels)
        self.wavelet = wavelet
        self.kernel_mode = kernel_mode
        self.train_kernels = bool(train_kernels)

    def build(self, input_shape):
        init = wavelet_lowpass(self.wavelet)
        n = 1 if self.kernel_mode == "CQF" else self.levels
        start = keras.initializers.Constant(np.tile(init, (n, 1)))
        self.lowpass = self.add_weight(name="lowpass", shape=(n, len(init)), initializer=start,
                                       trainable=self.train_kernels)
        self.highpass = None
        if self.kernel_mode == "PerFilter":
            self.highpass = self.add_weight(name="highpass", shape=(n, len(init)), initializer=start,
                                            trainable=self.train_kernels)

    def call(self, x):
        details = []
        for level in range(self.levels):
            lo = self.lowpass[0 if self.kernel_mode == "CQF" else level]
            hi = lo if self.highpass is None else self.highpass[level]
            details.append(filter_decimate(x, qmf_highpass(hi)))
            x = filter_decimate(x, lo)
        return [x, *details]

    def compute_output_shape(self, input_shape):
        k = len(wavelet_lowpass(self.wavelet))
        n, shapes = input_shape[1], []
        for _ in range(self.levels):
            n = None if n is None else (n - k) // 2 + 1
            shapes.append((input_shape[0], n, 1))
        return [shapes[-1], *shapes]

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "wavelet": self.wavelet,
                "kernel_mode": self.kernel_mode, "train_kernels": self.train_kernels}


@keras.saving.register_keras_serializable(package="ser")
class AsymmetricHardThreshold(keras.layers.Layer):
    """:func:`asymmetric_hard_threshold` with learnable thresholds and sharpness (three scalars).

    Parameters
    ----------
    threshold : float
        Initial value of both thresholds (the seed's ``initHT``).
    alpha : float
        Initial sharpness (the seed's ``alpha``).
    train_threshold : bool
        Whether the thresholds and the sharpness learn (the seed's ``trainHT``).
    """

    def __init__(self, threshold=1.0, alpha=10.0, train_threshold=True, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)
        self.alpha = float(alpha)
        self.train_threshold = bool(train_threshold)

    def build(self, input_shape):
        def scalar(name, value):
            return self.add_weight(name=name, shape=(), initializer=keras.initializers.Constant(value),
                                   trainable=self.train_threshold)

        self.thr_pos = scalar("thr_pos", self.threshold)
        self.thr_neg = scalar("thr_neg", self.threshold)
        self.sharpness = scalar("alpha", self.alpha)

    def call(self, x):
        return asymmetric_hard_threshold(x, self.thr_pos, self.thr_neg, self.sharpness)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "alpha": self.alpha,
                "train_threshold": self.train_threshold}


@keras.saving.register_keras_serializable(package="ser")
class StridedDilatedConv1D(keras.layers.Layer):
    """:func:`strided_dilated_conv1d` as a layer: ``(batch, n, c_in) -> (batch, n_out, filters)``, ``valid``.

    Parameters
    ----------
    filters, kernel_size, strides, dilation_rate : int
    seed : int or None
        Seeds the Glorot-uniform kernel initialiser (bias: zeros).
    """

    def __init__(self, filters, kernel_size, strides=1, dilation_rate=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.dilation_rate = int(dilation_rate)
        self.seed = seed

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, input_shape[-1], self.filters),
                                      initializer=keras.initializers.GlorotUniform(seed=self.seed))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        return strided_dilated_conv1d(x, self.kernel, self.bias, self.strides, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        span = self.dilation_rate * (self.kernel_size - 1) + 1
        return (input_shape[0], None if n is None else (n - span) // self.strides + 1, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "dilation_rate": self.dilation_rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="ser")
class SpatialAttention(keras.layers.Layer):
    """:func:`spatial_attention`: ``[(batch, time, c), (batch, time, c)] -> (batch, c)``.

    Parameters
    ----------
    seed : int or None
        Seeds the Glorot-uniform projection.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.projection = self.add_weight(name="projection", shape=(channels,),
                                          initializer=keras.initializers.RandomUniform(
                                              -1 / np.sqrt(channels), 1 / np.sqrt(channels), seed=self.seed))

    def call(self, inputs):
        local, glob = inputs
        return spatial_attention(local, glob, self.projection)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="ser")
class TemporalAttention(keras.layers.Layer):
    """:func:`temporal_attention`: ``(batch, time, hidden) -> (batch, hidden)``.

    Parameters
    ----------
    seed : int or None
        Seeds the two Glorot-uniform matrices.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        hidden = input_shape[-1]
        other = None if self.seed is None else self.seed + 1
        self.w_score = self.add_weight(name="w_score", shape=(hidden, hidden),
                                       initializer=keras.initializers.GlorotUniform(seed=self.seed))
        self.w_out = self.add_weight(name="w_out", shape=(2 * hidden, hidden),
                                     initializer=keras.initializers.GlorotUniform(seed=other))

    def call(self, states):
        return temporal_attention(states, self.w_score, self.w_out)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="ser")
class ChannelWeighting(keras.layers.Layer):
    """One learnable weight per channel (initialised to 1): ``(..., channels) -> (..., channels)``."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


# ------------------------------------------------------------------------------------------ builders


class _Seeds:
    """Distinct initialiser seeds drawn in order from a base seed (all ``None`` for ``seed=None``)."""

    def __init__(self, seed):
        self.seed = seed
        self.count = 0

    def __call__(self):
        if self.seed is None:
            return None
        self.count += 1
        return int(self.seed) * 1000 + self.count


def _leaky(name=None):
    return layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)


#: CNN-n-GRU stacks, from the seed's models/cnn_n_gru.py: a number is a 3-tap convolution block (Conv, BatchNorm,
#: LeakyReLU) with that many times n channels (the first block's convolution is the 160-tap, stride-4 one),
#: "P" a MaxPool1D(4). n is the depth: 3, 5, 11 or 18 channels.
_CNN_GRU_STACKS = {
    3: (2, "P", 2, "P"),
    5: (1, "P", 1, "P", 2, "P", 4, "P"),
    11: (1, "P", 1, 1, "P", 2, 2, "P", 4, 4, 4, "P", 8, 8),
    18: (1, "P", 1, 1, 1, 1, "P", 2, 2, 2, 2, "P", 4, 4, 4, 4, "P", 8, 8, 8, 8),
}


def _check_samples(n_samples, minimum, what):
    if not (isinstance(n_samples, (int, np.integer)) and n_samples >= minimum):
        raise SERError(f"n_samples {n_samples!r} is too short for {what}; expected an int >= {minimum}")


def build_cnn_gru(depth, n_classes, n_samples, seed=None, dropout=0.0, hidden=64):
    """The seed's CNN-n-GRU on a raw 16 kHz waveform.

    Layers, as the seed's ``CNN{n}GRU`` classes (n = ``depth``; channels ``c`` below are multiples of n)::

        Conv1D(c, 160, stride 4, valid) -> BatchNorm -> LeakyReLU -> MaxPool1D(4)      (160 taps = 10 ms)
        [Conv1D(c, 3, same) -> BatchNorm -> LeakyReLU] blocks, MaxPool1D(4) between stages:
            n=3:  2n | 2n, pool                   n=5:  n | n | 2n | 4n, pool after each
            n=11: n | n n | 2n 2n | 4n 4n 4n | 8n 8n           (no pool after the last stage)
            n=18: n | n n n n | 2n x4 | 4n x4 | 8n x4
        global average pooling over time -> LeakyReLU -> Dense(c_last / 2)
        -> GRU(64), one layer, over that single step -> LeakyReLU -> Dropout -> Dense(n_classes, softmax)

    Choices where the seed's code is loose: in its CNN-11-GRU the third convolution is normalised by the first
    block's BatchNorm (a copy-paste slip; its own ``bn3`` exists but is unused); here every block has its own
    BatchNorm, which leaves the parameter count unchanged. Initialisers are Keras' (Glorot-uniform kernels,
    orthogonal recurrent kernel), seeded, not PyTorch's. BatchNorm uses PyTorch's epsilon 1e-5 and momentum 0.1
    (Keras ``momentum=0.9``), LeakyReLU PyTorch's slope 0.01. The GRU is Keras' ``reset_after`` variant, PyTorch's.
    The output is a softmax (the seed's log-softmax with NLL loss is the same cross-entropy). As in the seed, the
    GRU sees one step from a zero state, so its recurrent kernel gets no gradient and never learns.

    Parameters
    ----------
    depth : {3, 5, 11, 18}
    n_classes : int
    n_samples : int
        Samples per input waveform (40,000 for 2.5 s at 16 kHz).
    seed : int or None
        Seeds every initialiser and the dropout.
    dropout : float
        Before the last Dense (the seed's default 0.0).
    hidden : int
        GRU units (the seed's 64).

    Returns
    -------
    model : keras.Model
        ``(batch, n_samples) -> (batch, n_classes)`` softmax. With 7 classes CNN-18-GRU has 333,221 trainable
        weights, the count of the seed's PyTorch model ("about 333k"), plus BatchNorm's moving statistics.

    Raises
    ------
    SERError
        For a depth not in (3, 5, 11, 18), or a waveform too short for the pooling.

    Examples
    --------
    >>> build_cnn_gru(3, 7, 40000, seed=0).output_shape
    (None, 7)
    """
    if depth not in _CNN_GRU_STACKS:
        raise SERError(f"CNN-n-GRU depth {depth!r} is not defined; expected one of "
                       f"{', '.join(map(str, CNN_GRU_DEPTHS))}")
    stack = _CNN_GRU_STACKS[depth]
    _check_samples(n_samples, 160 + 4 * (4 ** stack.count("P") - 1), f"CNN-{depth}-GRU")
    seeds = _Seeds(seed)
    inputs = keras.Input((n_samples,), name="waveform")
    x = layers.Reshape((n_samples, 1), name="channels_last")(inputs)
    block = 0
    for item in stack:
        if item == "P":
            x = layers.MaxPooling1D(4, name=f"pool{block}")(x)
            continue
        block += 1
        first = block == 1
        x = layers.Conv1D(item * depth, 160 if first else 3, strides=4 if first else 1,
                          padding="valid" if first else "same", name=f"conv{block}",
                          kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()))(x)
        x = layers.BatchNormalization(momentum=0.9, epsilon=NORM_EPS, name=f"bn{block}")(x)
        x = _leaky(f"act{block}")(x)
    channels = [item for item in stack if item != "P"][-1] * depth
    x = layers.GlobalAveragePooling1D(keepdims=True, name="time_mean")(x)  # (batch, 1, channels)
    x = _leaky("act_pool")(x)
    x = layers.Dense(channels // 2, name="fc1", kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()))(x)
    x = layers.GRU(hidden, name="gru", kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()),
                   recurrent_initializer=keras.initializers.Orthogonal(seed=seeds()))(x)
    x = _leaky("act_gru")(x)
    x = layers.Dropout(dropout, seed=seeds(), name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()))(x)
    return keras.Model(inputs, outputs, name=f"cnn_{depth}_gru")


def _instance_norm(name):
    """PyTorch's ``InstanceNorm1d`` (no affine, no running statistics): each channel over time."""
    return layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=NORM_EPS, name=name)


def _branch(x, prefix, channels, hidden, gru_layers, seeds):
    """The seed's ``CNN1DSABiGRUTA``: ``(batch, n, 1) -> (batch, 2 * hidden)``."""
    x = StridedDilatedConv1D(channels, 7, strides=4, dilation_rate=3, seed=seeds(), name=f"{prefix}_conv1")(x)
    x = _leaky(f"{prefix}_act1")(_instance_norm(f"{prefix}_in1")(x))
    x = StridedDilatedConv1D(2 * channels, 5, strides=4, dilation_rate=2, seed=seeds(), name=f"{prefix}_conv2")(x)
    x = _leaky(f"{prefix}_act2")(_instance_norm(f"{prefix}_in2")(x))
    g = layers.Conv1D(2 * channels, 7, padding="same", name=f"{prefix}_global",
                      kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()))(x)
    g = _leaky(f"{prefix}_act3")(_instance_norm(f"{prefix}_in3")(g))
    attended = SpatialAttention(seed=seeds(), name=f"{prefix}_spatial_attention")([x, g])
    attended = layers.Reshape((1, 2 * channels), name=f"{prefix}_attended")(attended)
    x = _leaky(f"{prefix}_act4")(layers.Add(name=f"{prefix}_residual")([x, attended]))
    for i in range(gru_layers):
        forward, backward = ({"kernel_initializer": keras.initializers.GlorotUniform(seed=seeds()),
                              "recurrent_initializer": keras.initializers.Orthogonal(seed=seeds())}
                             for _ in range(2))
        x = layers.Bidirectional(layers.GRU(hidden, return_sequences=True, name=f"{prefix}_gru{i + 1}_forward",
                                            **forward),
                                 backward_layer=layers.GRU(hidden, return_sequences=True, go_backwards=True,
                                                           name=f"{prefix}_gru{i + 1}_backward", **backward),
                                 name=f"{prefix}_bigru{i + 1}")(x)
    return TemporalAttention(seed=seeds(), name=f"{prefix}_temporal_attention")(x)


def build_sigwavnet(n_classes, n_samples, seed=None, *, levels=5, channels=128, hidden=64, gru_layers=3,
                    wavelet="db10", kernel_mode="PerLayer", train_kernels=True, threshold=1.0, alpha=10.0,
                    train_threshold=True):
    """SigWavNet: a learnable wavelet filter bank feeding one attention CNN + BiGRU branch per level.

    As the seed's ``SigWavNet`` (model.py, custom_layers.py)::

        waveform -> LearnableWaveletTransform: ``levels`` times
                      detail_l = AsymmetricHardThreshold(conv(x, qmf(h_l), stride 2));  x = conv(x, g_l, stride 2)
        for the approximation and each detail (``levels + 1`` branches, each its own weights):
            Conv1D(C, 7, stride 4, dilation 3) -> InstanceNorm -> LeakyReLU
            Conv1D(2C, 5, stride 4, dilation 2) -> InstanceNorm -> LeakyReLU              = l
            Conv1D(2C, 7, same) -> InstanceNorm -> LeakyReLU                              = g
            LeakyReLU(l + SpatialAttention(l, g))         (attention-pooled l added at every step)
            ``gru_layers`` x BiGRU(``hidden``) -> TemporalAttention -> (2 * hidden,)
        stack the branches as channels [approximation, detail_1, ...] -> ChannelWeighting (one weight each)
        -> Conv1D(n_classes, 5, valid) over the 2 * hidden axis -> InstanceNorm -> LeakyReLU
        -> mean over that axis -> softmax

    The seed leaves the sizes to a grid search and publishes no winner; the defaults here take the seed's fixed
    values (C = 128 channels, 20-tap ``db10`` initial filters, 1.0 thresholds, sharpness 10) and the middle or
    first of its grids (levels 5 of 4/5/6, hidden 64 of 32/64/128, 3 GRU layers of 3/6, ``PerLayer`` kernels of
    CQF/PerLayer/PerFilter, trainable kernels and thresholds). Deviations: the seed's two thresholds share one
    tensor (a PyTorch aliasing slip), here they are two weights; its kernel-mode default ``'QMF'`` matches no
    branch of its code. Initialisers are Keras' (seeded).

    The full size (5,677,394 weights for 7 classes) does not train in useful time on a 2-core CPU: measured with
    TensorFlow 2.21 on one core (others' jobs running), a batch of 16 waveforms of 40,000 samples takes 13.9 s per
    training step (2.97 s to predict, real-time factor 0.074); an EMO-DB epoch (80 % of 535 files with the two
    augmented copies, 1,284 rows, 81 steps) then takes about 19 min, and the seed's 50 epochs about 16 h. Most of
    it is the BiGRUs' 1,247 + 622 + ... sequential steps. The architecture is kept at full size by default;
    ``levels``, ``channels``, ``hidden`` and ``gru_layers`` build smaller ones (``channels=32, hidden=32,
    gru_layers=1``: 423,122 weights, 1.4 s per step, about 2 min per EMO-DB epoch on one core).

    Parameters
    ----------
    n_classes : int
    n_samples : int
        Samples per input waveform (40,000 for 2.5 s at 16 kHz).
    seed : int or None
        Seeds every initialiser.
    levels : int
        Wavelet decomposition levels.
    channels : int
        C, the first convolution's channels (the second and the attention have 2C).
    hidden : int
        GRU units per direction.
    gru_layers : int
        Stacked BiGRU layers per branch.
    wavelet : str
        PyWavelets name of the initial filter bank.
    kernel_mode : {"CQF", "PerLayer", "PerFilter"}
        See :class:`LearnableWaveletTransform`.
    train_kernels, train_threshold : bool
    threshold, alpha : float
        Initial thresholds and sharpness of :class:`AsymmetricHardThreshold`.

    Returns
    -------
    model : keras.Model
        ``(batch, n_samples) -> (batch, n_classes)`` softmax.

    Raises
    ------
    SERError
        For a waveform too short for ``levels`` levels and the branch convolutions, or a bad option.

    Examples
    --------
    >>> build_sigwavnet(7, 16000, seed=0, levels=2, channels=4, hidden=4, gru_layers=1).output_shape
    (None, 7)
    """
    for name, value in (("levels", levels), ("channels", channels), ("hidden", hidden), ("gru_layers", gru_layers)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise SERError(f"SigWavNet {name} {value!r} is not valid; expected an int >= 1")
    if 2 * hidden < 5:
        raise SERError(f"SigWavNet hidden {hidden!r} is too small; expected >= 3 (the 5-tap output convolution)")
    k = len(wavelet_lowpass(wavelet))
    # the shortest level must survive both strided convolutions (spans 19 and 9, stride 4 each): 49 samples
    n = n_samples if isinstance(n_samples, (int, np.integer)) else 0
    for _ in range(levels):
        n = (n - k) // 2 + 1
    if n < 49:
        raise SERError(f"n_samples {n_samples!r} is too short for SigWavNet with {levels} levels of {k}-tap "
                       f"filters; the last level must keep at least 49 samples")
    seeds = _Seeds(seed)
    inputs = keras.Input((n_samples,), name="waveform")
    x = layers.Reshape((n_samples, 1), name="channels_last")(inputs)
    bands = LearnableWaveletTransform(levels, wavelet=wavelet, kernel_mode=kernel_mode,
                                      train_kernels=train_kernels, name="wavelet")(x)
    approximation, details = bands[0], bands[1:]
    details = [AsymmetricHardThreshold(threshold, alpha, train_threshold, name=f"threshold{i + 1}")(d)
               for i, d in enumerate(details)]
    # the seed builds the detail branches first (level order) and the approximation's last
    outs = [_branch(d, f"detail{i + 1}", channels, hidden, gru_layers, seeds) for i, d in enumerate(details)]
    outs.insert(0, _branch(approximation, "approximation", channels, hidden, gru_layers, seeds))
    columns = [layers.Reshape((2 * hidden, 1), name=f"column{i}")(o) for i, o in enumerate(outs)]
    x = layers.Concatenate(axis=-1, name="levels")(columns)
    x = ChannelWeighting(name="level_weighting")(x)  # (batch, 2 * hidden, levels + 1)
    x = layers.Conv1D(n_classes, 5, name="classifier",
                      kernel_initializer=keras.initializers.GlorotUniform(seed=seeds()))(x)
    x = _leaky("act_out")(_instance_norm("in_out")(x))
    x = layers.GlobalAveragePooling1D(name="mean")(x)
    outputs = layers.Softmax(name="emotion")(x)
    return keras.Model(inputs, outputs, name="sigwavnet")
