"""Pretrained FINs shipped inside the package, as plain data: one ``.keras`` file per feature and an index.

Two families, each a folder with an ``index.json`` mapping a preset name (the feature) to its file and metadata
(architecture, init, parameters, training data, the recipe and command that made it, train time, test R²):

- ``closed-form`` (the default; also called ``presets``): ``fin/presets/``, librosa's operators written as
  trainable layers (``spectral``), exact by construction (``python -m experiments.presets``).
- ``learned``: ``fin/presets/learned/``, ``quadratic`` FINs trained from random initialisation on the shared
  corpora's training speakers (``python -m experiments.presets --family learned``).

:func:`load_preset` is the one way to load one; :func:`load_model_spec` accepts a preset name (``mfcc``, or
``learned:mfcc``) wherever a model folder or file is accepted, and :func:`resolve_model_specs` is the one
resolution of such a model argument (also of a folder of run folders, or of a whole family).
``python -m fin.presets`` prints both families.
"""

import json
import zipfile
from pathlib import Path

from fin.errors import FINError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
INDEX = PRESET_DIR / "index.json"
#: Preset family -> its folder.
FAMILIES = {"closed-form": PRESET_DIR, "learned": PRESET_DIR / "learned"}
#: Other names of a family.
FAMILY_ALIASES = {"presets": "closed-form"}
DEFAULT_FAMILY = "closed-form"


def family_name(family):
    """The canonical name of ``family`` (``presets`` is ``closed-form``); :class:`FINError` if unknown.

    Examples
    --------
    >>> family_name("presets"), family_name("learned")
    ('closed-form', 'learned')
    """
    name = FAMILY_ALIASES.get(family, family)
    if name not in FAMILIES:
        raise FINError(f"unknown preset family {family!r}; expected one of {', '.join([*FAMILIES, *FAMILY_ALIASES])}")
    return name


def family_dir(family=DEFAULT_FAMILY):
    """The folder of a preset family."""
    return FAMILIES[family_name(family)]


def _index(family=DEFAULT_FAMILY):
    index = family_dir(family) / "index.json"
    if not index.is_file():
        return {}
    return json.loads(index.read_text())


def list_presets(family=None):
    """Metadata of the shipped presets.

    Parameters
    ----------
    family : str or None
        ``None``: every family, ``{family: {name: metadata}}``; a family name: that family's ``{name: metadata}``
        (file, feature, arch, init, params, training data, recipe with its command and train time, test R²).

    Examples
    --------
    >>> sorted(list_presets())
    ['closed-form', 'learned']
    >>> list_presets("closed-form")["mfcc"]["arch"]
    'spectral'
    """
    if family is None:
        return {name: _index(name) for name in FAMILIES}
    return _index(family)


def load_model_file(path):
    """Load a ``.keras`` file (FIN or SER model; custom layers registered), compiled off, in Keras safe mode.

    Every failure is one :class:`FINError` naming the file: not a file, not a ``.keras`` archive (damaged,
    truncated or another format), refused by safe mode (it holds Python code, e.g. a ``Lambda`` layer's
    function), or not loadable for another reason.

    Examples
    --------
    >>> load_model_file("/definitely/missing.keras")
    Traceback (most recent call last):
    ...
    fin.errors.FINError: no model file at /definitely/missing.keras: file not found
    """
    import keras

    import fin  # noqa: F401  (registers the layers)
    from data_prep.audio import path_problem

    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise FINError(f"no model file at {path}: {problem}")
    if not zipfile.is_zipfile(path):
        raise FINError(f"{path} is not a readable .keras model file: it is not a zip archive (damaged, truncated "
                       f"or another format); expected a file written by model.save(...keras)")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises ValueError, TypeError, KeyError, OSError... for a file it cannot use
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "safe_mode" in str(err):
            raise FINError(f"{path} was refused by Keras safe mode: it holds Python code (e.g. a Lambda layer's "
                           "function) that loading would run. Load it only if you trust its source, with "
                           "keras.saving.load_model(path, safe_mode=False)") from err
        raise FINError(f"{path} is a damaged or incompatible .keras model file ({type(err).__name__}: {text})") from err


def load_preset(name, family=DEFAULT_FAMILY):
    """The pretrained FIN ``name`` (rms, zcr, chroma, mfcc, mel) of ``family`` as a ready Keras model.

    Parameters
    ----------
    name : str
        The feature; ``"learned:mfcc"`` names the family too.
    family : {"closed-form", "learned"}
        ``presets`` is another name of ``closed-form``.

    Examples
    --------
    >>> import fin
    >>> fin.load_preset("mfcc").output_shape
    (None, 20)
    >>> fin.load_preset("mel", family="learned").name   # doctest: +SKIP
    'mel_quadratic'
    """
    family, name = split_preset_name(name, family)
    index = _index(family)
    if name not in index:
        raise FINError(f"unknown preset {name!r} in family {family!r}; expected one of {', '.join(index) or '(none shipped)'}")
    return load_model_file(family_dir(family) / index[name]["file"])


def split_preset_name(name, family=DEFAULT_FAMILY):
    """``(family, feature)`` of a preset name: ``"learned:mfcc"`` -> ``("learned", "mfcc")``; plain names keep ``family``."""
    name = str(name)
    if ":" in name:
        family, name = name.split(":", 1)
    return family_name(family), name


def is_preset_name(spec):
    """Whether ``spec`` names a shipped preset (``mfcc`` or ``learned:mfcc``)."""
    try:
        family, name = split_preset_name(spec)
    except FINError:
        return False
    return name in _index(family)


