"""Files that hold members' data or secrets (names, birthdays, card numbers, the phone salt,
tokens): the data directory is 0700 and every database and key file 0600, on creation and at
every start. A file or folder found open to others is tightened when it is ours; one that
cannot be tightened is refused (``unsafe_permissions``) rather than used.

POSIX permissions only: on Windows the user's profile folder is what keeps them private."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from loyalty.errors import Refused

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _posix() -> bool:
    return os.name == "posix"


def tighten(path: str | Path) -> None:
    """Take group and other permissions off ``path`` when it has any; refuse when it cannot."""
    if not _posix():
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077 == 0:
        return
    try:
        os.chmod(path, mode & ~0o077)
    except OSError:
        raise Refused("unsafe_permissions", path=str(path), mode=f"{mode:o}") from None


def private_dir(path: str | Path) -> Path:
    """Create ``path`` 0700 (its parents as the system makes them) or tighten it."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tighten(path)
    return path


def private_file(path: str | Path) -> Path:
    """Create ``path`` empty and 0600 when it is missing, else tighten it."""
    path = Path(path)
    if _posix():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    tighten(path)
    return path


def private_database(path: str | Path) -> None:
    """A SQLite file and the side files SQLite makes beside it (which take its permissions)."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        tighten(f"{path}{suffix}")
