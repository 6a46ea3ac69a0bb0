"""Pretrained FINs shipped inside the package, as plain data: one ``.keras`` file per feature and an index.

Two families, each a folder with an ``index.json`` mapping a preset name (the feature) to its file and metadata
(architecture, init, parameters, training data, the recipe and command that made it, train time, test R²):

- ``closed-form`` (the default; also called ``presets``): ``fin/presets/``, librosa's operators written as
  trainable layers (``spectral``), exact by construction (``python -m experiments.presets``).
- ``learned``: ``fin/presets/learned/``, ``quadratic`` FINs trained from random initialisation on the shared
  corpora's training speakers (``python -m experiments.presets --family learned``).

:func:`load_preset` is the one way to load one; :func:`load_model_spec` accepts a preset name (``mfcc``, or
``learned:mfcc``) wherever a model folder or file is accepted. ``python -m fin.presets`` prints both families.
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
                           "keras.saving.load_model(path, safe_mode=False)") from None
        raise FINError(f"{path} is a damaged or incompatible .keras model file ({type(err).__name__}: {text})") from None


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
    >>> fin.load_preset("mfcc").output_shape        # doctest: +SKIP
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
    path = Path(spec)
    if path.is_dir():
        path = path / "model.keras"
        if not path.is_file():
            raise FINError(f"{spec} holds no model.keras: expected a fin.train output folder")
    if path.suffix == ".keras":
        return load_model_file(path)
    if is_preset_name(spec):
        return load_preset(str(spec))
    raise FINError(f"{spec!r} is neither a model folder, a .keras file nor a preset ({', '.join(_index()) or 'none shipped'}; "
                   f"learned:NAME for the learned family)")


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
            seconds = meta.get("recipe", {}).get("train_seconds", float("nan"))
            lines.append(f"{family:<12} {name:<7} {meta.get('arch', '?'):<10} {meta.get('init', '?'):<12} "
                         f"{meta.get('params', 0):>9,} {r2:>8.4f} {seconds:>8.0f}  {'+'.join(data.get('corpora', []))}")
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
