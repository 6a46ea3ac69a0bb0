"""Corpus loaders: speaker and emotion parsed from each corpus's original file names and layout.

One registry, :data:`CORPORA`, maps a corpus name to its :class:`Corpus` (name, one-line description,
loader). :func:`discover` walks a corpus folder and returns one :class:`Utterance` per audio file it can
label and one :class:`Skipped` per audio file it cannot. Nothing here opens an audio file: reading and
validating the audio happens downstream, so a loader depends on the file *name* only, never on its
extension, sample rate or format. The layouts, as distributed (``<root>`` is the folder you pass)::

    crema_d   <root>/AudioWAV/1001_DFA_ANG_XX.wav
              speaker _ sentence _ emotion _ level; emotion ANG DIS FEA HAP NEU SAD
    ravdess   <root>/Actor_01/03-01-05-02-01-01-01.wav
              seven 2-digit fields; field 3 is the emotion (01 neutral, 02 calm, 03 happy, 04 sad,
              05 angry, 06 fearful, 07 disgust, 08 surprised), field 7 the actor (the speaker)
    savee     <root>/ALL/DC_a01.wav  or  <root>/AudioData/DC/a01.wav (speaker from the folder)
              codes a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise
    tess      <root>/OAF_angry/OAF_back_angry.wav
              speaker _ word _ emotion (angry disgust fear happy neutral ps sad; ps = pleasant
              surprise); when the last token is no emotion, the folder name (``YAF_pleasant_surprised``)
    esd       <root>/0011/Angry/0011_000351.wav  (optionally .../Angry/train/0011_000351.wav)
              speaker from the file name prefix (or a numeric folder), emotion from the emotion folder
              (Angry Happy Neutral Sad Surprise); Mandarin 0001-0010 and English 0011-0020 alike
    emodb     <root>/wav/03a01Fa.wav
              speaker (2 digits), text (3 chars), emotion letter (W anger, L boredom, E disgust,
              A fear, F happiness, T sadness, N neutral), version letter
    manifest  a CSV file with header columns path, speaker, emotion (others ignored); relative paths
              are taken from the CSV's folder, emotions go through :func:`normalize_emotion`

Discovery is recursive and sorted. Files whose lower-cased extension is not in
:data:`AUDIO_EXTENSIONS`, and hidden files and folders (name starting with ``.``), are ignored silently.
Every :class:`Utterance` carries the unified emotion (one of :data:`data_prep.labels.EMOTIONS`) and the
corpus's own code beside it (``label``).
"""

import csv
import functools
import os
import pathlib
import re
from dataclasses import dataclass
from typing import Callable

from data_prep.errors import DataPrepError
from data_prep.labels import EMOTIONS

#: Extensions (lower-cased, with the dot) of the files discovery keeps.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".aiff", ".aif", ".aifc", ".mp3", ".m4a", ".opus"})


@dataclass(frozen=True)
class Utterance:
    """One labelled audio file of a corpus.

    Attributes
    ----------
    path : str
        Absolute path of the audio file.
    corpus : str
        Registry name of the corpus, e.g. ``"ravdess"``.
    speaker : str
        The corpus's own speaker id: ``"01"`` (RAVDESS actor), ``"03"`` (EMO-DB), ``"1001"`` (CREMA-D),
        ``"DC"`` (SAVEE), ``"OAF"`` (TESS), ``"0011"`` (ESD).
    emotion : str
        Unified label, one of :data:`data_prep.labels.EMOTIONS`.
    label : str
        The corpus's original code or word as found in the file name (or folder):
        ``"05"``, ``"W"``, ``"ps"``, ``"ANG"``, ``"su"``, ``"Angry"``.
    """

    path: str
    corpus: str
    speaker: str
    emotion: str
    label: str


