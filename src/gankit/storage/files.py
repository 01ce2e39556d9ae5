"""Files written whole or not at all, with the modes that the user's umask gives.

Everything a run writes that another program reads later (checkpoints, eval.json, samples,
caches) goes through :func:`replace_atomically`: the data is written beside its destination
and renamed into place, so a crash, a kill or a full disk leaves the old file (or none), never
half of one. What a writer put there is given the umask-derived modes of an ordinary file
before the rename (a library may write private files, 0600), so that a group that shares a run
directory can read what was written.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def umask() -> int:
    """The process's umask (Python 3.11 has no getter; reading it means setting it briefly)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def give_usual_mode(path: Path) -> None:
    """Mode of a freshly created file (0666) or folder (0777) under the umask, recursively."""
    mask = umask()
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~mask)


def temporary_sibling(path: Path, suffix: str = "") -> Path:
    """A dot-named path beside ``path`` that nothing holds yet (process id and a random token).
    It is named before it is created, so cleanup code that knows the name finds it even when
    an interruption lands just after the creation, where ``tempfile.mkdtemp`` would not yet
    have returned the name of what it had created."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}")


@contextmanager
def replace_atomically(path: Path, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write (a file, or a folder to fill with
    ``folder``); on success it replaces ``path`` in one rename, on any exception it is removed.

    A symbolic link is followed: its target is replaced and the link stays. A ``path`` that
    is a device or a pipe (``/dev/stdout`` into a pipe, ``/dev/full``) is written in place
    (:func:`written_in_place`): renaming over it would replace the device by a file.
    """
    if written_in_place(path):
        yield Path(path)
        return
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path, ".partial")
    try:
        if folder:
            tmp.mkdir()
        else:
            tmp.touch(exist_ok=False)
        yield tmp
        give_usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise


def written_in_place(path: Path) -> bool:
    """Whether ``path`` is a device, pipe or socket, which a write goes into, not replaces."""
    try:
        mode = os.stat(path).st_mode  # follows links: /dev/stdout -> /proc/self/fd/1 -> a pipe
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def remove(path: Path) -> None:
    """Delete a file or folder if it is there (cleanup must not raise a second error)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