def check_model_spec(spec, what="--model"):
    """Check, without loading it, that ``spec`` names a model: a run folder holding ``model.keras``, a ``.keras``
    file or a preset; raises :class:`FINError` naming it otherwise (``what``: the option, for the message)."""
    from data_prep.audio import path_problem

    path = Path(spec)
    if path.is_dir():
        path = path / "model.keras"
    if path.suffix == ".keras":
        problem = path_problem(path)
        if problem:
            raise FINError(f"{what} {spec}: no model file at {path} ({problem})")
        return
    if not is_preset_name(spec):
        raise FINError(f"{what} {spec!r} is neither a model folder, a .keras file nor a preset "
                       f"({', '.join(_index()) or 'none shipped'}; learned:NAME for the learned family)")


def load_model_spec(spec):
    """Load a FIN from a ``fin.train`` output folder, a ``.keras`` file, or a preset name."""
    return _load_one(spec)[0]


def resolve_model_specs(spec, features=None):
    """Every FIN that one model argument names, with where it came from.

    The one place that turns a model argument into models: :func:`load_model_spec` (one model) and
    ``experiments.generalization --fins`` (any number) both use it.

    Parameters
    ----------
    spec : str or Path
        A family (``"presets"`` or ``"closed-form"``, ``"learned"``: every preset of it), a preset name
        (``mfcc``, ``learned:mfcc``), a ``.keras`` file, a ``fin.train`` output folder
        (holding ``model.keras``), or a folder of run folders ``<feature>*/model.keras`` or files
        ``<feature>*.keras``.
    features : sequence of str or None
        Feature names a folder's entries must start with to count (default: every FIN feature).

    Returns
    -------
    found : list of (keras.Model, str, tuple of str)
        Each model, its source (``preset:<name>`` or the resolved file path) and the names that may tell its
        feature (file or folder names, the preset's feature).

    Raises
    ------
    FINError
        The argument names nothing loadable; the message names it and lists what was expected.
    """
    if spec in FAMILIES or spec in FAMILY_ALIASES:
        family = family_name(spec)
        index = _index(family)
        if not index:
            raise FINError(
                f"no {family} presets are shipped ({family_dir(family) / 'index.json'} is missing or empty); pass model "
                "folders, .keras files or preset names instead"
            )
        return [_preset_entry(family, name, meta) for name, meta in index.items()]
    path = Path(spec).expanduser()
    if path.is_dir() and not (path / "model.keras").is_file():
        if features is None:
            from data_prep.targets import FEATURES as features
        candidates = sorted(path.glob("*/model.keras")) + sorted(path.glob("*.keras"))
        candidates = [c for c in candidates if any(_name_in_folder(c).startswith(f) for f in features)]
        if not candidates:
            raise FINError(
                f"folder {str(spec)!r} holds no FIN: expected model.keras (a fin.train output folder), run folders "
                f"<feature>*/model.keras or files <feature>*.keras, with feature one of {', '.join(features)}"
            )
        return [(load_model_file(c), str(c.resolve()), (_name_in_folder(c),)) for c in candidates]
    return [_load_one(spec)]


def _name_in_folder(candidate):
    """The name a candidate FIN goes by in its folder: its run folder's name, or its file name."""
    return candidate.parent.name if candidate.name == "model.keras" else candidate.name


def _load_one(spec):
    """``(model, source, hints)`` of a ``fin.train`` output folder, a ``.keras`` file or a preset name."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.keras").is_file():
            raise FINError(f"{spec} holds no model.keras: expected a fin.train output folder")
        return load_model_file(path / "model.keras"), str((path / "model.keras").resolve()), (path.name, path.parent.name)
    if path.suffix == ".keras":
        return load_model_file(path), str(path.resolve()), (path.name, path.parent.name)
    if is_preset_name(spec):
        family, name = split_preset_name(spec)
        return _preset_entry(family, name, _index(family)[name])
    raise FINError(f"{str(spec)!r} is neither a model folder, a .keras file nor a preset name "
                   f"(shipped: {', '.join(_index()) or 'none'}; learned:NAME for the learned family)")


def _preset_entry(family, name, meta):
    """``(model, source, hints)`` of a shipped preset: source ``preset:NAME`` (closed-form) or ``FAMILY:NAME``."""
    prefix = "preset" if family == "closed-form" else family
    return load_preset(name, family), f"{prefix}:{name}", (meta.get("feature", ""), name)


def format_presets(presets=None):
    """A plain-text table of both families: feature, arch, init, params, test R², train time, training data."""
    presets = list_presets() if presets is None else presets
    lines = [f"{'family':<12} {'preset':<7} {'arch':<10} {'init':<12} {'params':>9} {'test R²':>8} {'train s':>8}  training data"]
    for family, index in presets.items():
        if not index:
            lines.append(f"{family:<12} (none shipped)")
        for name, meta in index.items():
            test = meta.get("test", {})
            r2 = test.get("r2_vw" if name == "mel" else "r2", float("nan"))
            data = meta.get("training_data", {})
            seconds = meta.get("recipe", {}).get("train_seconds")
            seconds = "-" if seconds is None else f"{seconds:.0f}"  # the closed form is not trained
            lines.append(f"{family:<12} {name:<7} {meta.get('arch', '?'):<10} {meta.get('init', '?'):<12} "
                         f"{meta.get('params', 0):>9,} {r2:>8.4f} {seconds:>8}  {'+'.join(data.get('corpora', []))}")
    return "\n".join(lines)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fin.presets", description="List the shipped FIN presets.")
    parser.add_argument("--family", choices=[*FAMILIES, *FAMILY_ALIASES], help="one family (default: both)")
    parser.add_argument("--json", action="store_true", help="print the index as JSON")
    args = parser.parse_args(argv)
    presets = list_presets() if args.family is None else {family_name(args.family): list_presets(args.family)}
    print(json.dumps(presets, indent=2) if args.json else format_presets(presets))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
