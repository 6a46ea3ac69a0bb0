"""The FIN architectures: one builder per name, each mapping a raw frame to one librosa feature.

Every builder takes the feature's :class:`fin.registry.FeatureSpec` and returns a ``keras.Model`` from
``(batch, 2048)`` raw frames to ``(batch, dim)`` values in librosa units, named ``"<feature>_<arch>"``.
Look builders up by name through :data:`fin.registry.ARCHITECTURES` and call them through
:func:`fin.build_model`, which checks the arguments.

- ``paper``: the seed's topologies exactly (``shared/reference/seed-systems.md``): no normalisation of inputs
  or targets, parameter counts 66,241 (RMS), 263,057 (ZCR), 894,412 (chroma), 822,420 (MFCC), 983,680 (mel).
- ``compact``: a small learned design: a strided Conv1D filter bank on the raw frame, the log energy of each
  filter over time, two Dense layers, and :class:`fin.layers.Destandardize` so the network fits standardised
  targets while the saved model outputs librosa units.
- ``quadratic``: a learned design built to learn (random initialisation, no librosa operator in any weight):
  frames normalised to unit power, a learned basis of 1,024 filters over the whole frame, their energies
  (squares, or magnitudes of filter pairs for chroma), a learned non-negative bank, the frame's power put back;
  ``PowerToDb`` and a Dense projection for MFCC; a learned sign-crossing detector for ZCR and a learned
  weighting of squared samples for RMS. About 2.2 M multiply-adds per frame for mel, MFCC and chroma.
- ``spectral``: the closed-form computation written as trainable layers (window, factorised DFT, power or
  magnitude, filter bank, dB, DCT; RMS and ZCR analogues; the per-frame tuning estimate for chroma). With
  ``init="closed-form"`` it equals librosa before any training; with ``init="random"`` it is the same
  structure learned from scratch. Its output is in librosa units by construction (no Destandardize).
"""

import keras

from data_prep.targets import FRAME_LENGTH
from fin import layers as fl
from fin.errors import FINError


class _Seeds:
    """Hands out a distinct seed per layer from one model seed (``None`` stays unseeded)."""

    def __init__(self, seed):
        self.seed = seed
        self.count = 0

    def next(self):
        self.count += 1
        return None if self.seed is None else int(self.seed) * 1000 + 10 * self.count  # layers use +0..9

    def glorot(self):
        return keras.initializers.GlorotUniform(seed=self.next())


def _frame_input():
    return keras.Input(shape=(FRAME_LENGTH,), dtype="float32", name="frame")


# ---------------------------------------------------------------------------------------------------------
# paper: the seed's topologies
# ---------------------------------------------------------------------------------------------------------

#: conv: (filters, kernel, stride); pool: (size, stride); dense: hidden widths; output activation.
_PAPER = {
    "rms": dict(conv=None, pool=None, dense=(32, 16, 8), output="relu"),
    "zcr": dict(conv=(16, 16, 4), pool=None, dense=(32, 32, 32), output="relu"),
    "chroma": dict(conv=(256, 512, 1), pool=(256, 128), dense=(256, 128, 64), output="relu"),
    "mfcc": dict(conv=(256, 512, 1), pool=(512, 110), dense=(256, 128), output=None),
    "mel": dict(conv=(512, 512, 1), pool=(256, 128), dense=(), output="relu"),
}


def paper(feature, *, seed=None, **unused):
    """The seed's FIN for ``feature``: ReLU Conv1D (``valid``) -> MaxPool1D -> Flatten -> ReLU Dense layers.

    Parameters
    ----------
    feature : FeatureSpec
    seed : int or None
        Seeds the Glorot-uniform kernels.

    Returns
    -------
    model : keras.Model
        ``(batch, 2048) -> (batch, dim)``, no normalisation of inputs or targets.
    """
    topology, seeds = _PAPER[feature.name], _Seeds(seed)
    frames = _frame_input()
    x = frames
    if topology["conv"] is not None:
        filters, kernel, stride = topology["conv"]
        x = keras.layers.Reshape((FRAME_LENGTH, 1))(x)
        x = keras.layers.Conv1D(filters, kernel, strides=stride, padding="valid", activation="relu",
                                kernel_initializer=seeds.glorot())(x)
        if topology["pool"] is not None:
            x = keras.layers.MaxPooling1D(pool_size=topology["pool"][0], strides=topology["pool"][1])(x)
        x = keras.layers.Flatten()(x)
    for units in topology["dense"]:
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=seeds.glorot())(x)
    outputs = keras.layers.Dense(feature.dim, activation=topology["output"], kernel_initializer=seeds.glorot(),
                                 name=feature.name)(x)
    return keras.Model(frames, outputs, name=f"{feature.name}_paper")


