"""What a SER model trains on, one class per input kind, and the caches those inputs come from.

- :class:`FrameInputs` (``frames``): the clips held in memory and framed in the graph
  (:class:`ser.layers.ClipFrames`); the whole model trains (fine-tuning, partial freezing), XLA-compiled, with
  optional frame subsampling in training (``frame_stride``).
- :class:`FINFeatureInputs` (``fin_features``): with every FIN frozen the FIN outputs do not change during
  training, so they are computed once per clip (:func:`fin_features`, cached on disk under a hash of the FIN
  weights) and only the ``classifier`` sub-model (pooling and head) is trained on them. This is exact: a frozen FIN
  is a fixed function (Keras runs a layer with ``trainable=False`` in inference mode, and the FINs hold no dropout),
  so ``classifier(fin_stack(frames))`` sees the same numbers either way; the saved model is the full ``ser`` model,
  FINs included (tested in ``tests/test_ser_model.py``).
- :class:`LibrosaFrameInputs` (``librosa_frames``, ``ser.baseline --features frames``): librosa's 162 features on
  every frame, the features the closed-form FINs compute (:func:`ser.features.librosa_frame_features`, cached), and
  the same classifier as frozen FINs (both are :class:`FixedFrameInputs`); the saved model is that classifier.
- :class:`ClipFeatureInputs` (``clip_features``): the baseline's 162 librosa features averaged over each clip
  (:mod:`ser.features`), the head alone.

Each class builds its model (``build`` returns the model to save and the (sub-)model to fit) and hands out the
``fit``/``predict`` arguments for a set of cache rows (``data``).

Speaker normalisation (``speaker_norm``, the two fixed-feature kinds only): every clip's pooled vector is
z-normalised with the mean and standard deviation of the pooled vectors of its speaker's original recordings
(:func:`ser.layers.speaker_statistics`; no labels are used, the test speaker's statistics come from the test
speaker's own recordings, as in the usual speaker-normalised LOSO protocol). The pooled vectors of fixed features
do not change during training, so they are normalised once and only the head (:func:`ser.model.head_model`) is
trained on them; the saved model holds the statistics of the fold's training speakers together in its
``speaker_norm`` layer (what ``ser.predict --no-speaker-adapt`` uses).
"""

import numpy as np

from ser.errors import SERError


def fin_features(cache, fin_stack, digest, batch_clips=16, progress=False):
    """The per-frame FIN outputs of every clip of a cache, computed once and cached beside it.

    Parameters
    ----------
    cache : ser.data.ClipCache
    fin_stack : keras.Model
        ``(batch, n_frames, 2048) -> (batch, n_frames, 162)`` (frozen FINs); only called when the features are not
        cached yet.
    digest : str
        Hash of the FIN weights (:func:`ser.model.fin_digest`), part of the cache name.

    Returns
    -------
    features : np.ndarray [shape=(len(cache), n_frames, 162), dtype=float32]
    """
    import keras
    from tqdm import tqdm

    from ser.data import derived_cache_path, read_array_cache, write_array_cache

    path = derived_cache_path(cache, f"fin-{digest}")
    features = read_array_cache(path) if path.is_file() else None
    if features is not None and features.shape[:2] == (len(cache), cache.settings.n_frames):
        return features
    features = np.empty((len(cache), cache.settings.n_frames, fin_stack.output_shape[-1]), dtype=np.float32)
    bar = tqdm(total=len(cache), unit="clip", desc="FIN features", disable=not progress)
    for start in range(0, len(cache), batch_clips):
        rows = np.arange(start, min(start + batch_clips, len(cache)))
        features[rows] = keras.ops.convert_to_numpy(fin_stack(cache.frames(rows), training=False))
        bar.update(len(rows))
    bar.close()
    write_array_cache(path, features, {"digest": digest})
    return features


