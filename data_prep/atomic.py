"""Atomic file writes: a file at its final path is always complete."""

import os
from pathlib import Path


def atomic_write(path, write):
    """Call ``write(tmp)`` on a hidden sibling of ``path``, then move it onto ``path``.

    The temporary name keeps ``path``'s suffix, so writers that infer the format from it (``model.save``,
    ``savefig``) work; it is removed if ``write`` fails. Returns ``path``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(p, lambda tmp: tmp.write_text("done")).read_text()
    'done'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))
