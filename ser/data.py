"""Clips for SER: loaded, cut or padded, augmented, cached on disk, framed.

A *clip* is what the seed fed its model: ``librosa.load(path, sr=22050, offset=0.6, duration=2.5)``, here cut or
zero-padded at the end to exactly ``round(duration * sr)`` samples (:class:`ClipSettings`). Framing centres the
clip as librosa's ``center=True`` does, with zeros (``frame_length // 2`` on each side), and cuts 2048-sample
frames every 512 samples, which gives the seed's 108 frames for 2.5 s (``1 + n_samples // 512``).

:func:`build_clip_cache` loads every file once (in parallel), makes the augmented copies (the seed's by default,
:class:`data_prep.augment.Augmenter`) and writes all clips into one HDF5 file keyed by the corpus files and the
clip settings, so folds and later runs never reload audio. Files that cannot be loaded are skipped and listed.
Which copies a fold uses is decided by the caller: originals for validation and test, originals and copies for
training. The cache holds clips, not frames (frames overlap four times); :meth:`ClipCache.frames` frames the rows
asked for.

Nothing here imports Keras or TensorFlow, so the loading workers start quickly.
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from data_prep.augment import SEED_AUGMENTATION, Augmenter
from data_prep.corpora import Utterance
from data_prep.errors import DataPrepError
from data_prep.targets import FRAME_LENGTH, HOP_LENGTH, SR
from data_prep.workers import each_file, load_copies, ordered_map
from ser.errors import SERError

#: Bump when the cache layout or the clip computation changes: old caches are then ignored.
CACHE_VERSION = 1
#: Files handed to a loading worker at once.
_GROUP = 8


@dataclass(frozen=True)
class ClipSettings:
    """How a clip is cut from a file.

    Attributes
    ----------
    offset : float
        Seconds skipped at the start of the file (the seed's 0.6).
    duration : float
        Seconds kept (the seed's 2.5); shorter files are zero-padded at the end.
    sr : int
        Sample rate (22,050 Hz throughout the toolkit).

    Examples
    --------
    >>> ClipSettings().n_samples, ClipSettings().n_frames
    (55125, 108)
    >>> ClipSettings(duration=0.6).n_frames
    26
    """

    offset: float = 0.6
    duration: float = 2.5
    sr: int = SR

    def __post_init__(self):
        if not (isinstance(self.offset, (int, float)) and self.offset >= 0):
            raise SERError(f"clip offset {self.offset!r} is not valid; expected a number of seconds >= 0")
        if not (isinstance(self.duration, (int, float)) and self.duration * self.sr >= FRAME_LENGTH):
            raise SERError(f"clip duration {self.duration!r} is not valid; expected at least "
                           f"{FRAME_LENGTH / self.sr:.3f} s (one {FRAME_LENGTH}-sample frame)")

    @property
    def n_samples(self):
        """Samples per clip."""
        return int(round(self.duration * self.sr))

    @property
    def n_frames(self):
        """Frames per clip: ``1 + n_samples // 512``."""
        return 1 + self.n_samples // HOP_LENGTH

    def to_dict(self):
        """The settings and the derived sizes, for configs and model folders."""
        return {**asdict(self), "n_samples": self.n_samples, "n_frames": self.n_frames,
                "frame_length": FRAME_LENGTH, "hop_length": HOP_LENGTH}


def fit_clip(y, n_samples):
    """Cut ``y`` to ``n_samples`` or zero-pad it at the end.

    Returns
    -------
    clip : np.ndarray [shape=(n_samples,), dtype=float32]
    length : int
        Samples of ``y`` in the clip (the rest is padding).

    Examples
    --------
    >>> clip, length = fit_clip(np.ones(3), 5)
    >>> clip.tolist(), length
    ([1.0, 1.0, 1.0, 0.0, 0.0], 3)
    """
    y = np.asarray(y, dtype=np.float32)
    length = min(len(y), n_samples)
    clip = np.zeros(n_samples, dtype=np.float32)
    clip[:length] = y[:length]
    return clip, length


def clip_frames(clips, n_frames=None):
    """Frames of clips, centred with zeros as librosa's ``center=True``.

    Parameters
    ----------
    clips : np.ndarray [shape=(..., n_samples)]
    n_frames : int or None
        Frames to return (default ``1 + n_samples // 512``, all of them).

    Returns
    -------
    frames : np.ndarray [shape=(..., n_frames, 2048), dtype=float32]
        A contiguous copy.

    Examples
    --------
    >>> clip_frames(np.zeros((4, 55125))).shape
    (4, 108, 2048)
    """
    clips = np.asarray(clips, dtype=np.float32)
    n_frames = 1 + clips.shape[-1] // HOP_LENGTH if n_frames is None else int(n_frames)
    half = FRAME_LENGTH // 2
    needed = FRAME_LENGTH + (n_frames - 1) * HOP_LENGTH
    padded = np.zeros((*clips.shape[:-1], needed), dtype=np.float32)
    keep = min(clips.shape[-1], needed - half)
    padded[..., half : half + keep] = clips[..., :keep]
    windows = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LENGTH, axis=-1)[..., ::HOP_LENGTH, :]
    return np.ascontiguousarray(windows[..., :n_frames, :])


def frame_mask(frames):
    """``True`` for each frame holding any non-zero sample: ``(..., n_frames, 2048) -> (..., n_frames)``.

    The numpy twin of :class:`ser.layers.FrameMask`.
    """
    return np.any(np.asarray(frames) != 0, axis=-1)


def default_cache_dir():
    """``$FIN_CACHE_DIR/ser`` if set, else ``~/.cache/fin-toolkit/ser``."""
    base = os.environ.get("FIN_CACHE_DIR")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "fin-toolkit") / "ser"


