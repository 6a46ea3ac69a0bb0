"""The SER model zoo: every seed system as a named model, trained and tested like the FIN model.

One table, :data:`MODELS`, maps a model name to everything about it (:class:`ZooModel`): a one-line summary, its
input kind (:mod:`ser.zoo.inputs`), its builder, the seed's training settings, and the seed's published number with
the protocol it was measured under. ``python -m ser.train --model NAME`` runs any of them through the same clip
cache, folds, augmentation, metrics and outputs as ``ser.finetune`` (:func:`ser.training.run`); ``opensmile_svm``
has its own fold loop (:mod:`ser.zoo.svm`) writing the same files, and ``fin`` / ``baseline`` are
``ser.finetune`` / ``ser.baseline`` themselves.

Examples
--------
>>> get_model("ps_ac1d_fif").training["optimizer"]
'rmsprop'
>>> get_model("nope")
Traceback (most recent call last):
...
ser.errors.SERError: unknown zoo model 'nope'; expected one of ps_ac1d_fif, crema_cnn1d, ..., fin, baseline
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

from ser.errors import SERError


@dataclass(frozen=True)
class ZooModel:
    """Everything about one zoo model.

    Attributes
    ----------
    name : str
    summary : str
        One line for ``--help`` and the README.
    inputs : str
        Input kind: a key of :data:`ser.zoo.inputs.INPUT_KINDS`, or ``"opensmile"`` (the SVM's fold loop),
        ``"finetune"`` / ``"baseline"`` (those commands' own).
    build : callable or None
        ``build(n_classes, input_shape, seed) -> keras.Model``; ``input_shape`` is one row's, without the batch axis.
    features : str or None
        The cached feature of :func:`ser.zoo.features.cached_features` the model reads.
    frontends : tuple of str
        ``("librosa", "fin")`` for models whose librosa frame features FINs can compute inside the model.
    training : dict
        The seed's training settings, defaults of the run: ``optimizer``, ``lr``, ``batch_size``, ``epochs`` and
        optionally ``lr_decay``, ``weight_decay``.
    published : str
        The seed's reported number and the protocol it was measured under.
    """

    name: str
    summary: str
    inputs: str
    build: Optional[Callable] = None
    features: Optional[str] = None
    frontends: tuple = ("librosa",)
    training: dict = field(default_factory=dict)
    published: str = ""


def _ps_ac1d_fif(n_classes, shape, seed):
    from ser.zoo.models import build_ps_ac1d_fif

    return build_ps_ac1d_fif(shape[0], n_classes, seed)


def _crema_cnn1d(n_classes, shape, seed):
    from ser.zoo.models import build_crema_cnn1d

    return build_crema_cnn1d(shape[0], n_classes, seed)


def _crema_cnn2d(n_classes, shape, seed):
    from ser.zoo.models import build_crema_cnn2d

    return build_crema_cnn2d(shape[0], n_classes, seed)


def _cnn_gru(depth):
    def build(n_classes, shape, seed):
        from ser.zoo.waveform import build_cnn_gru

        return build_cnn_gru(depth, n_classes, shape[0], seed=seed)

    return build


def _sigwavnet(n_classes, shape, seed):
    from ser.zoo.waveform import build_sigwavnet

    return build_sigwavnet(n_classes, shape[0], seed=seed)


def waveform_training(family):
    """The seed's training settings of ``cnn_gru`` or ``sigwavnet`` from ``ser.zoo.waveform.TRAINING``.

    Read when a run starts (the module may be absent from a checkout; :class:`SERError` then).
    """
    try:
        from ser.zoo.waveform import TRAINING
    except ImportError as err:
        raise SERError(f"the waveform models need ser.zoo.waveform, which is not installed in this checkout ({err})") \
            from err
    return dict(TRAINING[family])


#: The CREMA-D notebook's training: Adam at Keras' default rate, batch 32 (Keras' default), early stopping.
_CREMA_TRAINING = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 100}

MODELS = {m.name: m for m in [
    ZooModel("ps_ac1d_fif", "PS_AC1D_FIF: 417 librosa utterance features (fold-local scaler), alternating Conv1D, "
             "no pooling", "utterance_features", _ps_ac1d_fif, "ps_ac1d_fif",
             training={"optimizer": "rmsprop", "lr": 1e-5, "lr_decay": 1e-6, "batch_size": 10, "epochs": 100},
             published="EMO-DB 87.85 %, RAVDESS 81.12 % accuracy; 5-fold KFold over utterances (speakers shared), "
                       "scaler fit on all data, test fold used for validation"),
    ZooModel("crema_cnn1d", "CREMA-D notebook 1D CNN on frame-wise ZCR, RMS, 13 MFCC, spectral centroid",
             "frame_features", _crema_cnn1d, "crema_frames", ("librosa", "fin"), dict(_CREMA_TRAINING),
             published="CREMA-D 6 classes 49.3 % accuracy, weighted F1 0.48; one stratified 70/30 file split "
                       "(speakers shared)"),
    ZooModel("crema_cnn2d", "CREMA-D notebook 2D CNN on the log-mel image (128 mels)", "frame_features",
             _crema_cnn2d, "mel_power", ("librosa", "fin"), dict(_CREMA_TRAINING),
             published="CREMA-D 6 classes 52.5 % accuracy, weighted F1 0.51; one stratified 70/30 file split "
                       "(speakers shared)"),
    *[ZooModel(f"cnn_{n}_gru", f"CNN-{n}-GRU on the raw 16 kHz waveform (ser.zoo.waveform)", "waveform_16k",
               _cnn_gru(n), training={"family": "cnn_gru"},
               published="CNN-18-GRU: TESS 99.2 %, RAVDESS 86.6 %, IEMOCAP 81.3 %; 80/10/10 stratified file split "
                         "(speakers shared)" if n == 18 else "")
      for n in (3, 5, 11, 18)],
    ZooModel("sigwavnet", "SigWavNet: learnable wavelet front end, dilated convolutions, BiGRU with attention "
             "(ser.zoo.waveform)", "waveform_16k", _sigwavnet, training={"family": "sigwavnet"},
             published="EMO-DB 90.1 %, IEMOCAP 84.8 %; random stratified hold-out (speakers shared)"),
    ZooModel("opensmile_svm", "openSMILE eGeMAPS or ComParE-2016 functionals, per-speaker z-norm, linear SVM "
             "(C chosen on the training speakers)", "opensmile",
             published="reference: ComParE + per-speaker z-norm + linear SVM 83.0 % UA on EMO-DB LOSO (an earlier "
                       "measurement)"),
    ZooModel("fin", "the FIN model of ser.finetune (its options: --freeze, --init, --pooling ... via ser.finetune)",
             "finetune", published="seed: 61.6 % accuracy, 8 classes, per-file 70/15/15 split (speakers shared)"),
    ZooModel("baseline", "ser.baseline: the seed head on 162 librosa features averaged over the clip", "baseline",
             published="seed: 51.3 % accuracy, 8 classes, per-file 70/15/15 split (speakers shared)"),
]}


def model_names():
    """The zoo's model names, in table order."""
    return tuple(MODELS)


def get_model(name):
    """The :class:`ZooModel` called ``name``; :class:`SERError` listing the valid names if unknown."""
    try:
        return MODELS[name]
    except (KeyError, TypeError) as err:
        raise SERError(f"unknown zoo model {name!r}; expected one of {', '.join(MODELS)}") from err


def training_defaults(model):
    """The run defaults of ``model`` (a :class:`ZooModel`): its seed's optimizer, learning rate, batch, epochs."""
    settings = dict(model.training)
    family = settings.pop("family", None)
    if family:
        settings = {**waveform_training(family), **settings}
    return {k: settings[k] for k in ("optimizer", "lr", "lr_decay", "weight_decay", "batch_size", "epochs")
            if k in settings}