# ---------------------------------------------------------------------------------------------------------
# compact: a small learned filter bank
# ---------------------------------------------------------------------------------------------------------

#: filters, kernel and stride of the learned filter bank, then the Dense widths.
_COMPACT = {
    "rms": dict(filters=16, kernel=256, stride=128, dense=(32, 32)),
    "zcr": dict(filters=64, kernel=512, stride=64, dense=(64, 32)),
    "chroma": dict(filters=128, kernel=512, stride=64, dense=(256, 128)),
    "mfcc": dict(filters=128, kernel=512, stride=64, dense=(256, 128)),
    "mel": dict(filters=128, kernel=1024, stride=128, dense=(256, 256)),
}


def compact(feature, *, target_mean=None, target_std=None, seed=None, **unused):
    """A small learned FIN: frame -> strided Conv1D filter bank -> log energy per filter -> Dense -> Destandardize.

    The filter bank (no bias, no activation) sees the frame through ``kernel``-sample windows every ``stride``
    samples; :class:`fin.layers.LogMeanPower` averages each filter's squared output over the windows (a
    phase-tolerant band energy) and takes its log, which tames the raw frame's dynamic range without any input
    normalisation. Two ReLU Dense layers and a linear output fit standardised targets;
    :class:`fin.layers.Destandardize` maps them back to librosa units. Sizes per feature are in ``_COMPACT``:
    on 16.6 k EMO-DB frames and 15 epochs, short hops (64 samples) between 512-sample windows suited chroma,
    MFCC and ZCR, and 1024-sample windows (finer low-frequency resolution) suited mel; batch normalisation of
    the log energies changed R² by +0.02 (chroma, MFCC) to -0.08 (mel) and was left out.

    Parameters
    ----------
    feature : FeatureSpec
    target_mean, target_std : array-like [shape=(dim,)] or None
        Training-set statistics of the target (default 0 and 1).
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, 2048) -> (batch, dim)``; under 300 k weights for every feature.
    """
    config, seeds = _COMPACT[feature.name], _Seeds(seed)
    frames = _frame_input()
    x = keras.layers.Reshape((FRAME_LENGTH, 1))(frames)
    x = keras.layers.Conv1D(config["filters"], config["kernel"], strides=config["stride"], use_bias=False,
                            kernel_initializer=seeds.glorot(), name="filterbank")(x)
    x = fl.LogMeanPower(name="log_energy")(x)
    for units in config["dense"]:
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=seeds.glorot())(x)
    x = keras.layers.Dense(feature.dim, kernel_initializer=seeds.glorot(), name="standardized")(x)
    destandardize = fl.Destandardize(feature.dim, name=feature.name)
    outputs = destandardize(x)
    destandardize.set_statistics(target_mean, target_std)
    return keras.Model(frames, outputs, name=f"{feature.name}_compact")


# ---------------------------------------------------------------------------------------------------------
# quadratic: a learned spectrum, designed to be learned from random initialisation
# ---------------------------------------------------------------------------------------------------------

#: Filters of the learned basis (pairs of filters for chroma's magnitudes): 2048 x 1024 multiply-adds.
QUADRATIC_FILTERS = 1024


def quadratic_body(frames, seeds, filters=QUADRATIC_FILTERS):
    """The shared learned front end: unit-power frames -> learned basis. Returns ``(basis outputs, power)``."""
    unit, power = fl.NormalizePower(name="normalize_power")(frames)
    basis = keras.layers.Dense(filters, use_bias=False, name="basis",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=FRAME_LENGTH**-0.5,
                                                                                  seed=seeds.next()))(unit)
    return basis, power