def clip_batches(clips, rows, labels, weights=None, batch_size=64, seed=0, shuffle=True):
    """Batches ``(clips[rows[i]], labels[i][, weights[i]])`` as a ``tf.data.Dataset``, for ``fit``.

    Every row once per pass, with ``shuffle`` in a new order each pass (seeded: the same orders for the same
    ``seed``; without, in the order of ``rows``: validation data), in batches of ``batch_size`` with the last one
    smaller, as ``fit(x, y, shuffle=True)`` and its validation pass do; each batch is gathered from
    ``clips`` (a tensor of every clip, made once per run) while the previous one trains. Against NumPy arrays
    (Keras' array adapter): in ``fit`` calls of one epoch each, which include each call's set-up, 16.7 and 43.3 ms
    per EMO-DB clip against 10.6 and 10.9 ms with a pipeline like this one (an exploratory timing on one fold's
    1,290 clips); in the epochs after a call's first (``python -m experiments.benchmark ser-train``) both feeds
    cost the same. What it saves is the set-up of a ``fit`` call, once per fold, not step time.

    Parameters
    ----------
    clips : tf.Tensor [shape=(n_clips, n_samples)]
    rows : np.ndarray [shape=(n,), dtype=int]
        The rows of ``clips`` that train.
    labels : np.ndarray [shape=(n,)]
    weights : np.ndarray [shape=(n,)] or None
        Per-row sample weights.
    batch_size : int
    seed : int
    shuffle : bool

    Returns
    -------
    dataset : tf.data.Dataset
        Of ``(clips, labels)`` or ``(clips, labels, weights)`` batches.
    """
    import tensorflow as tf

    rows = tf.constant(np.asarray(rows, dtype=np.int64))
    parts = [tf.constant(np.asarray(labels))]
    if weights is not None:
        parts.append(tf.constant(np.asarray(weights, dtype=np.float32)))
    n = int(rows.shape[0])
    order = tf.data.Dataset.range(n)
    if shuffle:
        order = order.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    order = order.batch(batch_size)
    return order.map(lambda i: (tf.gather(clips, tf.gather(rows, i)), *(tf.gather(p, i) for p in parts))).prefetch(1)


def on_clips(model, n_frames, n_samples, frame_stride=1, seed=None, name="on_clips"):
    """``model`` (on frames) behind :class:`ser.layers.ClipFrames`: ``(batch, n_samples) -> model's output``.

    With ``frame_stride`` > 1 the clips are framed by :class:`ser.layers.StridedClipFrames`, which in training builds
    only every ``frame_stride``-th frame (the frames of :class:`ser.layers.FrameSubsample` after ``ClipFrames``)
    (``model`` must then accept any number of frames). Shares ``model``'s layers: fitting it trains ``model``.
    """
    import keras

    from ser.layers import ClipFrames, StridedClipFrames

    clips = keras.Input(shape=(n_samples,), name="clips")
    if frame_stride > 1:  # ClipFrames then FrameSubsample, building only the kept frames
        frames = StridedClipFrames(n_frames, frame_stride, seed=seed, name="clip_frames")(clips)
    else:
        frames = ClipFrames(n_frames, name="clip_frames")(clips)
    return keras.Model(clips, model(frames), name=name)


class Inputs:
    """What a model trains on, and how it is built; one subclass per input kind.

    ``build(n_classes, seed)`` returns ``(model, fit_model)``: the model to save and the (sub-)model to train.
    ``data(rows, labels, weights, shuffle)`` returns the keyword arguments of ``fit``/``predict`` for those rows.
    """

    kind = None

    def __init__(self, config, cache, progress=False):
        self.config, self.cache, self.progress = config, cache, progress

    def prepare(self, strategy):
        """Compute whatever is shared by every fold (called once, before the first fold)."""

    def start_fold(self, train_rows):
        """Before a fold's model is built: fit whatever is fold-local (a scaler) on its training rows only."""

    def finalize(self, model, train_rows):
        """After a fold's training: set the saved model's ``speaker_norm`` layer to the training speakers' statistics."""
        if not self.config.get("speaker_norm"):
            return
        from ser.model import find_layer

        original = train_rows[self.cache.copy[train_rows] == "original"]
        layer = find_layer(model, "speaker_norm")
        layer.set_statistics(self.pooled[original].mean(axis=0), self.pooled[original].std(axis=0))

    def _normalise_by_speaker(self, pooled):
        """Keep the pooled vectors and their per-speaker z-normalised copies (see the module docstring)."""
        from data_prep.splits import speaker_key
        from ser.layers import normalise_by_speaker, speaker_statistics

        speakers = np.array([speaker_key(self.cache.utterances[i]) for i in self.cache.source])
        stats = speaker_statistics(pooled, speakers, reference=self.cache.copy == "original")
        self.pooled = np.asarray(pooled, dtype=np.float32)
        self.features = normalise_by_speaker(self.pooled, speakers, stats)

    def build(self, n_classes, seed):
        raise NotImplementedError

    def optimizer(self, model, config):
        """The optimizer of a fold and the callbacks it needs (:func:`ser.optimizers.make_optimizer`)."""
        from ser.optimizers import make_optimizer

        return make_optimizer(config)

    def example(self, rows):
        """The model input of ``rows`` as one array."""
        return self.features[rows]

    def data(self, rows, labels=None, weights=None, shuffle=False, seed=0):
        x = self.features[rows]
        out = {"x": x}
        if labels is not None:
            out["y"] = labels
        if weights is not None:
            out["sample_weight"] = weights
        return out


