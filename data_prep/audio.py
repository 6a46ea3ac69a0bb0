"""Loading audio as the toolkit sees it: mono, 22,050 Hz, float32, finite, at least one frame long."""

import warnings

import librosa
import numpy as np
import soundfile

from data_prep.targets import FRAME_LENGTH, SR


class AudioError(Exception):
    """A file that cannot enter the store; ``str(err)`` is the reason, the caller knows the path."""


def load_audio(path, sr=SR, offset=0.0, duration=None, min_samples=FRAME_LENGTH):
    """Load a file as mono float32 at ``sr`` Hz, downmixing and resampling as needed.

    libsndfile (through soundfile) reads WAV, FLAC, OGG, AIFF and MP3 by their content, not their
    name, so AIFF data under a ``.wav`` name loads; anything else falls back to librosa's audioread path.

    Parameters
    ----------
    path : str or Path
    sr : int
        Target sample rate.
    offset, duration : float
        Seconds to skip, and seconds to keep (``None``: to the end), as ``librosa.load``.
    min_samples : int
        Shortest acceptable result, after offset and duration.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]

    Raises
    ------
    AudioError
        Unreadable, empty, non-finite or too short; the message says which.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # audioread fallback and resampler chatter
            y, _ = librosa.load(path, sr=sr, mono=True, offset=offset, duration=duration, dtype=np.float32)
    except librosa.util.exceptions.ParameterError as err:
        if "not finite" in str(err):  # librosa refuses NaN/Inf while downmixing or resampling
            raise AudioError("non-finite samples (NaN or Inf)") from None
        raise AudioError(f"unreadable audio ({err})") from None
    except (soundfile.LibsndfileError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise AudioError(f"unreadable audio ({type(err).__name__}: {err})".replace("\n", " ")) from None
    except Exception as err:  # audioread raises its own NoBackendError, among others
        raise AudioError(f"unreadable audio ({type(err).__name__}: {err})".replace("\n", " ")) from None
    if y.size == 0:
        raise AudioError("empty audio (no samples" + (f" after offset {offset} s" if offset else "") + ")")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"non-finite samples (NaN or Inf) in {int(np.sum(~np.isfinite(y)))} of {y.size} samples")
    if y.size < min_samples:
        raise AudioError(f"too short: {y.size} samples at {sr} Hz, need at least {min_samples} (one frame)")
    return y
