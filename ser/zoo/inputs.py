"""What each zoo model trains on: one :class:`ser.inputs.Inputs` subclass per input kind.

The fold loop is :func:`ser.training.run`'s; these classes only say what a model's input is, compute it once per
clip-cache row (cached on disk, :func:`ser.zoo.features.cached_features`) and build the model of
:data:`ser.zoo.MODELS` ``[config["model"]]``.

- :class:`UtteranceFeatureInputs` (``utterance_features``): one vector per clip (PS_AC1D_FIF's 417), standardised by
  a scaler fit **inside each fold on its training rows only** (:meth:`start_fold`), held in the saved model as its
  first layer (``keras.layers.Normalization``), so the test rows never reach the scaler's statistics.
- :class:`FrameFeatureInputs` (``frame_features``): librosa's frame-wise features (``--frontend librosa``), the
  classifier alone.
- :class:`FrameFINInputs` (``frames``): raw frames streamed from the clip cache through FINs inside the model
  (``--frontend fin``): the closed-form FINs compute the same features, and are fine-tuned with the classifier.
- :class:`WaveformInputs` (``waveform_16k``): every clip resampled to 16 kHz (``ser.zoo.waveform``).
"""

import numpy as np

from ser.errors import SERError
from ser.inputs import FrameInputs, Inputs


class ZooInputs(Inputs):
    """Base of the zoo's input kinds: knows its :class:`ser.zoo.ZooModel` (``config["model"]``)."""

    def __init__(self, config, cache, progress=False):
        from ser.zoo import get_model

        super().__init__(config, cache, progress)
        self.spec = get_model(config["model"])
        if config.get("speaker_norm"):
            raise SERError(f"--speaker-norm is not available for zoo model {self.spec.name!r}; its inputs are the "
                           "seed's (opensmile_svm normalises per speaker itself)")

    def build(self, n_classes, seed):
        model = self.spec.build(n_classes, self.features.shape[1:], seed)
        return model, model


class UtteranceFeatureInputs(ZooInputs):
    """One feature vector per clip, standardised with the statistics of the fold's training rows."""

    kind = "utterance_features"

    def prepare(self, strategy):
        from ser.zoo.features import cached_features

        self.features = cached_features(self.cache, self.spec.features, progress=self.progress)
        self.scaler_rows = None

    def start_fold(self, train_rows):
        """Fit the scaler (per-feature mean and variance) on ``train_rows`` only; kept in ``scaler_rows``."""
        train_rows = np.asarray(train_rows)
        x = self.features[train_rows].astype(np.float64)
        self.scaler_rows = train_rows
        self.mean, self.variance = x.mean(axis=0), x.var(axis=0)

    def build(self, n_classes, seed):
        import keras

        if self.scaler_rows is None:
            raise SERError("start_fold(train_rows) must fit the scaler before the model is built")
        network = self.spec.build(n_classes, self.features.shape[1:], seed)
        inputs = keras.Input(shape=self.features.shape[1:], name="features")
        scaler = keras.layers.Normalization(mean=self.mean, variance=np.maximum(self.variance, 1e-12), name="scaler")
        model = keras.Model(inputs, network(scaler(inputs)), name=f"{network.name}_scaled")
        return model, model


class FrameFeatureInputs(ZooInputs):
    """librosa's frame-wise features of every clip, computed once; the classifier alone is trained."""

    kind = "frame_features"

    def prepare(self, strategy):
        from ser.zoo.features import cached_features

        self.features = cached_features(self.cache, self.spec.features, progress=self.progress)


class FrameFINInputs(ZooInputs, FrameInputs):
    """Raw frames through the closed-form FINs and the classifier, both trained (``--frontend fin``)."""

    kind = "frames"

    def prepare(self, strategy):
        from ser.zoo.features import CREMA_FRAME_DIM

        self.dim = {"crema_frames": CREMA_FRAME_DIM, "mel_power": 128}[self.spec.features]
        self.clips = self.cache.clips(np.arange(len(self.cache)))  # framed in the graph, as FrameInputs does

    def build(self, n_classes, seed):
        from ser.inputs import on_clips
        from ser.zoo.models import build_frontend, with_frontend

        n_frames = self.cache.settings.n_frames
        classifier = self.spec.build(n_classes, (n_frames, self.dim), seed)
        model = with_frontend(build_frontend(self.spec.features, n_frames), classifier)
        return model, on_clips(model, n_frames, self.cache.settings.n_samples, name="zoo_on_clips")

    def optimizer(self, model, config):
        """The model's own optimizer (its seed's), the front end at the same rate."""
        return Inputs.optimizer(self, model, config)

    def data(self, rows, labels=None, weights=None, shuffle=False, seed=0):
        """NumPy arrays for ``fit``, not :func:`ser.inputs.clip_batches` (another shuffle order): the zoo's runs
        keep the batches their README rows were measured with."""
        out = {"x": self.clips[rows]}
        if labels is not None:
            out["y"] = labels
        if weights is not None:
            out["sample_weight"] = weights
        return out


class WaveformInputs(ZooInputs):
    """Every clip at 16 kHz (``ser.zoo.waveform.waveform_16k``), the whole network trained on it."""

    kind = "waveform_16k"

    def prepare(self, strategy):
        try:
            from ser.zoo.waveform import waveform_16k
        except ImportError as err:
            raise SERError(f"zoo model {self.spec.name!r} needs ser.zoo.waveform, which is not installed in this "
                           f"checkout ({err})") from err
        self.features = waveform_16k(self.cache, progress=self.progress)


#: Input kind -> Inputs class (``--frontend fin`` swaps ``frame_features`` for ``frames``).
INPUT_KINDS = {cls.kind: cls for cls in (UtteranceFeatureInputs, FrameFeatureInputs, FrameFINInputs, WaveformInputs)}