def _pooled_vectors(pooled_model, x, batch_size=256):
    """Run ``pooled_model`` over ``x`` (an array or a list of arrays) in batches."""
    parts = x if isinstance(x, list) else [x]
    n = len(parts[0])
    out = [np.asarray(pooled_model.predict_on_batch([p[i : i + batch_size] for p in parts] if len(parts) > 1
                                                    else parts[0][i : i + batch_size]))
           for i in range(0, n, batch_size)]
    return np.concatenate(out)


class FrameInputs(Inputs):
    """Raw audio through the whole model (fine-tuning or partial freezing), framed in the graph.

    The clips of every cache row are held in memory (``(n_rows, n_samples)`` float32: 350 MB for EMO-DB's 535 files
    with two augmented copies) and the model that is fitted is ``ser(ClipFrames(clips))``: the saved ``ser`` model
    behind :class:`ser.layers.ClipFrames`, which builds the same frames as :func:`ser.data.clip_frames` in the graph.
    Exact (tested: same loss and gradients as the ``ser`` model on the framed batch), with a quarter of the bytes
    per batch and no disk reads during training. The training rows are fed by :func:`clip_batches` (a ``tf.data``
    pipeline gathering each batch from one tensor of the clips, a second in-memory copy of them), not by Keras'
    array adapter.

    With ``frame_stride`` > 1 (training only) :class:`ser.layers.StridedClipFrames` builds only every
    ``frame_stride``-th frame of each clip from a random phase, so each step runs the FINs on a quarter of the
    frames (stride 4: frames that tile the clip without overlap); validation, test and the saved model use every
    frame. Every FIN weight is still trained. The ``ser`` model is then built for any number of frames.
    """

    kind = "frames"
    _clips_tensor = None  # the clips as one tensor, made by the first labelled data() call

    def prepare(self, strategy):
        if self.config.get("speaker_norm"):
            raise SERError("speaker_norm needs fixed features: --freeze all (frozen FINs) or ser.baseline; with FINs "
                           "being trained the pooled vectors, and so each speaker's statistics, change every step")
        self.clips = self.cache.clips(np.arange(len(self.cache)))
        self._clips_tensor = None  # this run's clips: made again by the first labelled data() call

    def build(self, n_classes, seed):
        from ser.model import build_ser_model

        c, settings = self.config, self.cache.settings
        stride = int(c.get("frame_stride") or 1)
        model = build_ser_model(n_classes, fins=c["init"], family=c["fins"], freeze=c["freeze"],
                                n_frames=settings.n_frames if stride == 1 else None, pooling=c["pooling"],
                                head=c["head"], feature_norm=c["feature_norm"], mask_padding=c["mask_padding"],
                                compress=c["compress"], deltas=c["deltas"], temporal=c["temporal"],
                                front_end=c.get("front_end", "trainable"), seed=seed)
        return model, on_clips(model, settings.n_frames, settings.n_samples, stride, seed, name="ser_on_clips")

    def optimizer(self, model, config):
        """Adam at ``lr`` for the head, ``fin_lr_scale * lr`` for the FINs (:class:`ser.optim.ScaledAdam`)."""
        from ser.model import get_fins
        from ser.optim import ScaledAdam

        if (config.get("optimizer") or "adam") != "adam":
            raise SERError(f"fine-tuning FINs uses Adam with a FIN learning-rate scale; got optimizer {config['optimizer']!r}")
        paths = [v.path for fin in get_fins(model).values() for v in fin.trainable_weights]
        return ScaledAdam(scale=config.get("fin_lr_scale", 1.0), scaled_paths=paths, learning_rate=config["lr"]), []

    def example(self, rows):
        return self.clips[rows]

    def data(self, rows, labels=None, weights=None, shuffle=False, seed=0):
        """``fit``/``predict`` arguments: rows with labels (training with ``shuffle``, validation without) as a
        :func:`clip_batches` dataset in ``"x"``; rows without labels (to predict) as an array."""
        if labels is not None:
            if self._clips_tensor is None:  # once per run: every fold gathers from it
                import tensorflow as tf

                self._clips_tensor = tf.constant(self.clips)
            return {"x": clip_batches(self._clips_tensor, rows, labels, weights, self.config["batch_size"], seed,
                                      shuffle=shuffle)}
        return {"x": self.clips[rows]}