def quadratic(feature, *, target_mean=None, target_std=None, seed=None, **unused):
    """A learned FIN whose structure makes imitation learnable; every weight starts random.

    Every librosa feature here is a function of the frame's energy distribution. ``mel`` is exactly a
    quadratic form of the frame (``x^T Q_j x`` per band), so the model is a learned quadratic form of rank
    ``QUADRATIC_FILTERS``: the frame at unit power (:class:`fin.layers.NormalizePower`, which makes the model
    exact in level), a learned basis (Dense, Gaussian init), the energy of each basis output
    (:class:`fin.layers.Square`), a learned non-negative bank (:class:`fin.layers.NonNegativeDense`) and the
    frame's power put back (:class:`fin.layers.Rescale`).

    ============  ===========================================================================================
    rms           Square -> NonNegativeDense(1) -> SafeSqrt
    zcr           SignSequence -> Conv1D(1 filter, 2 taps) -> Square -> mean over time -> Dense(1)
    mel           NormalizePower -> Dense(1024) -> Square -> NonNegativeDense(128) -> Rescale
    mfcc          ... mel ... -> PowerToDb (per frame, top 80 dB) -> /80 -> Dense(20) -> Destandardize
    chroma        NormalizePower -> Dense(1024) -> PairMagnitude (512) -> NonNegativeDense(12) -> MaxNormalize
    ============  ===========================================================================================

    Parameters
    ----------
    feature : FeatureSpec
    target_mean, target_std : array-like or None
        Training-set statistics (MFCC's Destandardize only).
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, 2048) -> (batch, dim)`` in librosa units.
    """
    seeds, name = _Seeds(seed), feature.name
    frames = _frame_input()
    if name == "rms":
        energy = fl.Square(name="square")(frames)
        mean_power = fl.NonNegativeDense(1, log_mean=-8.0, log_std=1.0, seed=seeds.next(), name="weights")(energy)
        outputs = fl.SafeSqrt(name=name)(mean_power)
    elif name == "zcr":
        signs = fl.SignSequence(name="signs")(frames)
        pairs = keras.layers.Conv1D(1, 2, use_bias=False, kernel_initializer=seeds.glorot(), name="pairs")(signs)
        change = keras.layers.GlobalAveragePooling1D(name="mean_change")(fl.Square(name="square")(pairs))
        outputs = keras.layers.Dense(1, kernel_initializer=seeds.glorot(), name=name)(change)
    elif name == "chroma":
        basis, _ = quadratic_body(frames, seeds)
        magnitude = fl.PairMagnitude(name="magnitude")(basis)
        raw = fl.NonNegativeDense(12, log_mean=-4.0, seed=seeds.next(), name="chroma_bank")(magnitude)
        outputs = fl.MaxNormalize(name=name)(raw)
    else:  # mel, mfcc
        basis, power = quadratic_body(frames, seeds)
        energy = fl.NonNegativeDense(128, log_mean=-3.0, seed=seeds.next(), name="bank")(fl.Square(name="energy")(basis))
        mel = fl.Rescale(name="mel" if name == "mel" else "mel_power")([energy, power])
        if name == "mel":
            outputs = mel
        else:
            log_mel = keras.layers.Rescaling(1.0 / 80.0, name="log_mel_scaled")(fl.PowerToDb(name="log_mel")(mel))
            x = keras.layers.Dense(feature.dim, kernel_initializer=seeds.glorot(), name="standardized")(log_mel)
            destandardize = fl.Destandardize(feature.dim, name=name)
            outputs = destandardize(x)
            destandardize.set_statistics(target_mean, target_std)
    return keras.Model(frames, outputs, name=f"{name}_quadratic")


# ---------------------------------------------------------------------------------------------------------
# spectral: the closed form as trainable layers
# ---------------------------------------------------------------------------------------------------------


def _spectrum(frames, magnitude, init, seeds):
    x = fl.FrameWindow(FRAME_LENGTH, init=init, seed=seeds.next(), name="window")(frames)
    real, imag = fl.FactorisedDFT(FRAME_LENGTH, init=init, seed=seeds.next(), name="dft")(x)
    return fl.SpectralPower(magnitude=magnitude, name="magnitude" if magnitude else "power")([real, imag])


