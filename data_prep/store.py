"""The HDF5 frame store: framed audio with per-frame librosa targets, and its reader.

Layout (h5py, chunked, LZF-compressed, each chunk with a Fletcher-32 checksum, so damage is detected on reading)::

    /                            attrs: format, format_version, sample_rate, frame_length, hop_length,
                                        target_set, features, feature_dims, librosa_version,
                                        config (JSON, the resolved build config), summary (JSON)
    /files/{path, corpus, speaker, emotion, label, split, augmentation}   one row per stored signal
    /files/{source, n_frames, first_frame}                                 (an augmented copy is its own row;
                                                                           ``source`` numbers the original file)
    /splits/<split>/audio            float32 (n_samples,)   the split's signals, one after another
    /splits/<split>/frame_offset     int64   (n_frames,)    where each frame starts in ``audio``
    /splits/<split>/file             int32   (n_frames,)    row of ``/files`` each frame comes from
    /splits/<split>/targets/<feature> float32 (n_frames, dim)

Frames overlap by three quarters (2048 samples, hop 512), so the store keeps each signal once and cuts
frames on reading: a quarter of the size of storing frames, which matters at a million frames (2 GB
instead of 8 GB). :meth:`FrameStore.frames` returns exactly the frames the targets were computed on.
"""

import json
from pathlib import Path

import h5py
import numpy as np

from data_prep.errors import DataPrepError
from data_prep.targets import FEATURE_DIMS, FEATURES, FRAME_LENGTH, HOP_LENGTH, SR

FORMAT = "fin-frame-store"
FORMAT_VERSION = 1
FILE_STRING_FIELDS = ("path", "corpus", "speaker", "emotion", "label", "split", "augmentation")
FILE_INT_FIELDS = ("source", "n_frames", "first_frame")
_AUDIO_CHUNK = 1 << 16
_FRAME_CHUNK = 4096
_STR = h5py.string_dtype("utf-8")


def _dataset(group, name, shape, dtype, chunks):
    return group.create_dataset(
        name, shape=shape, maxshape=(None,) + shape[1:], dtype=dtype, chunks=chunks, compression="lzf", fletcher32=True,
        track_times=False,
    )


def _append(dataset, values):
    start = dataset.shape[0]
    dataset.resize(start + len(values), axis=0)
    dataset[start:] = values
    return start


