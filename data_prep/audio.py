"""Loading audio as the toolkit sees it: mono, 22,050 Hz, float32, finite, at least one frame long.

A file that cannot be loaded gets a reason a user can act on: what the path is when it is no regular file
(a folder, a FIFO, a device, a broken link: never opened, so a FIFO cannot hang a build), an empty file, text
or other bytes that are no audio format, or a damaged file of a known format.
"""

import os
import stat
import warnings

import librosa
import numpy as np

from data_prep.errors import ToolkitError
from data_prep.targets import FRAME_LENGTH, SR


class AudioError(ToolkitError):
    """A file that cannot enter the store; ``str(err)`` is the reason, the caller knows the path."""


#: Leading bytes of the formats libsndfile and audioread read -> the format's name.
_MAGIC = (
    (b"RIFF", "WAV"), (b"RIFX", "WAV"), (b"RF64", "WAV"), (b"fLaC", "FLAC"), (b"OggS", "OGG"), (b"FORM", "AIFF"),
    (b"ID3", "MP3"), (b"\xff\xfb", "MP3"), (b"\xff\xf3", "MP3"), (b"\xff\xf2", "MP3"), (b".snd", "AU"),
    (b"caff", "CAF"), (b"wvpk", "WavPack"),
)
#: What the toolkit reads, for messages.
EXPECTED_FORMATS = "WAV, FLAC, OGG, AIFF or MP3"


def path_problem(path):
    """Why ``path`` is not a readable regular file, or ``None`` if it is one (symbolic links followed).

    Examples
    --------
    >>> path_problem("/definitely/missing.wav")
    'file not found'
    >>> path_problem("/dev/null")
    'not a regular file: a character device'
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return "file not found"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a file")
    return f"not a regular file: {kind}"


def sniff_format(path, n=64):
    """The audio format that the first bytes of ``path`` announce, or ``None``; and those bytes."""
    with open(path, "rb") as f:
        head = f.read(n)
    if head[4:8] == b"ftyp":
        return "MP4/M4A", head
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name, head
    return None, head


def _content_problem(path, err):
    """The reason a regular, non-empty file failed to decode: no audio at all, or a damaged file of a known format."""
    detail = f"{type(err).__name__}: {err}".strip().rstrip(":").replace("\n", " ")
    try:
        fmt, head = sniff_format(path)
    except OSError as read_err:
        return f"cannot be read ({read_err.strerror or read_err})"
    if fmt is not None:
        return f"damaged or unsupported {fmt} file: its header says {fmt} but it does not decode ({detail})"
    text = head.replace(b"\r", b"").replace(b"\n", b"").replace(b"\t", b"")
    if text and all(32 <= b < 127 for b in text):
        return (f"a text file, not audio (starts with {head[:24].decode('ascii', 'replace')!r}); "
                f"expected {EXPECTED_FORMATS}")
    return (f"not audio: its bytes ({head[:8].hex(' ')}) are no audio format the toolkit reads; "
            f"expected {EXPECTED_FORMATS}")


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
        Not a regular file, empty, not audio, damaged, non-finite or too short; the message says which.
    """
    problem = path_problem(path)  # before opening: a FIFO would block, a folder fails obscurely
    if problem:
        raise AudioError(problem)
    if os.path.getsize(path) == 0:
        raise AudioError(f"empty file (0 bytes); expected {EXPECTED_FORMATS} audio")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # audioread fallback and resampler chatter
            y, _ = librosa.load(path, sr=sr, mono=True, offset=offset, duration=duration, dtype=np.float32)
    except librosa.util.exceptions.ParameterError as err:
        if "not finite" in str(err):  # librosa refuses NaN/Inf while downmixing or resampling
            raise AudioError("non-finite samples (NaN or Inf)") from err
        raise AudioError(f"unreadable audio: {_content_problem(path, err)}") from err
    except Exception as err:  # soundfile, audioread (NoBackendError), EOFError, OSError, ...
        raise AudioError(f"unreadable audio: {_content_problem(path, err)}") from err
    if y.size == 0:
        raise AudioError("empty audio (no samples" + (f" after offset {offset} s" if offset else "") + ")")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"non-finite samples (NaN or Inf) in {int(np.sum(~np.isfinite(y)))} of {y.size} samples")
    if y.size < min_samples:
        raise AudioError(f"too short: {y.size} samples at {sr} Hz, need at least {min_samples} (one frame)")
    return y