@dataclass(frozen=True)
class Skipped:
    """An audio file that discovery could not label.

    Attributes
    ----------
    path : str
        Absolute path of the file (for a manifest row: the path the row names).
    reason : str
        Human-readable reason, naming the offending part and what was expected.
    """

    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    """A registry entry: a corpus name, a one-line description and its loader.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"emodb"``.
    description : str
        One line for ``--help``.
    parse : callable
        ``parse(root: pathlib.Path) -> (list[Utterance], list[Skipped])``; ``root`` is known to exist.
    """

    name: str
    description: str
    parse: Callable[[pathlib.Path], tuple[list[Utterance], list[Skipped]]]


# --------------------------------------------------------------------------------------------- emotions

#: Accepted spellings (lower-case, ``_`` for spaces and hyphens) -> unified label.
_EMOTION_ALIASES = {
    "anger": "angry",
    "angry": "angry",
    "calm": "calm",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "happiness": "happy",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant_surprised": "surprise",
    "ps": "surprise",
    "bored": "boredom",
    "boredom": "boredom",
}


def normalize_emotion(text):
    """Map an emotion word (any case, any common spelling) to its unified label.

    Parameters
    ----------
    text : str
        An emotion word such as ``"Anger"``, ``"fearful"``, ``"pleasant surprise"`` or TESS's ``"ps"``.
        Spaces and hyphens count as underscores. Corpus letter codes (EMO-DB ``W``, CREMA-D ``ANG``)
        are not words and are not accepted here.

    Returns
    -------
    emotion : str
        One of :data:`data_prep.labels.EMOTIONS`.

    Raises
    ------
    DataPrepError
        If ``text`` is not a known emotion word; the message lists the valid labels.

    Examples
    --------
    >>> normalize_emotion("Anger"), normalize_emotion("pleasant surprise"), normalize_emotion("bored")
    ('angry', 'surprise', 'boredom')
    """
    key = re.sub(r"[\s\-]+", "_", str(text).strip().lower())
    try:
        return _EMOTION_ALIASES[key]
    except KeyError as err:
        raise DataPrepError(
            f"unknown emotion {text!r}; expected one of {', '.join(EMOTIONS)} "
            f"(or an alias: {', '.join(sorted(set(_EMOTION_ALIASES) - set(EMOTIONS)))})"
        ) from err


# ---------------------------------------------------------------------------------- per-file parsers
# Each takes (path, root) and returns (speaker, emotion, label), or raises DataPrepError with the reason.

_CREMA_D = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
_RAVDESS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
_SAVEE = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}
_TESS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprise",  # pleasant surprise
    "sad": "sad",
}
_EMODB = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}


def _parse_crema_d(path, root):
    tokens = path.stem.split("_")
    if len(tokens) != 4 or not tokens[0].isdigit() or tokens[2].upper() not in _CREMA_D:
        raise DataPrepError(
            f"unparseable CREMA-D file name {path.name!r}: expected <speaker>_<sentence>_<emotion>_<level> "
            f"like 1001_DFA_ANG_XX, with a numeric speaker and emotion in {', '.join(_CREMA_D)}"
        )
    return tokens[0], _CREMA_D[tokens[2].upper()], tokens[2]


_RAVDESS_NAME = re.compile(r"\d\d(-\d\d){6}")


def _parse_ravdess(path, root):
    if not _RAVDESS_NAME.fullmatch(path.stem):
        raise DataPrepError(
            f"unparseable RAVDESS file name {path.name!r}: expected seven 2-digit fields like 03-01-05-02-01-01-01"
        )
    fields = path.stem.split("-")
    code, actor = fields[2], fields[6]
    if code not in _RAVDESS:
        raise DataPrepError(
            f"unparseable RAVDESS file name {path.name!r}: emotion field {code!r} is not one of {', '.join(_RAVDESS)}"
        )
    return actor, _RAVDESS[code], code


_SAVEE_CODES = "sa|su|a|d|f|h|n"  # two-letter codes first
_SAVEE_FLAT = re.compile(rf"([A-Za-z]+)_({_SAVEE_CODES})(\d+)", re.IGNORECASE)  # ALL/DC_a01
_SAVEE_NESTED = re.compile(rf"({_SAVEE_CODES})(\d+)", re.IGNORECASE)  # AudioData/DC/a01