class StoreWriter:
    """Appends signals with their per-frame targets to a new store; used by :mod:`data_prep.build`.

    Appends are buffered per split and written a few thousand frames at a time. Write to a temporary
    path and rename when :meth:`close` has returned: the build does that, so a store at its final path
    is always complete.
    """

    def __init__(self, path, splits, target_set, flush_frames=_FRAME_CHUNK):
        self.h5 = h5py.File(path, "w", track_order=True)
        self.target_set = target_set
        self.flush_frames = flush_frames
        self.rows = {f: [] for f in FILE_STRING_FIELDS + FILE_INT_FIELDS}
        self.datasets, self.pending, self.sizes = {}, {}, {}
        for split in splits:
            g = self.h5.create_group(f"splits/{split}")
            ds = {
                "audio": _dataset(g, "audio", (0,), np.float32, (_AUDIO_CHUNK,)),
                "frame_offset": _dataset(g, "frame_offset", (0,), np.int64, (_FRAME_CHUNK,)),
                "file": _dataset(g, "file", (0,), np.int32, (_FRAME_CHUNK,)),
            }
            for feature in FEATURES:
                dim = FEATURE_DIMS[feature]
                ds[feature] = _dataset(g, f"targets/{feature}", (0, dim), np.float32, (max(256, _FRAME_CHUNK * 16 // dim), dim))
            self.datasets[split] = ds
            self.pending[split] = {name: [] for name in ds}
            self.sizes[split] = {"audio": 0, "frames": 0, "pending_frames": 0}

    def add(self, split, signal, targets, **meta):
        """Append one signal of ``split`` and its targets; ``meta`` holds the per-file string fields and ``source``."""
        n_frames = len(targets[FEATURES[0]])
        if len(signal) < FRAME_LENGTH + (n_frames - 1) * HOP_LENGTH:
            raise DataPrepError(f"signal of {len(signal)} samples is too short for {n_frames} frames")
        row = len(self.rows["path"])
        size, pending = self.sizes[split], self.pending[split]
        pending["audio"].append(np.asarray(signal, dtype=np.float32))
        pending["frame_offset"].append(size["audio"] + HOP_LENGTH * np.arange(n_frames, dtype=np.int64))
        pending["file"].append(np.full(n_frames, row, dtype=np.int32))
        for feature in FEATURES:
            pending[feature].append(np.asarray(targets[feature], dtype=np.float32))
        for field in FILE_STRING_FIELDS:
            self.rows[field].append(split if field == "split" else str(meta[field]))
        self.rows["source"].append(int(meta["source"]))
        self.rows["n_frames"].append(n_frames)
        self.rows["first_frame"].append(size["frames"])
        size["audio"] += len(signal)
        size["frames"] += n_frames
        size["pending_frames"] += n_frames
        if size["pending_frames"] >= self.flush_frames:
            self._flush(split)
        return row

    def _flush(self, split):
        for name, parts in self.pending[split].items():
            if parts:
                _append(self.datasets[split][name], np.concatenate(parts))
                parts.clear()
        self.sizes[split]["pending_frames"] = 0

    def close(self, config, summary):
        """Write the per-file table and the attributes, then close the file."""
        import librosa

        for split in self.datasets:
            self._flush(split)
        files = self.h5.create_group("files")
        for field in FILE_STRING_FIELDS:
            files.create_dataset(field, data=np.array(self.rows[field], dtype=object), dtype=_STR, track_times=False)
        for field in FILE_INT_FIELDS:
            files.create_dataset(field, data=np.array(self.rows[field], dtype=np.int64), track_times=False)
        attrs = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "sample_rate": SR,
            "frame_length": FRAME_LENGTH,
            "hop_length": HOP_LENGTH,
            "target_set": self.target_set,
            "features": json.dumps(list(FEATURES)),
            "feature_dims": json.dumps(FEATURE_DIMS),
            "librosa_version": librosa.__version__,
            "config": json.dumps(config, sort_keys=True),
            "summary": json.dumps(summary, sort_keys=True),
        }
        self.h5.attrs.update(attrs)
        self.h5.close()

    def abort(self):
        try:
            self.h5.close()
        except Exception:
            pass


def is_store(path):
    """Whether ``path`` is a file holding a frame store (an HDF5 file whose ``format`` attribute is ours).

    Examples
    --------
    >>> is_store(__file__)
    False
    """
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as h5:
            return h5.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return False


class _ReadErrors:
    """Turns an h5py read error (a damaged chunk, a truncated file) into one :class:`DataPrepError`."""

    def __init__(self, store, name):
        self.store, self.name = store, name

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is not None and issubclass(kind, (OSError, RuntimeError, KeyError)) and not issubclass(kind, DataPrepError):
            detail = str(err).replace("\n", " ")
            raise DataPrepError(f"store {self.store} is damaged: reading dataset /{self.name.lstrip('/')} failed "
                                f"({type(err).__name__}: {detail}); rebuild it with data_prep.build "
                                f"(python -m data_prep.inspect {self.store} --verify lists every damaged dataset)") from err
        return False


def _as_index(idx, n):
    """Normalise an index (None, int, slice, sequence) into a 1-D int64 array within ``[0, n)``."""
    if idx is None:
        return np.arange(n)
    if isinstance(idx, slice):
        return np.arange(n)[idx]
    arr = np.atleast_1d(np.asarray(idx))
    if arr.dtype == bool:
        arr = np.flatnonzero(arr)
    arr = arr.astype(np.int64)
    arr = np.where(arr < 0, arr + n, arr)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise DataPrepError(f"frame index out of range: the split has {n} frames, got indices {arr.min()}..{arr.max()}")
    return arr


def read_rows(dataset, idx):
    """``dataset[idx]`` for any index array: contiguous ranges in one read, else sorted unique rows."""
    idx = _as_index(idx, dataset.shape[0])
    if idx.size == 0:
        return np.zeros((0,) + dataset.shape[1:], dtype=dataset.dtype)
    lo, hi = int(idx.min()), int(idx.max()) + 1
    if hi - lo <= 4 * idx.size:  # dense enough: one slab read
        return dataset[lo:hi][idx - lo]
    unique, inverse = np.unique(idx, return_inverse=True)
    return dataset[unique][inverse]


class FrameStore:
    """Read access to a frame store; open with :func:`open_store`.

    Attributes
    ----------
    splits : list of str
    meta : dict
        The store's attributes, with ``config``, ``summary``, ``features`` and ``feature_dims`` decoded.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataPrepError(f"no store at {self.path}: expected an HDF5 file written by data_prep.build")
        try:
            self.h5 = h5py.File(self.path, "r")
        except OSError as err:
            raise DataPrepError(f"{self.path} is not a readable HDF5 store ({err})") from err
        if self.h5.attrs.get("format") != FORMAT:
            self.h5.close()
            raise DataPrepError(f"{self.path} is not a {FORMAT} (written by data_prep.build)")
        meta = dict(self.h5.attrs)
        for key in ("config", "summary", "features", "feature_dims"):
            meta[key] = json.loads(meta[key])
        self.meta = {k: v.item() if isinstance(v, np.generic) else v for k, v in meta.items()}
        self.splits = list(self.h5["splits"])
        self._files = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.h5.close()

    def _split(self, split):
        if split not in self.splits:
            raise DataPrepError(f"{self.path} has no split {split!r}; it has {', '.join(self.splits) or 'none'}")
        return self.h5["splits"][split]

    @property
    def files(self):
        """The per-file table: field name -> np.ndarray, one row per stored signal (original or copy)."""
        if self._files is None:
            g = self.h5["files"]
            with _ReadErrors(self.path, g.name):
                self._files = {k: g[k].asstr()[()] if k in FILE_STRING_FIELDS else g[k][()] for k in g}
        return self._files

    def num_frames(self, split):
        """Number of frames in ``split``."""
        return self._split(split)["frame_offset"].shape[0]

    def frames(self, split, idx=None):
        """Frames of ``split`` at ``idx`` (int, slice, index array; None: all).

        Returns
        -------
        frames : np.ndarray [shape=(n, 2048), dtype=float32]
        """
        g = self._split(split)
        with _ReadErrors(self.path, g["frame_offset"].name):
            offsets = read_rows(g["frame_offset"], idx)
        if offsets.size == 0:
            return np.zeros((0, FRAME_LENGTH), np.float32)
        lo, hi = int(offsets.min()), int(offsets.max()) + FRAME_LENGTH
        with _ReadErrors(self.path, g["audio"].name):
            if hi - lo <= 2 * FRAME_LENGTH * offsets.size:  # neighbouring frames: one read, cut in memory
                audio = g["audio"][lo:hi]
                windows = np.lib.stride_tricks.sliding_window_view(audio, FRAME_LENGTH)
                return np.ascontiguousarray(windows[offsets - lo])
            return np.stack([g["audio"][o : o + FRAME_LENGTH] for o in offsets])

    def targets(self, split, feature, idx=None):
        """Targets of ``feature`` (rms, zcr, chroma, mfcc, mel) for frames of ``split`` at ``idx``.

        Returns
        -------
        targets : np.ndarray [shape=(n, dim), dtype=float32]
        """
        if feature not in FEATURES:
            raise DataPrepError(f"unknown feature {feature!r}; expected one of {', '.join(FEATURES)}")
        dataset = self._split(split)[f"targets/{feature}"]
        with _ReadErrors(self.path, dataset.name):
            return read_rows(dataset, idx)

    def file_index(self, split, idx=None):
        """Row of :attr:`files` that each frame of ``split`` at ``idx`` comes from."""
        dataset = self._split(split)["file"]
        with _ReadErrors(self.path, dataset.name):
            return read_rows(dataset, idx)

    def summary(self):
        """The build summary (the same as the JSON beside the store)."""
        return self.meta["summary"]

    def verify(self):
        """Read every chunk of every dataset; returns the problems found, one line each (empty: the store is sound).

        Plain opening reads only the attributes, so a damaged data chunk shows only when it is read: this reads
        them all (the whole store, chunk by chunk, in bounded memory).
        """
        problems, datasets = [], []
        self.h5.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        for ds in datasets:
            if ds.size == 0:
                continue
            try:
                if ds.chunks is None:
                    ds[()]
                else:
                    for chunk in ds.iter_chunks():
                        ds[chunk]
            except (OSError, RuntimeError, ValueError) as err:
                problems.append(f"dataset {ds.name}: {type(err).__name__}: {str(err).replace(chr(10), ' ')}")
        for split in self.splits:
            try:
                n_audio = self._split(split)["audio"].shape[0]
                offsets = self._split(split)["frame_offset"]
                if offsets.shape[0] and int(offsets[-1]) + FRAME_LENGTH > n_audio:
                    problems.append(f"split {split}: frames reach past the end of its audio ({n_audio} samples)")
                for feature in self.meta["features"]:
                    n = self._split(split)[f"targets/{feature}"].shape[0]
                    if n != offsets.shape[0]:
                        problems.append(f"split {split}: {n} {feature} targets for {offsets.shape[0]} frames")
            except (OSError, RuntimeError, KeyError) as err:
                problems.append(f"split {split}: {type(err).__name__}: {err}")
        return problems


def open_store(path):
    """Open a frame store for reading.

    Examples
    --------
    >>> s = open_store("store.h5")                       # doctest: +SKIP
    >>> s.splits, s.num_frames("train")                  # doctest: +SKIP
    (['train', 'val', 'test'], 61234)
    >>> s.frames("train", slice(0, 8)).shape             # doctest: +SKIP
    (8, 2048)
    >>> s.targets("train", "mfcc", [3, 1, 2]).shape      # doctest: +SKIP
    (3, 20)
    """
    return FrameStore(path)
