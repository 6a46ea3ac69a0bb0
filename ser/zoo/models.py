"""The zoo's Keras models: the seed networks, rebuilt from their published descriptions, and the FIN front ends.

- :func:`build_ps_ac1d_fif`: PS_AC1D_FIF's alternating Conv1D network without pooling (563,908 parameters at 417
  inputs and 8 classes, 529,207 at 427 and 7, as published).
- :func:`build_crema_cnn1d`: the CREMA-D notebook's 1D CNN (``build_1d_model``) on the flattened frame-wise
  ZCR, RMS, 13 MFCC and spectral centroid.
- :func:`build_crema_cnn2d`: its 2D CNN (``build_2D_model1``) on the log-mel image (3,105,990 parameters at the
  notebook's 128 x 80 input and 6 classes).
- :func:`build_frontend`: the closed-form FINs (:mod:`fin.presets`, and the spectral-centroid FIN of
  :func:`fin.architectures.spectral_centroid`) that compute those models' librosa inputs from raw frames inside the
  model, so they are fine-tuned with the classifier (``--frontend fin``).

Each classifier takes Keras' ``(batch, n_frames, features)`` and transposes to the notebook's feature-major order
itself, in one place.
"""

import keras

from ser.zoo.features import CREMA_FRAME_DIM, CREMA_FRAME_FEATURES
from ser.zoo.layers import ClipPowerToDb, Columns


class _Seeds:
    def __init__(self, seed):
        self.seed, self.count = seed, 0

    def glorot(self):
        self.count += 1
        return keras.initializers.GlorotUniform(seed=None if self.seed is None else int(self.seed) * 1000 + self.count)


