"""Option files: the YAML configs every command line of the toolkit takes with ``--config``."""

from pathlib import Path

import yaml

from data_prep.errors import DataPrepError


def load_options(path, known, error=DataPrepError):
    """The options of a YAML config file: a mapping of option name to value, every name one of ``known``.

    Parameters
    ----------
    path : str or Path
    known : iterable of str
        The option names a command accepts (the names of its ``config.yaml``).
    error : type
        The exception raised, with a message naming the file and what is wrong: the calling package's error.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_text("epochs: 3\\n")
    >>> load_options(p, ["epochs", "lr"])
    {'epochs': 3}
    """
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise error(f"cannot read config {path}: {err}") from err
    if not isinstance(data, dict):
        raise error(f"config {path} must be a mapping of option: value")
    known = list(known)
    unknown = set(data) - set(known)
    if unknown:
        raise error(f"config {path}: unknown option(s) {', '.join(sorted(unknown))}; expected some of {', '.join(known)}")
    return data
