"""Atomic file writes: a file at its final path is always complete; what a killed writer left is cleaned up.

Temporaries carry the writer's process id: ``NAME.tmp-PID`` (a store being built) and ``.STEM.tmp-PIDSUFFIX``
(:func:`atomic_write`). A process killed with SIGKILL cannot remove its own; :func:`remove_stale_temporaries`
removes, on the next start in the same folder, those whose process is no longer alive, and only those.
"""

import os
import re
from pathlib import Path

#: The names of this module's temporaries: ``NAME.tmp-PID`` or ``.STEM.tmp-PID.SUFFIX``.
_TEMPORARY = re.compile(r"^(?:\..+\.tmp-(?P<hidden>\d+)(?:\.[A-Za-z0-9]+)?|.+\.tmp-(?P<plain>\d+))$")


def temporary_path(path):
    """The temporary a store or other large file is written to before it is renamed onto ``path``.

    Examples
    --------
    >>> temporary_path("/data/all.h5").name == f"all.h5.tmp-{os.getpid()}"
    True
    """
    path = Path(path)
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def pid_alive(pid):
    """Whether a process ``pid`` exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def stale_temporaries(folder):
    """The temporaries in ``folder`` (not below) whose writing process is no longer alive, sorted.

    Only regular files named as this module names temporaries qualify; anything else is never touched.
    """
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match.group("hidden") or match.group("plain"))
        if pid != os.getpid() and not pid_alive(pid):
            found.append(Path(entry.path))
    return sorted(found)


def remove_stale_temporaries(folder, log=None):
    """Remove what killed writers left in ``folder`` (see :func:`stale_temporaries`); returns the removed paths.

    ``log(text)`` is told about each removal (default: nothing).
    """
    removed = []
    for path in stale_temporaries(folder):
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            continue
        removed.append(path)
        if log:
            log(f"removed {path} ({size:,} bytes), a temporary left by a killed process")
    return removed


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