def build_ps_ac1d_fif(n_inputs, n_classes, seed=None):
    """PS_AC1D_FIF: ``Conv1D(60) BN Conv1D(80) Dropout(.1) BN Conv1D(100) BN Conv1D(100) Dropout(.5) BN Dense``.

    Every Conv1D has kernel 10, ``padding="same"`` and ReLU; no pooling.

    Parameters
    ----------
    n_inputs : int
        Length of the utterance vector (417 for the seed's RAVDESS features).
    n_classes : int
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, n_inputs) -> (batch, n_classes)`` softmax, named ``"ps_ac1d_fif"``.

    Examples
    --------
    >>> build_ps_ac1d_fif(417, 8).count_params(), build_ps_ac1d_fif(427, 7).count_params()
    (563908, 529207)
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = keras.layers.Reshape((n_inputs, 1))(inputs)
    for filters, dropout in ((60, None), (80, 0.1), (100, None), (100, 0.5)):
        x = keras.layers.Conv1D(filters, 10, padding="same", activation="relu", kernel_initializer=seeds.glorot())(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seeds.count)(x)
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=seeds.glorot(), name="emotion")(x)
    return keras.Model(inputs, outputs, name="ps_ac1d_fif")


def build_crema_cnn1d(n_frames, n_classes, seed=None):
    """The CREMA-D notebook's 1D CNN on the flattened frame-wise features.

    ``(n_frames, 16)`` is transposed and flattened to the notebook's ``16 * n_frames`` vector (every ZCR, every
    RMS, the MFCC matrix row by row, every centroid), then: Conv1D 128, 64 (k 5) BN MaxPool(5, 2) | Conv1D 128, 128
    (k 5) BN MaxPool | Conv1D 256, 256 (k 5) BN MaxPool | Conv1D 256 (k 3) BN MaxPool | Conv1D 512 (k 3) BN
    MaxPool(3, 2) | Flatten Dense 64 BN Dense softmax; ``padding="same"`` and ReLU throughout.

    Parameters
    ----------
    n_frames : int
    n_classes : int
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, 16) -> (batch, n_classes)``, named ``"crema_cnn1d"``.
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=(n_frames, CREMA_FRAME_DIM), name="frame_features")
    x = keras.layers.Permute((2, 1), name="feature_major")(inputs)
    x = keras.layers.Reshape((CREMA_FRAME_DIM * n_frames, 1), name="flatten_features")(x)
    blocks = (((128, 5), (64, 5)), ((128, 5), (128, 5)), ((256, 5), (256, 5)), ((256, 3),), ((512, 3),))
    for i, block in enumerate(blocks):
        for filters, kernel in block:
            x = keras.layers.Conv1D(filters, kernel, padding="same", activation="relu",
                                    kernel_initializer=seeds.glorot())(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.MaxPooling1D(pool_size=3 if i == len(blocks) - 1 else 5, strides=2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu", kernel_initializer=seeds.glorot())(x)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=seeds.glorot(), name="emotion")(x)
    return keras.Model(inputs, outputs, name="crema_cnn1d")


def build_crema_cnn2d(n_frames, n_classes, seed=None, n_mels=128):
    """The CREMA-D notebook's 2D CNN on the log-mel image of a clip.

    Mel power ``(n_frames, 128)`` -> dB relative to the clip's maximum (:class:`ser.zoo.layers.ClipPowerToDb`,
    ``power_to_db(ref=np.max)``) -> the ``(128, n_frames, 1)`` image -> Conv2D 32 (7x7) MaxPool 2 BN | Conv2D 64
    (3x3) MaxPool 2 Dropout .3 | Conv2D 64 (3x3) MaxPool 2 | Flatten Dense 512, 128, softmax (ReLU, ``valid``).

    Parameters
    ----------
    n_frames : int
        Frames per clip (the notebook's 16 kHz clips of 40,775 samples at hop 512: 80).
    n_classes : int
    seed : int or None

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, 128) -> (batch, n_classes)``, named ``"crema_cnn2d"``.

    Examples
    --------
    >>> build_crema_cnn2d(80, 6).count_params()
    3105990
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=(n_frames, n_mels), name="mel_power")
    x = ClipPowerToDb(name="log_mel")(inputs)
    x = keras.layers.Permute((2, 1), name="mels_first")(x)
    x = keras.layers.Reshape((n_mels, n_frames, 1), name="image")(x)
    x = keras.layers.Conv2D(32, 7, activation="relu", kernel_initializer=seeds.glorot())(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=seeds.glorot())(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(0.3, seed=seeds.count)(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=seeds.glorot())(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    for units in (512, 128):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=seeds.glorot())(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=seeds.glorot(), name="emotion")(x)
    return keras.Model(inputs, outputs, name="crema_cnn2d")


#: Front-end name -> the FINs it runs per frame, in the order of its output columns.
FRONTENDS = {"crema_frames": ("zcr", "rms", "mfcc", "centroid"), "mel_power": ("mel",)}


def load_frontend_fins(features, init="closed-form", seed=None):
    """The FINs of a front end: the shipped closed-form presets, and the closed-form spectral-centroid FIN."""
    import fin
    from fin.architectures import spectral_centroid
    from fin.presets import load_preset

    fins = {}
    for name in features:
        if name == "centroid":
            fins[name] = spectral_centroid(init=init, seed=seed)
        elif init == "closed-form":
            fins[name] = load_preset(name, "closed-form")
        else:
            fins[name] = fin.build_model(name, "spectral", init=init, seed=seed)
    return fins


def build_frontend(kind, n_frames, init="closed-form", seed=None):
    """FINs on every frame of a clip, computing a zoo model's librosa input inside the model.

    Parameters
    ----------
    kind : {"crema_frames", "mel_power"}
        ``crema_frames``: ZCR, RMS, the first 13 MFCC and the spectral centroid (:func:`ser.zoo.features.
        crema_frame_features`); ``mel_power``: the 128 mel powers (:func:`ser.zoo.features.mel_power`).
    n_frames : int
    init : {"closed-form", "random"}
        ``closed-form``: the shipped presets, equal to librosa before training.

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, 2048) -> (batch, n_frames, 16 | 128)``, named ``"frontend"``; its FINs are trainable.
    """
    from data_prep.targets import FRAME_LENGTH
    from ser import layers as sl

    features = FRONTENDS[kind]
    fins = load_frontend_fins(features, init, seed)
    frames = keras.Input(shape=(n_frames, FRAME_LENGTH), name="frames")
    flat = sl.MergeFrames(name="merge_frames")(frames)
    outputs = []
    for name in features:
        out = fins[name](flat)
        if name == "mfcc":
            out = Columns(0, CREMA_FRAME_FEATURES["mfcc"], name="mfcc_13")(out)
        outputs.append(out)
    per_frame = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(axis=-1, name="concat")(outputs)
    return keras.Model(frames, sl.SplitFrames(name="split_frames")([per_frame, frames]), name="frontend")


def with_frontend(frontend, classifier):
    """``classifier(frontend(frames))`` as one model (both trainable): ``(batch, n_frames, 2048) -> (batch, n)``."""
    frames = keras.Input(shape=frontend.input_shape[1:], name="frames")
    return keras.Model(frames, classifier(frontend(frames)), name=f"{classifier.name}_fin")
