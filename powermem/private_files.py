"""Files powermem creates are private: folders 0700, files 0600, whatever the umask.

Memories are personal data. What already exists is the user's and keeps its mode (a store
file put in a shared folder leaves the folder as it was); only what powermem creates is
restricted. SQLite gives the ``-wal`` and ``-shm`` files it creates the mode of the database
file, so creating that file 0600 covers them too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["create_private_file", "make_private_dirs"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing ancestors, each 0700; existing ones are left alone."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            continue  # another process made it first: not ours to change
        os.chmod(path, DIR_MODE)  # the umask may have removed bits, never added them; be exact


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 (its folders as ``make_private_dirs``) unless it exists."""
    if str(path) == ":memory:":  # SQLite's in-memory database: no file
        return
    make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
