"""The SER model: raw frames -> the five FINs on every frame -> 162 values per frame -> pooling -> head.

::

    frames (batch, n_frames, 2048)
      -> MergeFrames                        (batch * n_frames, 2048): every frame of the batch at once
      -> zcr, chroma, mfcc, rms, mel FINs   one keras.Model each, (batch * n_frames, dim)
      -> Concatenate, SplitFrames           (batch, n_frames, 162)          = the "fin_stack" sub-model
      -> [LogCompress of rms and mel]       compress="log" (not in the seed)
      -> pooling over time                  (batch, 162); 324 for "stats"
      -> [SpeakerNormalization]             speaker_norm=True (not in the seed)
      -> head                               (batch, n_classes) softmax      = the "classifier" sub-model

The FINs run on all frames of a batch in one call (a reshape, no Python loop over frames). The features are
concatenated in the seed's order, :data:`FEATURE_ORDER` (1 + 12 + 20 + 1 + 128 = 162, the order of the seed's
librosa baseline). The model is split into two sub-models, ``fin_stack`` and ``classifier``, so that with all FINs
frozen the per-frame FIN outputs can be computed once per clip and only the classifier trained (see
:mod:`ser.inputs`); the full model is ``classifier([fin_stack(frames), FrameMask(frames)])`` either way.

Pooling leaves out the all-zero frames (``mask_padding``, on by default): a clip shorter than ``n_frames`` is padded
with zeros, and the FIN outputs of a zero frame are not zero (its MFCC is the -100 dB floor), so the seed's plain
mean mixes a constant into every feature in proportion to the padding; an augmented copy stretched to 1.25x gets
less padding than its original. ``mask_padding=False`` is the seed's mean over all frames.

The seed's head (:func:`seed_head`), on the pooled vector::

    Reshape(dim, 1) -> BatchNorm -> Conv1D(256, 8) -> Conv1D(256, 8) -> BN -> Dropout .25 -> MaxPool 8
    -> Conv1D(128, 8) x 4 -> BN -> Dropout .25 -> MaxPool 8 -> Conv1D(64, 8) x 2 -> Flatten -> Dense softmax

with ReLU after every convolution (after the BN where one follows) and ``padding='same'`` in every Conv1D: with
``'valid'`` the 162 positions would shrink to 148, 18 after the first pooling, and the four 8-wide convolutions
of the second block would have nothing left to convolve. (The seed's head comes from a well-known Keras SER
notebook whose convolutions are all ``padding='same'``.) Its first BatchNorm acts on a single channel, so it
rescales all 162 values by one mean and variance; ``feature_norm="batchnorm"`` adds a per-feature
BatchNormalization of the pooled vector in front of it (not in the seed).
"""

import hashlib

import keras
import numpy as np

import fin
from data_prep.targets import FEATURE_DIMS, FRAME_LENGTH
from data_prep.targets import SEED_FEATURE_ORDER as FEATURE_ORDER  # the seed's concatenation: 1 + 12 + 20 + 1 + 128
from ser import layers as sl
from ser.errors import SERError

#: Values per frame after the concatenation.
FEATURE_DIM = sum(FEATURE_DIMS[f] for f in FEATURE_ORDER)
#: Where the FIN weights come from.
FIN_SOURCES = ("pretrained", "random")
#: Per-feature normalisation of the pooled vector in front of the head.
FEATURE_NORMS = ("none", "batchnorm")
#: Per-frame compression of the energy-like features (rms, mel) before pooling: none (the seed's) or log.
COMPRESSIONS = ("none", "log")
#: What fine-tuning trains of each FIN's front end (its projection of the raw frame): ``"trainable"`` (every FIN
#: weight, the seed's), or ``"frozen"`` (the front-end layers, :data:`FRONT_END_LAYERS`, keep their weights;
#: everything after them trains, and no gradient is taken through the biggest per-frame matmuls).
FRONT_ENDS = ("trainable", "frozen")
#: The front-end layers by name: the window and DFT of the spectral FINs, the learned basis of the quadratic ones.
FRONT_END_LAYERS = ("window", "dft", "basis")