def _parse_savee(path, root):
    flat = _SAVEE_FLAT.fullmatch(path.stem)
    if flat:
        return flat.group(1), _SAVEE[flat.group(2).lower()], flat.group(2)
    nested = _SAVEE_NESTED.fullmatch(path.stem)
    if nested:
        return path.parent.name, _SAVEE[nested.group(1).lower()], nested.group(1)
    raise DataPrepError(
        f"unparseable SAVEE file name {path.name!r}: expected <speaker>_<code><number> like DC_a01, "
        f"or <code><number> like a01 inside a speaker folder, with code in {', '.join(_SAVEE)}"
    )


def _parse_tess(path, root):
    tokens = path.stem.split("_")
    if len(tokens) >= 2 and tokens[0]:
        last = tokens[-1]
        if last.lower() in _TESS:
            return tokens[0], _TESS[last.lower()], last
        # e.g. YAF_pleasant_surprised/YAF_back_xyz.wav: the folder after its speaker prefix names the emotion
        folder = path.parent.name
        prefix = tokens[0] + "_"
        if folder.lower().startswith(prefix.lower()):
            word = folder[len(prefix):]
            try:
                return tokens[0], normalize_emotion(word), word
            except DataPrepError:
                pass
    raise DataPrepError(
        f"unparseable TESS file name {path.name!r}: expected <speaker>_<word>_<emotion> with emotion in "
        f"{', '.join(_TESS)}, or a folder <speaker>_<emotion> like YAF_pleasant_surprised"
    )


_ESD_NAME = re.compile(r"(\d+)_\d+")


def _parse_esd(path, root):
    # ancestors from the file's folder up to and including root: the emotion folder may hold train/test splits
    folders = []
    for parent in path.parents:
        folders.append(parent.name)
        if parent == root:
            break
    emotion = label = None
    for name in folders:
        try:
            emotion, label = normalize_emotion(name), name
            break
        except DataPrepError:
            continue
    if emotion is None:
        raise DataPrepError(
            f"ESD file {path.name!r} is not inside an emotion folder: expected <speaker>/<emotion>/<file> "
            f"like 0011/Angry/0011_000351.wav, found folders {'/'.join(reversed(folders))}"
        )
    match = _ESD_NAME.fullmatch(path.stem)
    speaker = match.group(1) if match else next((name for name in folders if name.isdigit()), None)
    if speaker is None:
        raise DataPrepError(
            f"unparseable ESD file name {path.name!r}: expected <speaker>_<number> like 0011_000351, "
            "or a numeric speaker folder"
        )
    return speaker, emotion, label


_EMODB_NAME = re.compile(r"(\d\d)([a-z]\d\d)([A-Z])([a-z])")


def _parse_emodb(path, root):
    match = _EMODB_NAME.fullmatch(path.stem)
    if not match or match.group(3) not in _EMODB:
        raise DataPrepError(
            f"unparseable EMO-DB file name {path.name!r}: expected <speaker 2 digits><text 3 chars>"
            f"<emotion letter><version letter> like 03a01Fa, with emotion letter in {', '.join(_EMODB)}"
        )
    return match.group(1), _EMODB[match.group(3)], match.group(3)


# --------------------------------------------------------------------------------------------- loaders


def _audio_files(root):
    """Sorted paths of the non-hidden files under ``root`` with an audio extension."""
    found = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not filename.startswith(".") and os.path.splitext(filename)[1].lower() in AUDIO_EXTENSIONS:
                found.append(pathlib.Path(folder, filename))
    return sorted(found)


def _scan(corpus, parse_file, root):
    """Apply a per-file parser to every audio file under ``root``."""
    if not root.is_dir():
        raise DataPrepError(f"{corpus} root {str(root)!r} is not a folder; expected the corpus folder")
    root = pathlib.Path(os.path.abspath(root))
    utterances, skipped = [], []
    for path in _audio_files(root):
        try:
            speaker, emotion, label = parse_file(path, root)
        except DataPrepError as err:
            skipped.append(Skipped(str(path), str(err)))
        else:
            utterances.append(Utterance(str(path), corpus, speaker, emotion, label))
    return utterances, skipped