class FixedFrameInputs(Inputs):
    """Fixed per-frame features ``(n_frames, 162)`` of every clip, computed once; the classifier trained on them.

    The common code of frozen FINs (:class:`FINFeatureInputs`) and librosa's frame features
    (:class:`LibrosaFrameInputs`): the same frame masks, speaker normalisation and classifier
    (:func:`ser.model.build_classifier` with the run's pooling, compression, ``mask_padding``, ``feature_norm``,
    ``speaker_norm`` and head); a subclass says where the features come from (:meth:`frame_features`) and which
    model is saved (:meth:`build`).
    """

    def frame_features(self):
        """The per-frame features of every cache row: ``(len(cache), n_frames, 162)``."""
        raise NotImplementedError

    def prepare(self, strategy):
        self.features = self.frame_features()
        self.masks = self.cache.frame_masks(np.arange(len(self.cache))) if self.config["mask_padding"] else None
        self.speaker_norm = bool(self.config.get("speaker_norm"))
        if self.speaker_norm:  # pool once (mean/stats pooling and compression have no weights), then normalise
            from ser.model import pooled_model

            x = self.features if self.masks is None else [self.features, self.masks]
            self._normalise_by_speaker(_pooled_vectors(pooled_model(self.classifier(2)), x))

    def classifier(self, n_classes, seed=None):
        """The run's classifier on per-frame features (``ser.model.build_classifier``), named ``"classifier"``."""
        from ser.model import build_classifier

        c = self.config
        return build_classifier(n_classes, n_frames=self.cache.settings.n_frames, pooling=c["pooling"], head=c["head"],
                                feature_norm=c["feature_norm"], mask_padding=c["mask_padding"],
                                compress=c["compress"], speaker_norm=c.get("speaker_norm", False),
                                deltas=c.get("deltas", False), temporal=c.get("temporal", "none"), seed=seed)

    def example(self, rows):
        if self.speaker_norm:
            return self.features[rows]
        return self.features[rows] if self.masks is None else [self.features[rows], self.masks[rows]]

    def data(self, rows, labels=None, weights=None, shuffle=False, seed=0):
        out = super().data(rows, labels, weights, shuffle, seed)
        out["x"] = self.example(rows)
        return out


class FINFeatureInputs(FixedFrameInputs):
    """Frozen FINs: their per-frame outputs computed once; the classifier trained on them (exact shortcut)."""

    kind = "fin_features"

    def frame_features(self):
        from ser.model import build_fin_stack, build_shared_fin_stack, fin_digest, load_fins

        c = self.config
        fins = load_fins(c["init"], seed=c["seed"], family=c.get("fins", "closed-form"))
        self.digest = fin_digest(build_fin_stack(fins, self.cache.settings.n_frames))
        # computed with the FINs' layers in common once (the same outputs up to round-off, faster)
        shared = build_shared_fin_stack(fins, self.cache.settings.n_frames)
        return fin_features(self.cache, shared, self.digest, progress=self.progress)

    def build(self, n_classes, seed):
        from ser.model import build_ser_model, fin_digest, head_model

        c = self.config
        model = build_ser_model(n_classes, fins=c["init"], family=c.get("fins", "closed-form"), freeze="all",
                                n_frames=self.cache.settings.n_frames, pooling=c["pooling"], head=c["head"],
                                feature_norm=c["feature_norm"], mask_padding=c["mask_padding"], compress=c["compress"],
                                speaker_norm=c.get("speaker_norm", False), deltas=c.get("deltas", False),
                                temporal=c.get("temporal", "none"), seed=seed)
        digest = fin_digest(model.get_layer("fin_stack"))
        if digest != self.digest:  # the cached features must come from exactly these FINs
            raise SERError(f"the FINs of this fold (weights {digest}) differ from the cached features' ({self.digest})")
        classifier = model.get_layer("classifier")
        return model, head_model(classifier) if self.speaker_norm else classifier


class LibrosaFrameInputs(FixedFrameInputs):
    """The fair baseline: librosa's 162 features on every frame (:func:`ser.features.librosa_frame_features`),
    the classifier of frozen FINs trained on them; the saved model is that classifier (``ser.predict`` computes
    the frame features from the audio)."""

    kind = "librosa_frames"

    def frame_features(self):
        from ser.features import librosa_frame_features

        return librosa_frame_features(self.cache, progress=self.progress)

    def build(self, n_classes, seed):
        from ser.model import head_model

        classifier = self.classifier(n_classes, seed)
        return classifier, head_model(classifier) if self.speaker_norm else classifier


class ClipFeatureInputs(Inputs):
    """The baseline: librosa features averaged over each clip, the head alone."""

    kind = "clip_features"

    def prepare(self, strategy):
        from ser.features import librosa_features

        self.features = librosa_features(self.cache, progress=self.progress)
        self.speaker_norm = bool(self.config.get("speaker_norm"))
        if self.speaker_norm:
            from ser.model import build_feature_classifier, pooled_model

            model = build_feature_classifier(2, head=self.config["head"], compress=self.config["compress"],
                                             speaker_norm=True)
            self._normalise_by_speaker(_pooled_vectors(pooled_model(model), self.features))

    def build(self, n_classes, seed):
        from ser.model import build_feature_classifier, head_model

        c = self.config
        model = build_feature_classifier(n_classes, head=c["head"], feature_norm=c["feature_norm"],
                                         compress=c["compress"], speaker_norm=self.speaker_norm, seed=seed)
        return model, head_model(model) if self.speaker_norm else model
