"""Load-and-augment workers: the per-file step of every batch job that reads audio (the store build, the SER
clip cache), run in worker processes, in order.

:func:`load_copies` loads one file and makes its augmented copies; :func:`each_file` applies a per-file step to a
group of files, turning a failure into a reason instead of an exception (a bad file never stops a batch job);
:func:`ordered_map` runs groups in worker processes with bounded memory. Nothing here imports Keras or
TensorFlow, so the workers start quickly.
"""

from collections import deque
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from data_prep.audio import AudioError, load_audio
from data_prep.targets import FRAME_LENGTH, SR


def load_copies(path, augmenter, sr=SR, offset=0.0, duration=None):
    """One file loaded (:func:`data_prep.audio.load_audio`) and augmented: ``[(copy name, signal), ...]``.

    Parameters
    ----------
    path : str
    augmenter : data_prep.augment.Augmenter
        Its copies of the file (keyed by ``path``, so a file gets the same copies in every run).
    sr : int
    offset, duration : float or None
        As :func:`data_prep.audio.load_audio`.

    Raises
    ------
    AudioError
        The file cannot be loaded, or a copy is shorter than a frame or not finite.
    """
    y = load_audio(path, sr=sr, offset=offset, duration=duration)
    copies = []
    for name, signal in augmenter(y, sr, key=path):
        if len(signal) < FRAME_LENGTH or not np.all(np.isfinite(signal)):
            raise AudioError(f"augmentation {name!r} produced an unusable signal")
        copies.append((name, signal))
    return copies


def each_file(tasks, step):
    """``step(path)`` for each ``(index, path)`` of ``tasks``: ``[(index, result, None) or (index, None, reason)]``.

    A file whose step raises is reported with the reason (the :class:`AudioError` message, else the exception's
    type and message) and the others go on: a bad file never stops a batch job.

    Examples
    --------
    >>> each_file([(0, "a"), (1, "")], lambda path: path.upper() or 1 / 0)
    [(0, 'A', None), (1, None, 'failed to process (ZeroDivisionError: division by zero)')]
    """
    out = []
    for index, path in tasks:
        try:
            out.append((index, step(path), None))
        except AudioError as err:
            out.append((index, None, str(err)))
        except Exception as err:  # a bad file must never stop the batch
            out.append((index, None, f"failed to process ({type(err).__name__}: {err})"))
    return out


def ordered_map(fn, groups, workers, **kwargs):
    """Yield ``fn(group, **kwargs)`` for every group, in order, at most ``2 * workers`` groups in flight.

    ``workers <= 1`` runs in this process. Worker processes are *spawned*, never forked: the callers (``fin.train``
    building the demo store, ``experiments.demo``, the SER training) may already hold TensorFlow's thread pools,
    and a child forked from a multi-threaded process can deadlock on a lock another thread held at the fork.
    Spawning costs each worker its imports once (about a second: numpy, librosa, audiomentations), small beside
    the groups it loads. ``fn`` must be a module-level function.

    Examples
    --------
    >>> list(ordered_map(sum, [[1, 2], [3]], workers=1))
    [3, 3]
    """
    if workers <= 1:
        for group in groups:
            yield fn(group, **kwargs)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = deque()
        for group in groups:
            pending.append(pool.submit(fn, group, **kwargs))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