def energy_columns():
    """Columns of the 162-vector holding amplitudes or powers (rms, mel): what ``compress="log"`` compresses."""
    columns, start = [], 0
    for f in FEATURE_ORDER:
        if f in ("rms", "mel"):
            columns.extend(range(start, start + FEATURE_DIMS[f]))
        start += FEATURE_DIMS[f]
    return columns


def _pooling_layer(name, seed):
    return {"mean": lambda: sl.MeanPooling(name="pooling"),
            "stats": lambda: sl.StatisticsPooling(name="pooling"),
            "attention": lambda: sl.AttentionPooling(seed=seed, name="pooling"),
            "functionals": lambda: sl.FunctionalsPooling(name="pooling"),
            "descriptive": lambda: sl.DescriptivePooling(name="pooling")}[name]()


#: Pooling name -> (description, output size as a multiple of the per-frame size).
POOLINGS = {
    "mean": ("mean over the frames (the seed's AveragePooling1D(n_frames))", 1),
    "stats": ("mean and standard deviation over the frames", 2),
    "attention": ("additive attention over the frames, a learned weighted mean", 1),
    "functionals": ("mean, standard deviation, minimum and maximum over the frames", 4),
    "descriptive": ("15 functionals: mean, std, percentiles 1/25/50/75/99, two ranges, slope, skewness, kurtosis, "
                    "mean/std/mean magnitude of frame-to-frame differences", 15),
}

#: Temporal block over the frame sequence before pooling (not in the seed): name -> description.
TEMPORALS = {
    "none": "none: pooling sees the frame features themselves (the seed's)",
    "conv": "two Conv1D(128, 5) over time after a per-feature BatchNorm (ser.layers.TemporalConv)",
    "gru": "a bidirectional GRU(64) over time after a per-feature BatchNorm, padding masked (ser.layers.TemporalGRU)",
}


def _temporal_layer(name, seed):
    return {"conv": lambda: sl.TemporalConv(seed=seed, name="temporal"),
            "gru": lambda: sl.TemporalGRU(seed=seed, name="temporal")}[name]()


def seed_head(x, n_classes, seed=None):
    """The seed's 1D-CNN head on a pooled feature vector.

    Parameters
    ----------
    x : KerasTensor [shape=(batch, dim)]
    n_classes : int
    seed : int or None
        Seeds the kernels and the dropout.

    Returns
    -------
    probabilities : KerasTensor [shape=(batch, n_classes)]
    """
    count = iter(range(1, 100))

    def init():
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 100 + next(count))

    def conv(filters, activation="relu", name=None):
        return keras.layers.Conv1D(filters, 8, padding="same", activation=activation, kernel_initializer=init(), name=name)

    L = keras.layers
    x = L.Reshape((x.shape[-1], 1), name="head_reshape")(x)
    x = L.BatchNormalization(name="head_bn0")(x)
    x = conv(256, name="head_conv1")(x)
    x = conv(256, activation=None, name="head_conv2")(x)
    x = L.Activation("relu", name="head_relu2")(L.BatchNormalization(name="head_bn1")(x))
    x = L.MaxPooling1D(8, name="head_pool1")(L.Dropout(0.25, seed=seed, name="head_drop1")(x))
    for i in range(3):
        x = conv(128, name=f"head_conv{3 + i}")(x)
    x = conv(128, activation=None, name="head_conv6")(x)
    x = L.Activation("relu", name="head_relu6")(L.BatchNormalization(name="head_bn2")(x))
    x = L.MaxPooling1D(8, name="head_pool2")(L.Dropout(0.25, seed=None if seed is None else seed + 1, name="head_drop2")(x))
    x = conv(64, name="head_conv7")(x)
    x = conv(64, name="head_conv8")(x)
    x = L.Flatten(name="head_flatten")(x)
    return L.Dense(n_classes, activation="softmax", kernel_initializer=init(), name="emotion")(x)