def spectral(feature, *, init="closed-form", target_set="seed", seed=None, **unused):
    """The closed-form computation of ``feature`` as a chain of trainable layers.

    ============  ===========================================================================================
    rms           WeightedRMS (w = 1/2048)
    zcr           ZeroCrossingRate (exact count, straight-through gradient)
    mel           FrameWindow (Hann) -> FactorisedDFT -> power -> Filterbank (mel); + PowerToDb for ``logmel``
    mfcc          ... -> Filterbank (mel) -> PowerToDb (top_db 80, per frame) -> DCT (II, ortho, 20 of 128)
    chroma        FrameWindow -> FactorisedDFT -> magnitude -> TuningEstimate -> TunedChromaFilterbank
                  -> MaxNormalize; for ``tuning0``: Filterbank (chroma, tuning 0) instead of the tuning path
    ============  ===========================================================================================

    Parameters
    ----------
    feature : FeatureSpec
    init : {"closed-form", "random"}
    target_set : str
        ``"seed"`` (chroma with per-frame tuning), ``"tuning0"`` (chroma with tuning 0) or ``"logmel"`` (mel in
        dB); the target set of ``data_prep.targets`` the closed form reproduces.
    seed : int or None
        Seeds the random initialisation.

    Returns
    -------
    model : keras.Model
        ``(batch, 2048) -> (batch, dim)`` in librosa units.
    """
    seeds = _Seeds(seed)
    frames = _frame_input()
    name = feature.name
    if name == "rms":
        outputs = fl.WeightedRMS(FRAME_LENGTH, init=init, seed=seeds.next(), name=name)(frames)
    elif name == "zcr":
        outputs = fl.ZeroCrossingRate(FRAME_LENGTH, init=init, seed=seeds.next(), name=name)(frames)
    elif name == "chroma":
        magnitude = _spectrum(frames, True, init, seeds)
        if target_set == "tuning0":
            raw = fl.Filterbank("chroma", 12, tuning=0.0, init=init, seed=seeds.next(), name="chroma_filterbank")(magnitude)
        else:
            index = fl.TuningEstimate(name="tuning")(magnitude)
            raw = fl.TunedChromaFilterbank(init=init, seed=seeds.next(), name="chroma_filterbank")([magnitude, index])
        outputs = fl.MaxNormalize(name=name)(raw)
    elif name in ("mel", "mfcc"):
        power = _spectrum(frames, False, init, seeds)
        mel_is_output = name == "mel" and target_set != "logmel"  # the output layer carries the feature's name
        mel = fl.Filterbank("mel", 128, init=init, seed=seeds.next(), name=name if mel_is_output else "mel_filterbank")(power)
        if name == "mfcc":
            outputs = fl.DCT(128, feature.dim, init=init, seed=seeds.next(), name=name)(fl.PowerToDb(name="log_mel")(mel))
        else:
            outputs = mel if mel_is_output else fl.PowerToDb(name=name)(mel)
    else:  # pragma: no cover - the registry only lists the five features
        raise FINError(f"no spectral FIN for feature {name!r}")
    return keras.Model(frames, outputs, name=f"{name}_spectral")


def spectral_centroid(*, init="closed-form", seed=None):
    """The spectral-centroid FIN, ``spectral`` style: window -> factorised DFT -> magnitude -> centroid.

    Not one of the five features of the FIN store (:data:`fin.registry.FEATURE_SPECS`): it is the front end of
    the zoo models that use librosa's ``spectral_centroid`` (``ser.zoo``), computed per 2048-sample frame as
    ``librosa.feature.spectral_centroid(S=|stft(frame, center=False)|, sr=22050)``.

    Parameters
    ----------
    init : {"closed-form", "random"}
        ``closed-form`` equals librosa before any training.
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, 2048) -> (batch, 1)`` in Hz, named ``"centroid_spectral"``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 1000 * np.arange(2048) / 22050).astype(np.float32)[None]
    >>> float(np.round(spectral_centroid()(y)[0, 0], -1))   # a 1 kHz tone
    1000.0
    """
    from data_prep.targets import N_FFT, SR

    seeds = _Seeds(seed)
    frames = _frame_input()
    magnitude = _spectrum(frames, True, init, seeds)
    outputs = fl.SpectralCentroid(SR, N_FFT, init=init, seed=seeds.next(), name="centroid")(magnitude)
    return keras.Model(frames, outputs, name="centroid_spectral")
