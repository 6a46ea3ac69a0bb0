"""Pretrained FINs shipped inside the package, as plain data: one ``.keras`` file per feature and an index.

``fin/presets/index.json`` maps a preset name to its file and metadata (architecture, parameters, training data,
the recipe that made it, its R²). :func:`load_preset` is the one way to load one; :func:`load_model_spec` accepts
a preset name wherever a model folder or file is accepted (``--model mfcc``).
"""

import json
from pathlib import Path

from fin.errors import FINError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
INDEX = PRESET_DIR / "index.json"


def _index():
    if not INDEX.is_file():
        return {}
    return json.loads(INDEX.read_text())


def list_presets():
    """Metadata of every shipped preset: name -> dict (file, feature, arch, params, training data, metrics)."""
    return _index()


def load_preset(name):
    """The pretrained FIN ``name`` (rms, zcr, chroma, mfcc, mel) as a ready Keras model.

    Examples
    --------
    >>> import fin
    >>> fin.load_preset("mfcc").output_shape        # doctest: +SKIP
    (None, 20)
    """
    import keras

    import fin  # noqa: F401  (registers the layers)

    index = _index()
    if name not in index:
        raise FINError(f"unknown preset {name!r}; expected one of {', '.join(index) or '(none shipped)'}")
    return keras.saving.load_model(PRESET_DIR / index[name]["file"], compile=False)


def load_model_spec(spec):
    """Load a FIN from a ``fin.train`` output folder, a ``.keras`` file, or a preset name."""
    import keras

    import fin  # noqa: F401

    path = Path(spec)
    if path.is_dir():
        path = path / "model.keras"
        if not path.is_file():
            raise FINError(f"{spec} holds no model.keras: expected a fin.train output folder")
    if path.suffix == ".keras":
        if not path.is_file():
            raise FINError(f"no model file at {path}")
        return keras.saving.load_model(path, compile=False)
    if str(spec) in _index():
        return load_preset(str(spec))
    raise FINError(f"{spec!r} is neither a model folder, a .keras file nor a preset ({', '.join(_index()) or 'none shipped'})")