def mlp_head(x, n_classes, seed=None):
    """A small regularised head: ``Dense(256, relu) -> Dropout .5 -> Dense softmax`` (L2 1e-4 on the kernels).

    Not in the seed. On a few hundred utterances (EMO-DB has 535) the seed's 1.3 M-parameter convolutional head
    fits the training speakers within a few epochs; this one has 42 k parameters on a 162-vector.
    """
    L = keras.layers
    reg = keras.regularizers.L2(1e-4)
    x = L.Dense(256, activation="relu", kernel_regularizer=reg, name="head_dense",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    x = L.Dropout(0.5, seed=seed, name="head_drop")(x)
    return L.Dense(n_classes, activation="softmax", kernel_regularizer=reg, name="emotion",
                   kernel_initializer=keras.initializers.GlorotUniform(seed=None if seed is None else seed + 1))(x)


def svm_head(x, n_classes, seed=None):
    """A linear one-vs-one SVM (:class:`ser.layers.OneVsOneSVM`), fitted by sklearn, not by gradient descent.

    Not in the seed. Needs fixed, speaker-normalised pooled vectors (``speaker_norm``): the fold loop fits it on
    them with ``C`` chosen inside the training speakers (:func:`ser.svm.fit_svm_head`).
    """
    return sl.OneVsOneSVM(n_classes, name="emotion")(x)


#: Head name -> builder ``(pooled tensor, n_classes, seed) -> probabilities``.
HEADS = {"seed": seed_head, "mlp": mlp_head, "svm": svm_head}


def _check(name, value, valid):
    if value not in valid:
        raise SERError(f"unknown {name} {value!r}; expected one of {', '.join(valid)}")
    return value


def _check_classes(n_classes):
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise SERError(f"n_classes must be an integer of at least 2, got {n_classes!r}")
    return int(n_classes)


# ------------------------------------------------------------------------------------------------- FINs


#: Where the FINs come from: the two shipped preset families, or a folder of one's own FINs (``DIR``).
FIN_FAMILIES = ("closed-form", "learned")


def _shipped_presets(family="closed-form"):
    """The preset index of ``family`` if it holds all five FINs, else ``{}``."""
    from fin.presets import list_presets

    index = list_presets(family)
    return index if all(f in index for f in FEATURE_ORDER) else {}


def _fin_folder_files(folder):
    """Feature -> ``.keras`` file of a folder of FINs: ``<feature>.keras`` or a ``fin.train`` run ``<feature>/``."""
    from pathlib import Path

    folder = Path(folder)
    if not folder.is_dir():
        raise SERError(f"FIN source {str(folder)!r} is neither a preset family ({', '.join(FIN_FAMILIES)}) nor a "
                       "folder")
    files, missing = {}, []
    for f in FEATURE_ORDER:
        found = [p for p in (folder / f"{f}.keras", folder / f / "model.keras") if p.is_file()]
        if found:
            files[f] = found[0]
        else:
            missing.append(f)
    if missing:
        raise SERError(f"FIN folder {folder} lacks {', '.join(missing)}: expected <feature>.keras or a fin.train run "
                       f"folder <feature>/model.keras for each of {', '.join(FEATURE_ORDER)}")
    return files


def _fin_archs(family):
    """Feature -> architecture of the FINs of ``family`` (what ``init="random"`` rebuilds)."""
    if family in FIN_FAMILIES:
        presets = _shipped_presets(family)
        return {f: presets[f].get("arch", "spectral") if presets else "spectral" for f in FEATURE_ORDER}
    import yaml

    from fin.presets import load_model_file

    archs = {}
    for f, path in _fin_folder_files(family).items():
        config = path.parent / "config.yaml"
        arch = yaml.safe_load(config.read_text()).get("arch") if config.is_file() else None
        archs[f] = arch or load_model_file(path).name.split("_", 1)[1]  # FINs are named <feature>_<arch>
    return archs


def fins_description(source="pretrained", family="closed-form"):
    """One line saying where ``load_fins(source, family=family)`` takes its FINs from (written into each run's config)."""
    where = f"{family} presets (fin/presets/{'' if family == 'closed-form' else family + '/'})" \
        if family in FIN_FAMILIES else f"FINs in {family}"
    if source == "pretrained":
        return where
    return f"random init, architectures of the {where}: {_fin_archs(family)}"


def load_fins(source="pretrained", seed=None, family="closed-form"):
    """The five FINs as Keras models, ``(batch, 2048) -> (batch, dim)`` each.

    Parameters
    ----------
    source : {"pretrained", "random"} or dict
        ``"pretrained"``: the FINs of ``family`` as trained. ``"random"``: the same architectures with random
        weights (the seed's random-init variant). A dict ``feature -> keras.Model`` is taken as it is.
    seed : int or None
        Seeds the random weights.
    family : str
        ``"closed-form"`` (default): the shipped presets that compute librosa's features exactly (the ``spectral``
        FINs with closed-form weights); ``"learned"``: the shipped learned presets (randomly initialised, trained to
        imitate librosa); or a folder holding ``<feature>.keras`` or ``fin.train`` run folders ``<feature>/``.

    Returns
    -------
    fins : dict
        Feature name -> a fresh ``keras.Model`` (each call builds new models with their own weights).

    Examples
    --------
    >>> fins = load_fins("pretrained")
    >>> [fins[f].output_shape for f in FEATURE_ORDER]
    [(None, 1), (None, 12), (None, 20), (None, 1), (None, 128)]
    """
    if isinstance(source, dict):
        missing = [f for f in FEATURE_ORDER if f not in source]
        if missing:
            raise SERError(f"FIN dict lacks {', '.join(missing)}; expected a model for each of {', '.join(FEATURE_ORDER)}")
        return {f: source[f] for f in FEATURE_ORDER}
    _check("FIN source", source, FIN_SOURCES)
    family = str(family)
    if source == "random":
        return {f: fin.build_model(f, arch, init="random", seed=seed) for f, arch in _fin_archs(family).items()}
    if family in FIN_FAMILIES:
        if _shipped_presets(family):
            from fin.presets import load_preset

            return {f: load_preset(f, family=family) for f in FEATURE_ORDER}
        if family == "closed-form":
            return {f: fin.build_model(f, "spectral", init="closed-form") for f in FEATURE_ORDER}
        raise SERError(f"the {family} preset family is not complete in this installation (fin/presets/{family}/)")
    from fin.presets import load_model_file

    return {f: load_model_file(path) for f, path in _fin_folder_files(family).items()}


def fin_digest(fin_stack):
    """A short hash of the weights of a FIN stack (:func:`build_fin_stack`): the cache key of its outputs."""
    digest = hashlib.sha1()
    for w in fin_stack.weights:
        digest.update(w.path.encode())
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    return digest.hexdigest()[:16]


def parse_freeze(freeze):
    """The features whose FIN is frozen, from ``"none"``, ``"all"``, ``"mel,mfcc"`` or a list of names.

    Examples
    --------
    >>> parse_freeze("none"), parse_freeze("all"), parse_freeze("mel, zcr")
    ((), ('zcr', 'chroma', 'mfcc', 'rms', 'mel'), ('zcr', 'mel'))
    """
    if freeze is None or (isinstance(freeze, str) and freeze.strip().lower() == "none"):
        return ()
    if isinstance(freeze, str) and freeze.strip().lower() == "all":
        return FEATURE_ORDER
    names = [n.strip() for n in freeze.split(",")] if isinstance(freeze, str) else [str(n).strip() for n in freeze]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in FEATURE_ORDER]
    if unknown or not names:
        raise SERError(f"bad freeze value {freeze!r}: expected 'none', 'all' or a comma-separated list of "
                       f"{', '.join(FEATURE_ORDER)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return tuple(f for f in FEATURE_ORDER if f in names)


def freeze_mode(freeze):
    """``"none"``, ``"all"`` or the canonical comma-separated list, for configs and folder names."""
    frozen = parse_freeze(freeze)
    return "none" if not frozen else "all" if frozen == FEATURE_ORDER else ",".join(frozen)


# ----------------------------------------------------------------------------------------------- models


def build_fin_stack(fins, n_frames=108):
    """The FINs applied to every frame of a clip, outputs concatenated.

    Parameters
    ----------
    fins : dict
        Feature -> FIN model (see :func:`load_fins`).
    n_frames : int or None
        Frames per clip; ``None`` accepts any number.

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, 2048) -> (batch, n_frames, 162)``, named ``"fin_stack"``.
    """
    fins = load_fins(fins)
    frames = keras.Input(shape=(n_frames, FRAME_LENGTH), name="frames")
    flat = sl.MergeFrames(name="merge_frames")(frames)
    outputs = [fins[f](flat) for f in FEATURE_ORDER]
    per_frame = keras.layers.Concatenate(axis=-1, name="concat")(outputs)
    return keras.Model(frames, sl.SplitFrames(name="split_frames")([per_frame, frames]), name="fin_stack")


def build_shared_fin_stack(fins, n_frames=108):
    """:func:`build_fin_stack`'s computation with the layers the FINs have in common computed once.

    :func:`fin.stack.stack_fins` shares the closed-form FINs' window, DFT and mel filter bank (one DFT instead of
    three): the same outputs up to float round-off, about 1.6x faster (``python -m experiments.benchmark fin``).
    For inference and for computing frozen features: a shared layer has one set of weights, so it is not for
    training FINs apart. Named ``"fin_stack_shared"``.
    """
    from fin.stack import stack_fins

    fins = load_fins(fins)
    frames = keras.Input(shape=(n_frames, FRAME_LENGTH), name="frames")
    flat = sl.MergeFrames(name="merge_frames")(frames)
    outputs = stack_fins({f: fins[f] for f in FEATURE_ORDER})(flat)
    per_frame = keras.layers.Concatenate(axis=-1, name="concat")(outputs)
    return keras.Model(frames, sl.SplitFrames(name="split_frames")([per_frame, frames]), name="fin_stack_shared")


def inference_model(model):
    """A ``ser`` model (:func:`build_ser_model`) with its FIN stack replaced by :func:`build_shared_fin_stack`:
    the same function of the frames, faster; what ``ser.predict`` runs. Other models are returned as they are.

    Examples
    --------
    >>> fast = inference_model(build_ser_model(7, freeze="all", n_frames=26))
    >>> fast.name, fast.output_shape
    ('ser_inference', (None, 7))
    """
    if model.name != "ser":
        return model
    classifier = model.get_layer("classifier")
    stack = build_shared_fin_stack(get_fins(model), model.input_shape[1])
    frames = keras.Input(shape=model.input_shape[1:], name="frames")
    features = stack(frames)
    inputs = [features, sl.FrameMask(name="frame_mask")(frames)] if len(classifier.inputs) == 2 else features
    return keras.Model(frames, classifier(inputs), name="ser_inference")


def get_fins(model):
    """The FIN sub-models of a ``ser`` model or a ``fin_stack``: feature -> keras.Model.

    FINs are named ``"<feature>_<arch>"`` (:func:`fin.build_model`), which identifies them.
    """
    stack = model.get_layer("fin_stack") if model.name != "fin_stack" else model
    fins = {layer.name.split("_")[0]: layer for layer in stack.layers
            if isinstance(layer, keras.Model) and layer.name.split("_")[0] in FEATURE_ORDER}
    if set(fins) != set(FEATURE_ORDER):
        raise SERError(f"model {model.name!r} does not hold one FIN per feature (found {', '.join(fins) or 'none'})")
    return {f: fins[f] for f in FEATURE_ORDER}


def _head_input(x, feature_norm, speaker_norm=False):
    _check("feature norm", feature_norm, FEATURE_NORMS)
    if speaker_norm:
        x = sl.SpeakerNormalization(name="speaker_norm")(x)
    if feature_norm == "batchnorm":
        x = keras.layers.BatchNormalization(name="feature_norm")(x)
    return x


def _compress(x, compress):
    _check("compression", compress, COMPRESSIONS)
    return sl.LogCompress(energy_columns(), name="compress")(x) if compress == "log" else x


def find_layer(model, name, nested=True):
    """A layer of ``model``, or with ``nested`` of one of its sub-models (``fin_stack``, ``classifier``), by name.

    Raises :class:`SERError` naming the model if there is none.
    """
    for layer in model.layers:
        if layer.name == name:
            return layer
        if nested and isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except SERError:
                pass
    raise SERError(f"model {model.name!r} has no layer {name!r}")


def head_model(model):
    """The part of a classifier (or baseline model) after its ``speaker_norm`` layer: ``(batch, dim) -> probs``.

    It shares its layers with ``model``; training it trains ``model``'s head. Raises :class:`SERError` if the
    model has no ``speaker_norm`` layer.
    """
    return keras.Model(find_layer(model, "speaker_norm", nested=False).output, model.output, name="head")


def pooled_model(model):
    """The part of a classifier (or baseline model) before its ``speaker_norm`` layer: inputs -> pooled vector."""
    return keras.Model(model.inputs, find_layer(model, "speaker_norm", nested=False).input, name="pooled")


def build_classifier(n_classes, *, n_frames=108, dim=FEATURE_DIM, pooling="mean", head="seed", feature_norm="none",
                     mask_padding=True, compress="none", speaker_norm=False, deltas=False, temporal="none", seed=None):
    """Pooling over time and the head: ``(batch, n_frames, dim) -> (batch, n_classes)``, named ``"classifier"``.

    With ``mask_padding`` the model takes ``[features, frame_mask]``, the mask ``(batch, n_frames)`` being 1 for the
    frames to pool over (see :class:`ser.layers.FrameMask`).

    Parameters
    ----------
    n_classes : int
    n_frames : int or None
    dim : int
        Values per frame (162 for the FIN stack).
    pooling : {"mean", "stats", "attention"}
    head : {"seed", "mlp"}
    feature_norm : {"none", "batchnorm"}
        ``"batchnorm"``: a per-feature BatchNormalization of the pooled vector before the head.
    mask_padding : bool
        Pool over the frames the second input marks (the frames with audio) only.
    compress : {"none", "log"}
        ``"log"``: :class:`ser.layers.LogCompress` on the rms and mel columns of every frame before pooling.
    speaker_norm : bool
        A :class:`ser.layers.SpeakerNormalization` layer (``"speaker_norm"``) between pooling and head.
    deltas : bool
        Append each frame's first difference over time (:class:`ser.layers.FrameDeltas`) before pooling.
    temporal : {"none", "conv", "gru"}
        A temporal block over the frames before pooling (:data:`TEMPORALS`).
    seed : int or None
    """
    n_classes = _check_classes(n_classes)
    _check("pooling", pooling, POOLINGS)
    _check("head", head, HEADS)
    _check("temporal", temporal, TEMPORALS)
    per_frame = keras.Input(shape=(n_frames, dim), name="fin_features")
    x = _compress(per_frame, compress)
    mask = keras.Input(shape=(n_frames,), name="frame_mask") if mask_padding else None
    with_mask = (lambda t: [t, mask]) if mask_padding else (lambda t: t)  # noqa: E731
    if deltas:
        x = sl.FrameDeltas(name="deltas")(with_mask(x))
    if temporal != "none":
        x = _temporal_layer(temporal, seed)(with_mask(x))
    pooled = _pooling_layer(pooling, seed)(with_mask(x))
    outputs = HEADS[head](_head_input(pooled, feature_norm, speaker_norm), n_classes, seed=seed)
    return keras.Model([per_frame, mask] if mask_padding else per_frame, outputs, name="classifier")


def build_feature_classifier(n_classes, *, dim=FEATURE_DIM, head="seed", feature_norm="none", compress="none",
                             speaker_norm=False, seed=None):
    """The head alone on a clip-level feature vector: ``(batch, dim) -> (batch, n_classes)`` (the baseline).

    ``compress="log"`` takes the log of the clip means of rms and mel (of the mean, not a mean of logs as the FIN
    classifier's); ``speaker_norm`` as in :func:`build_classifier`.
    """
    n_classes = _check_classes(n_classes)
    _check("head", head, HEADS)
    features = keras.Input(shape=(dim,), name="clip_features")
    outputs = HEADS[head](_head_input(_compress(features, compress), feature_norm, speaker_norm), n_classes, seed=seed)
    return keras.Model(features, outputs, name="baseline")


def build_ser_model(n_classes, *, fins="pretrained", family="closed-form", freeze="none", n_frames=108, pooling="mean",
                    head="seed", feature_norm="none", mask_padding=True, compress="none", speaker_norm=False,
                    deltas=False, temporal="none", front_end="trainable", seed=None):
    """The end-to-end SER model on raw frames.

    Parameters
    ----------
    n_classes : int
        Emotions to tell apart.
    fins : {"pretrained", "random"} or dict
        The FINs' weights: trained, or random (see :func:`load_fins`).
    family : str
        Which FINs: ``"closed-form"``, ``"learned"`` or a folder of FINs (see :func:`load_fins`).
    freeze : {"none", "all"} or str or list of str
        FINs whose weights stay fixed (``trainable = False``): none (fine-tuning), all (frozen FINs), or some
        features, e.g. ``"mel,mfcc"`` or ``["mel"]``.
    n_frames : int or None
        Frames per clip (108 for the seed's 2.5 s at 22.05 kHz); ``None`` accepts any number.
    pooling : {"mean", "stats", "attention"}
        Pooling over time; ``"mean"`` is the seed's.
    head : {"seed", "mlp"}
    feature_norm : {"none", "batchnorm"}
    compress, speaker_norm, deltas, temporal
        See :func:`build_classifier`.
    mask_padding : bool
        Pool only over the frames that hold audio (:class:`ser.layers.FrameMask`: all-zero frames, the end padding
        of a short clip, are left out), so a clip's pooled features do not depend on how much padding it got.
        ``False`` is the seed's plain mean over all ``n_frames`` frames.
    front_end : {"trainable", "frozen"}
        With ``"frozen"`` the front-end layers (:data:`FRONT_END_LAYERS`) of the FINs that train keep their
        weights, everything after them trains: a partial fine-tuning mode, cheaper per step.
    seed : int or None
        Seeds the random weights of the head (and of the FINs for ``fins="random"``).

    Returns
    -------
    model : keras.Model
        ``(batch, n_frames, 2048) -> (batch, n_classes)``, named ``"ser"``; its layers ``fin_stack`` and
        ``classifier`` are the two sub-models.

    Examples
    --------
    >>> model = build_ser_model(7, freeze="all", n_frames=26)
    >>> model.input_shape, model.output_shape
    ((None, 26, 2048), (None, 7))
    >>> [w.path.split("/")[0] for w in model.trainable_weights][:1]
    ['head_bn0']
    """
    n_classes = _check_classes(n_classes)
    frozen = parse_freeze(freeze)
    fins = load_fins(fins, seed=seed, family=family)
    for f in FEATURE_ORDER:
        fins[f].trainable = f not in frozen
    if _check("front end", front_end, FRONT_ENDS) == "frozen":
        front = [layer for f in FEATURE_ORDER if f not in frozen for layer in fins[f].layers
                 if layer.name in FRONT_END_LAYERS]
        if not front:
            raise SERError(f"front_end='frozen': no FIN being trained has a front end (layers named "
                           f"{', '.join(FRONT_END_LAYERS)}); it applies to the spectral and quadratic FINs")
        for layer in front:
            layer.trainable = False
    stack = build_fin_stack(fins, n_frames)
    classifier = build_classifier(n_classes, n_frames=n_frames, pooling=pooling, head=head, feature_norm=feature_norm,
                                  mask_padding=mask_padding, compress=compress, speaker_norm=speaker_norm,
                                  deltas=deltas, temporal=temporal, seed=seed)
    frames = keras.Input(shape=(n_frames, FRAME_LENGTH), name="frames")
    features = stack(frames)
    if mask_padding:
        outputs = classifier([features, sl.FrameMask(name="frame_mask")(frames)])
    else:
        outputs = classifier(features)
    return keras.Model(frames, outputs, name="ser")