_MANIFEST_COLUMNS = ("path", "speaker", "emotion")


def _manifest_text(csv_path):
    """The manifest's text: UTF-8 (with or without a BOM), or UTF-16/32 with their BOM; else a clear error."""
    data = csv_path.read_bytes()
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(data) >= 2 and b"\x00" in data[:2]:  # UTF-16 without a byte-order mark: ASCII with NUL bytes between
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        hint = "; it looks like Latin-1 or another 8-bit encoding" if encoding == "utf-8-sig" else ""
        raise DataPrepError(
            f"manifest {str(csv_path)!r} is not {encoding.replace('-sig', '').upper()} text: byte 0x{data[err.start]:02x} "
            f"at position {err.start} does not decode{hint}; expected a CSV file in UTF-8 (or UTF-16 with a byte-order mark)"
        ) from err


def _read_manifest(csv_path):
    """Load a CSV manifest with columns path, speaker, emotion; bad rows become :class:`Skipped`.

    The file may be UTF-8 (with or without a byte-order mark) or UTF-16 (as spreadsheet programs write it).
    """
    import io

    if not csv_path.is_file():
        raise DataPrepError(f"manifest {str(csv_path)!r} is not a file; expected a CSV file")
    csv_path = pathlib.Path(os.path.abspath(csv_path))
    utterances, skipped = [], []
    reader = csv.DictReader(io.StringIO(_manifest_text(csv_path), newline=""))
    columns = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in _MANIFEST_COLUMNS if name not in columns]
    if missing:
        raise DataPrepError(
            f"manifest {str(csv_path)!r} lacks column(s) {', '.join(missing)}: expected a header with "
            f"{', '.join(_MANIFEST_COLUMNS)}, found {', '.join(repr(c) for c in reader.fieldnames or []) or 'none'}"
        )
    reader.fieldnames = columns
    needed = max(columns.index(name) for name in _MANIFEST_COLUMNS) + 1
    for row_number, row in enumerate(reader, start=1):
        where = f"{csv_path.name} row {row_number} (line {reader.line_num})"
        n_fields = sum(1 for key, value in row.items() if key is not None and value is not None) + len(row.get(None) or [])
        text = (row.get("path") or "").strip()
        path = pathlib.Path(os.path.abspath(csv_path.parent / pathlib.Path(text).expanduser())) if text else None
        speaker = (row.get("speaker") or "").strip()
        emotion_text = (row.get("emotion") or "").strip()
        if n_fields < needed:
            skipped.append(Skipped(str(path or csv_path), f"{where}: {n_fields} field(s), expected at least {needed} "
                                                          f"(columns {', '.join(columns[:needed])})"))
        elif path is None:
            skipped.append(Skipped(str(csv_path), f"{where}: empty path"))
        elif (problem := _path_problem(path)) is not None:
            skipped.append(Skipped(str(path), f"{where}: {problem}"))
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            expected = ", ".join(sorted(AUDIO_EXTENSIONS))
            skipped.append(Skipped(str(path), f"{where}: extension {path.suffix!r} is not one of {expected}"))
        elif not speaker:
            skipped.append(Skipped(str(path), f"{where}: empty speaker"))
        elif not emotion_text:
            skipped.append(Skipped(str(path), f"{where}: empty emotion; expected one of {', '.join(EMOTIONS)}"))
        else:
            try:
                emotion = normalize_emotion(emotion_text)
            except DataPrepError as err:
                skipped.append(Skipped(str(path), f"{where}: {err}"))
            else:
                utterances.append(Utterance(str(path), "manifest", speaker, emotion, emotion_text))
    return utterances, skipped


def _path_problem(path):
    from data_prep.audio import path_problem  # imports librosa: only when a manifest is read

    return path_problem(path)