def _file_stamp(path):
    try:
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return None


def cache_key(utterances, settings, augmentation, seed):
    """Hash of everything a clip cache depends on: files (path, size, mtime), labels, clip settings, copies."""
    payload = {
        "version": CACHE_VERSION,
        "settings": asdict(settings),
        "augmentation": augmentation,
        "seed": int(seed),
        "files": [[u.path, u.corpus, u.speaker, u.emotion, u.label, _file_stamp(u.path)] for u in utterances],
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _load_group(tasks, settings, augmentation, seed):
    """Worker: ``[(index, path)] -> [(index, [(copy, clip, length)], None) or (index, None, reason)]``."""
    augmenter = Augmenter(augmentation, seed=seed)
    n_samples = int(round(settings["duration"] * settings["sr"]))

    def clips(path):
        copies = load_copies(path, augmenter, settings["sr"], settings["offset"], settings["duration"])
        return [(name, *fit_clip(signal, n_samples)) for name, signal in copies]

    return each_file(tasks, clips)


class ClipCache:
    """A clip cache file, open for reading.

    Attributes
    ----------
    path : Path
    utterances : list of Utterance
        The files that loaded, in the order given to :func:`build_clip_cache`; row ``source`` values index it.
    skipped : list of dict
        ``{"path", "corpus", "reason"}`` of each file that did not load.
    copies : list of str
        Copy names, ``"original"`` first.
    settings : ClipSettings
    source : np.ndarray [shape=(n_rows,), dtype=int]
        Utterance index of each row.
    copy : np.ndarray [shape=(n_rows,), dtype=str]
        Copy name of each row.
    lengths : np.ndarray [shape=(n_rows,), dtype=int]
        Samples of audio in each clip (the rest is zero padding).
    """

    def __init__(self, path):
        import h5py

        self.path = Path(path)
        try:
            self._file = h5py.File(self.path, "r")
            meta = json.loads(self._file.attrs["meta"])
        except (OSError, KeyError, ValueError) as err:
            raise SERError(f"cannot read clip cache {self.path}: {err}") from err
        self.utterances = [Utterance(*row) for row in meta["utterances"]]
        self.skipped = meta["skipped"]
        self.copies = meta["copies"]
        self.settings = ClipSettings(**meta["settings"])
        self.key = meta["key"]
        self.source = self._file["source"][:]
        self.copy = np.array([self.copies[i] for i in self._file["copy"][:]], dtype=object)
        self.lengths = self._file["length"][:]
        self._clips = self._file["clips"]

    def __len__(self):
        return len(self.source)

    def rows(self, utterance_indices, copies=("original",)):
        """Sorted row numbers of the given utterances' copies (names in ``copies``)."""
        wanted = np.isin(self.source, np.asarray(utterance_indices, dtype=int)) & np.isin(self.copy, list(copies))
        return np.flatnonzero(wanted)

    def clips(self, rows):
        """The clips of ``rows`` (any order), ``(len(rows), n_samples)`` float32, read from disk."""
        rows = np.asarray(rows, dtype=int)
        if rows.size == 0:
            return np.zeros((0, self.settings.n_samples), np.float32)
        order = np.argsort(rows, kind="stable")
        unique, inverse = np.unique(rows[order], return_inverse=True)
        block = self._clips[unique]  # h5py wants increasing, unique indices
        out = np.empty((len(rows), block.shape[1]), dtype=np.float32)
        out[order] = block[inverse]
        return out

    def frames(self, rows):
        """The framed clips of ``rows``: ``(len(rows), n_frames, 2048)`` float32."""
        return clip_frames(self.clips(rows), self.settings.n_frames)

    def frame_masks(self, rows, block=64):
        """:func:`frame_mask` of the framed clips of ``rows``: ``(len(rows), n_frames)`` float32."""
        rows = np.asarray(rows, dtype=int)
        out = np.zeros((len(rows), self.settings.n_frames), dtype=np.float32)
        for start in range(0, len(rows), block):
            out[start : start + block] = frame_mask(self.frames(rows[start : start + block]))
        return out

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build_clip_cache(utterances, settings=None, augmentation=None, seed=0, cache_dir=None, workers=None,
                     progress=False, log=None):
    """Load, augment and cache every clip, or open the cache made before with the same inputs.

    Parameters
    ----------
    utterances : list of Utterance
    settings : ClipSettings or None
        Default: the seed's (offset 0.6 s, duration 2.5 s).
    augmentation : dict or None
        Copy name -> transforms (:class:`data_prep.augment.Augmenter`); ``None``: the seed's noise and
        stretch+pitch copies; ``{}``: originals only.
    seed : int
        Seeds the augmentation (per file).
    cache_dir : str or Path or None
        Default :func:`default_cache_dir`.
    workers : int or None
        Loading processes (default: all cores).
    progress : bool
        Show a progress bar.
    log : callable or None
        Called with one line of text when a cache is built.

    Returns
    -------
    cache : ClipCache

    Raises
    ------
    SERError
        If no file loads.
    """
    import h5py
    from tqdm import tqdm

    settings = settings or ClipSettings()
    augmentation = SEED_AUGMENTATION if augmentation is None else augmentation
    try:
        copies = Augmenter(augmentation, seed=seed).names  # checks the config before any work
    except DataPrepError as err:
        raise SERError(str(err)) from err
    if not utterances:
        raise SERError("no utterances to load")
    key = cache_key(utterances, settings, augmentation, seed)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache_dir / f"clips-{key}.h5"
    if path.is_file():
        try:
            return ClipCache(path)
        except SERError:
            path.unlink(missing_ok=True)  # a damaged cache is rebuilt
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    workers = max(1, int(workers or os.cpu_count() or 1))
    tasks = [(i, u.path) for i, u in enumerate(utterances)]
    groups = [tasks[i : i + _GROUP] for i in range(0, len(tasks), _GROUP)]
    loaded, skipped = [], []
    n = settings.n_samples
    if log:
        log(f"caching {len(utterances)} files x {len(copies)} copies ({settings.duration} s from {settings.offset} s) "
            f"in {path}")
    try:
        with h5py.File(tmp, "w") as h5:
            clips = h5.create_dataset("clips", (0, n), maxshape=(None, n), dtype="float32", chunks=(1, n))
            source, copy, length = [], [], []
            bar = tqdm(total=len(tasks), unit="file", desc="loading clips", disable=not progress)
            for results in ordered_map(_load_group, groups, workers, settings=asdict(settings),
                                        augmentation=augmentation, seed=seed):
                for index, made, reason in results:
                    u = utterances[index]
                    if made is None:
                        skipped.append({"path": u.path, "corpus": u.corpus, "reason": reason})
                    else:
                        start = clips.shape[0]
                        clips.resize(start + len(made), axis=0)
                        clips[start:] = np.stack([clip for _, clip, _ in made])
                        source += [len(loaded)] * len(made)
                        copy += [copies.index(name) for name, _, _ in made]
                        length += [ln for _, _, ln in made]
                        loaded.append(u)
                    bar.update(1)
            bar.close()
            if not loaded:
                reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3])
                raise SERError(f"none of the {len(utterances)} files could be loaded ({reasons})")
            h5.create_dataset("source", data=np.asarray(source, dtype=np.int32))
            h5.create_dataset("copy", data=np.asarray(copy, dtype=np.int8))
            h5.create_dataset("length", data=np.asarray(length, dtype=np.int32))
            meta = {"key": key, "settings": asdict(settings), "copies": copies, "augmentation": augmentation,
                    "utterances": [[u.path, u.corpus, u.speaker, u.emotion, u.label] for u in loaded],
                    "skipped": skipped}
            h5.attrs["meta"] = json.dumps(meta)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ClipCache(path)


def derived_cache_path(cache, name):
    """Where a cache derived from ``cache`` lives (FIN outputs, librosa features): beside it, named by ``name``."""
    return cache.path.with_name(f"{cache.path.stem}.{name}.h5")


def write_array_cache(path, array, meta=None):
    """Write ``array`` to ``path`` (HDF5, dataset ``data``) atomically."""
    import h5py

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("data", data=array)
            h5.attrs["meta"] = json.dumps(meta or {})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_array_cache(path):
    """The array written by :func:`write_array_cache`, or ``None`` if absent or unreadable."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return h5["data"][:]
    except (OSError, KeyError):
        return None
