"""Atomic writes: a crash or a full disk never leaves a half-written file or folder.

Files are written to a temporary sibling and renamed over the target (rename is atomic on POSIX);
folders are built under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import StudioError


def write_error(path: Path, e: OSError) -> StudioError:
    """The one-line message for a failed write: a full disk says so plainly."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return StudioError(f"The disk is full: could not write {path}. Free some space (delete old runs or "
                           "models) and try again; nothing half-written was kept.")
    if e.errno == errno.EROFS:
        return StudioError(f"Could not write {path}: the file system is read-only.")
    return StudioError(f"Could not write {path}: {e.strerror or e}.")


def read_only(path: Path) -> bool:
    """A folder this app must not write in: not writable, or its owner took away the write bit."""
    try:
        return not os.access(path, os.W_OK | os.X_OK) or not Path(path).stat().st_mode & stat.S_IWUSR
    except OSError:
        return True


def open_append_nofollow(path: Path):
    """Open `path` for appending (binary, read+write) without following a symlink: a link planted there is
    removed (its target untouched) and a regular file created in its place."""
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        os.unlink(path)
        fd = os.open(path, flags | os.O_EXCL, 0o644)
    return os.fdopen(fd, "rb+")


def check_output(path: Path, folder: bool = False) -> Path:
    """Before any work: an output path that can be written (its parent is, or can be, a writable folder;
    a file is not where a folder goes, nor the reverse). Returns the path; StudioError otherwise."""
    path = Path(path).expanduser()
    if path.exists() and path.is_dir() != folder:
        raise StudioError(f"{path} is {'a file' if folder else 'a folder'}; give {'a folder' if folder else 'a file'} "
                          "path to write.")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise StudioError(f"Cannot write {path}: {parent} is a file, not a folder.")
    if read_only(parent) and not (path.exists() and not read_only(path)):
        raise StudioError(f"Cannot write {path}: {parent} is not writable.")
    return path


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; ours are ordinary, readable files
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise write_error(path, e) from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file; a missing or corrupt file is a StudioError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise StudioError(f"{path} does not exist.") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StudioError(f"{path} is corrupt (not valid JSON): {e}") from e


@contextlib.contextmanager
def atomic_dir(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces `target`, on failure it is removed."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise StudioError(f"{target} already exists; choose a new folder (nothing was changed).")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700 folders
    except OSError as e:
        raise write_error(target, e) from e
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(target, e) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