def _file_corpus(name, description, parse_file):
    return Corpus(name, description, functools.partial(_scan, name, parse_file))


#: Registry: corpus name -> :class:`Corpus`.
CORPORA = {
    corpus.name: corpus
    for corpus in (
        _file_corpus("crema_d", "CREMA-D, English, 91 actors: AudioWAV/1001_DFA_ANG_XX.wav", _parse_crema_d),
        _file_corpus("ravdess", "RAVDESS, English, 24 actors: Actor_01/03-01-05-02-01-01-01.wav", _parse_ravdess),
        _file_corpus("savee", "SAVEE, English, 4 speakers: ALL/DC_a01.wav or AudioData/DC/a01.wav", _parse_savee),
        _file_corpus("tess", "TESS, English, 2 speakers: OAF_angry/OAF_back_angry.wav", _parse_tess),
        _file_corpus("esd", "ESD, English and Mandarin, 20 speakers: 0011/Angry/0011_000351.wav", _parse_esd),
        _file_corpus("emodb", "EMO-DB, German, 10 speakers: wav/03a01Fa.wav", _parse_emodb),
        Corpus("manifest", "any corpus listed in a CSV file with columns path, speaker, emotion", _read_manifest),
    )
}


def corpus_names():
    """Names of the registered corpora, in registry order.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> corpus_names()
    ['crema_d', 'ravdess', 'savee', 'tess', 'esd', 'emodb', 'manifest']
    """
    return list(CORPORA)


def _get(name):
    try:
        return CORPORA[name]
    except (KeyError, TypeError) as err:
        raise DataPrepError(f"unknown corpus {name!r}; expected one of {', '.join(CORPORA)}") from err


def discover(name, root):
    """List the labelled utterances of a corpus, without opening any audio.

    Parameters
    ----------
    name : str
        A registry name (see :func:`corpus_names`).
    root : str or os.PathLike
        The corpus folder, searched recursively; for ``"manifest"``, the CSV file.

    Returns
    -------
    utterances : list of Utterance
        One per audio file whose name (or manifest row) parses, sorted by path (manifest: in row order).
    skipped : list of Skipped
        One per audio file (or manifest row) that does not parse, with the reason.

    Raises
    ------
    DataPrepError
        If ``name`` is not registered, ``root`` does not exist, or a manifest lacks a required column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("03a01Fa.wav", "16b10Wa.flac", "notes.txt", "oops.wav"):
    ...         _ = (pathlib.Path(tmp) / name).write_bytes(b"")
    ...     utterances, skipped = discover("emodb", tmp)
    >>> [(u.speaker, u.emotion, u.label) for u in utterances]
    [('03', 'happy', 'F'), ('16', 'angry', 'W')]
    >>> [pathlib.Path(s.path).name for s in skipped]
    ['oops.wav']
    """
    corpus = _get(name)
    root = pathlib.Path(root).expanduser()
    if not root.exists():
        raise DataPrepError(f"{name} path {str(root)!r} does not exist")
    return corpus.parse(root)


def parse_corpus_arg(text):
    """Split a command-line ``NAME=PATH`` into a registered corpus name and a path.

    Parameters
    ----------
    text : str
        ``NAME=PATH``, e.g. ``"ravdess=/data/RAVDESS"`` or ``"manifest=lists/extra.csv"``.

    Returns
    -------
    name : str
    path : pathlib.Path
        The corpus folder, or for ``manifest`` the CSV file. Its existence is checked by :func:`discover`.

    Raises
    ------
    DataPrepError
        If ``text`` has no ``=``, an empty path, or an unknown name.

    Examples
    --------
    >>> name, path = parse_corpus_arg("emodb=data/emodb")
    >>> name, path.as_posix()
    ('emodb', 'data/emodb')
    """
    name, sep, path = str(text).partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not path:
        raise DataPrepError(
            f"bad corpus argument {text!r}: expected NAME=PATH with NAME in {', '.join(CORPORA)}"
        )
    _get(name)
    return name, pathlib.Path(path).expanduser()
