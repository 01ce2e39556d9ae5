"""Files written whole or not at all, with the modes that the user's umask gives, and the one
check of an output path that every command runs before its work.

Everything gankit writes (checkpoints, eval.json, samples, exports, plots, caches) goes through
:func:`replace_atomically`: the data is written beside its destination and renamed into place,
so a crash, a kill or a full disk leaves the old file (or none), never half of one. A device or
a pipe is written in place instead (renaming over ``/dev/full`` would replace the device by a
file), and nothing else is ever renamed over: a folder where a file goes, a socket. What a
writer put there is given the umask-derived modes of an ordinary file before the rename (a
library may write private files, 0600), so that a group that shares a run directory can read
what was written.

:func:`check_output` applies the same rules to a path the user gave, before any work, with the
commands' one overwrite policy: an existing file (or folder of PNGs) is replaced only with
``--overwrite``; a device or pipe is always written in place; missing parent folders are
created.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Literal

from gankit.errors import GankitError
from gankit.training import interrupts

# What an output path names: a file written whole, a folder written whole (``--format png-dir``),
# or a directory that a command writes its files into (a run directory, experiments' --out).
Output = Literal["file", "folder", "directory"]
_STREAM = re.compile(r"/dev/(stdout|stderr|fd/[0-9]+)|/proc/[^/]+/fd/[0-9]+")
OVERWRITE_HELP = ("an existing file, or folder of PNGs, is replaced only with --overwrite; a "
                  "device or pipe (/dev/stdout) is written in place; missing parent folders "
                  "are created")


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
def replace_atomically(path: Path, folder: bool = False, decides: bool = False
                       ) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write (a file, or a folder to fill with
    ``folder``); on success it replaces ``path`` in one rename, on any exception it is removed.

    ``decides``: ``path`` is the command's result (``gankit sample``'s samples), so its arrival
    and the command's success are one event. A SIGINT/SIGTERM during the rename waits for it
    (:func:`gankit.training.interrupts.deferred`) and from then on changes nothing
    (:func:`~gankit.training.interrupts.ignore_from_now`): an interrupted command leaves its
    output whole or absent, never present under an exit status that says it failed.

    A symbolic link is followed: its target is replaced and the link stays. A ``path`` that
    is a device or a pipe (``/dev/stdout`` into a pipe, ``/dev/full``) is written in place
    (:func:`written_in_place`): renaming over it would replace the device by a file. Anything
    else that is not what is written (a folder for a file, a file for a folder, a socket) is
    refused with an :class:`OSError` naming ``path``, never renamed over. A folder that is
    there is replaced by a swap: it is renamed aside, the new one renamed in, the old removed.
    """
    if written_in_place(path) and not folder:
        yield Path(path)
        if decides:
            interrupts.ignore_from_now()
        return
    target = Path(os.path.realpath(path))
    found = _kind(target)
    if found not in ("missing", "folder" if folder else "file"):
        raise _wrong_kind_error(found, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target, ".partial")
    old = temporary_sibling(target, ".old")
    try:
        if folder:
            tmp.mkdir()
        else:
            tmp.touch(exist_ok=False)
        yield tmp
        give_usual_mode(tmp)
        with interrupts.deferred() if decides else nullcontext():
            if folder and found == "folder":  # rename() replaces only an empty folder
                os.replace(target, old)
            os.replace(tmp, target)
            if decides:
                interrupts.ignore_from_now()
    except BaseException:
        remove(tmp)
        if old.exists() and not target.exists():  # failed between the two renames
            os.replace(old, target)
        raise
    finally:
        remove(old)


def written_in_place(path: Path) -> bool:
    """Whether ``path`` is a device or a pipe, which a write goes into, not replaces."""
    return _kind(Path(path)) == "in place"


def check_output(given: str | Path, writes: Output = "file", overwrite: bool = False,
                 flag: str = "--out") -> Path:
    """The path to write for an output path ``given`` by the user (``~`` expanded), refused in
    one :class:`GankitError` line naming ``flag`` and ``given`` when the write could not
    succeed or would replace something without ``overwrite``; run it before any work.

    Refused: an empty name; a parent that is a file or that the process cannot write; for a
    file, a folder or a socket; for a folder or directory, a file, device or socket; an existing
    file, or a folder holding anything, without ``overwrite``; a folder holding other files
    than PNGs even with it (``--overwrite`` replaces what gankit could have written, never a
    folder of someone's documents). A directory (``writes="directory"``) is written into, so
    it may exist and hold files.
    """
    name = f"{flag} {str(given) or repr('')}"
    if not str(given):
        raise GankitError(f"{name} is empty; give a "
                          f"{'file' if writes == 'file' else 'directory'} name")
    path = Path(given).expanduser()
    found = _kind(path)
    if found == "in place" and writes == "file":
        return path
    if found not in ("missing", "file" if writes == "file" else "folder"):
        raise GankitError(f"{name} is {_described(found)}; give a "
                          f"{'file' if writes == 'file' else 'directory'} name")
    if found == "file" and not overwrite:
        raise GankitError(f"{name} exists; --overwrite replaces it")
    if found == "folder" and writes == "folder" and any(path.iterdir()):
        # the first one found is enough: --out ~ is not walked whole
        if other := next((p for p in path.rglob("*") if not p.is_dir() and p.suffix != ".png"),
                         None):
            raise GankitError(f"{name} holds files other than PNGs ({other}); give a new or "
                              f"empty folder")
        if not overwrite:
            raise GankitError(f"{name} is a folder of PNGs already; --overwrite replaces it")
    _check_parent(path, name)
    return path


def _check_parent(path: Path, name: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder this process can write
    (the folders below it are created by the write)."""
    parent = next(p for p in [path.parent, *path.parent.parents, Path(".")] if p.exists())
    if not parent.is_dir():
        raise GankitError(f"{name}: {parent} is {_described(_kind(parent))}, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GankitError(f"{name}: cannot write into {parent} (permission denied)")


def _kind(path: Path) -> str:
    """"missing", "file", "folder", "in place" (a device, a pipe, or a stream already open such
    as ``/dev/stdout``) or "other" (a socket), links followed (``/dev/stdout`` ->
    ``/proc/self/fd/1`` -> a pipe)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a parent that is a file is refused
        return "missing"  # by check_output, and by the write's mkdir, each naming it
    if stat.S_ISREG(mode):
        # ``> file`` in the shell: the stream is the file the shell opened (and with ``>>``
        # appends to); replacing the file would leave the stream pointing at the old one
        return "in place" if _names_a_stream(path) else "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        return "in place"
    return "other"


def _names_a_stream(path: Path) -> bool:
    """Whether ``path`` or a link on its way names an open file descriptor (``/dev/stdout``,
    ``/dev/fd/3``, ``/proc/self/fd/1``)."""
    text = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit of links followed
        if _STREAM.fullmatch(text):
            return True
        if not os.path.islink(text):
            return False
        text = os.path.join(os.path.dirname(text), os.readlink(text))
    return False


def _described(kind: str) -> str:
    return {"file": "a file", "folder": "a directory", "in place": "a device or pipe",
            "other": "a socket or other special file"}[kind]


def _wrong_kind_error(kind: str, path: Path) -> OSError:
    """The OS's own error for what is in the way, naming the path given."""
    code = {"folder": errno.EISDIR, "file": errno.ENOTDIR}.get(kind, errno.EEXIST)
    reason = os.strerror(code) if kind in ("folder", "file") else f"{_described(kind)} is there"
    return OSError(code, reason, str(path))


def remove(path: Path) -> None:
    """Delete a file or folder if it is there (cleanup must not raise a second error)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
