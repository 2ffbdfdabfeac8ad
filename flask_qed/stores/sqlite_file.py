"""The SQLite store's file: made private, and checked before each use.

A connection keeps working on a file that was deleted (the inode lives on while
it is open), replaced by another, or overwritten (its pages are cached), and
would answer "ready" and take jobs that no other process sees. So before each
use the file at the configured path must still be the one the connection opened
(device and inode) and still start with SQLite's header: a stat per use, the
header read again only when the file's time or size changed.

A file deleted after it was opened is never made again, empty: that would lose
every job without a word, and a new file beside the old ``-wal`` would be
corrupted by it. Every request is answered 503 until the service is restarted;
the restart opens the file then at the path, or makes a new, empty store as at
a first start (once the last process that had the old one open has removed its
``-wal``).

The database is created 0600 (in a folder made 0700): SQLite gives its ``-wal``
and ``-shm`` the database's mode. They hold every client's inputs and results.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from urllib.parse import quote

from .base import StoreUnavailable

HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database file

# One descriptor per database file and process, to read its header, kept open for good:
# closing any descriptor of a file drops every POSIX lock this process holds on it, and
# with them the locks of SQLite's own connections (another process could then take the
# file for unused and reset its -wal under them).
_READERS: dict[tuple[int, int], int] = {}
_READERS_LOCK = threading.Lock()
# The files this process (or the one it was forked from: gunicorn's and Celery's start-up
# checks open the store before the workers fork) has opened: never made again here.
_OPENED: set[str] = set()


def connect(path: str) -> sqlite3.Connection:
    """A connection to the file at ``path``, made first (0600, in a 0700 folder) if it is
    not there, unless this process opened it before or a ``-wal`` was left by one that did."""
    if os.path.exists(path):
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        _OPENED.add(os.path.abspath(path))
        return conn
    if os.path.abspath(path) in _OPENED:
        raise StoreUnavailable(f"SQLite store {path}: the file was deleted while in use, and a new, "
                               "empty one would lose every job; restore it and restart, or restart "
                               "to start an empty store")
    if os.path.exists(path + "-wal"):
        raise StoreUnavailable(f"SQLite store {path}: the file is gone but its -wal is there (deleted "
                               "while in use); restore it, or remove the -wal and -shm to start an "
                               "empty store")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)  # the leaf; its parents as the umask says
    try:  # made here so that its mode is ours
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process made it first
        pass
    # mode=rw: the file must be there (deleted since the line above, it is not made again)
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=rw", uri=True,
                           timeout=30, isolation_level=None)
    _OPENED.add(os.path.abspath(path))
    return conn


def identity(path: str) -> tuple[int, int]:
    """(device, inode) of the file at ``path``."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def check(path: str, ident: tuple[int, int], stamp: tuple[int, int] | None) -> tuple[int, int]:
    """Raise StoreUnavailable unless the file at ``path`` is ``ident`` and a database;
    return its (mtime, size), to pass as ``stamp`` next time (the header is read only
    when they changed)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise StoreUnavailable(f"SQLite store {path}: the file is gone ({exc.strerror}): it was deleted "
                               "while in use; restore it and restart, or restart to start an empty "
                               "store") from exc
    if (st.st_dev, st.st_ino) != ident:
        raise StoreUnavailable(f"SQLite store {path}: the file was replaced while in use; restart to "
                               "open the new one")
    now = (st.st_mtime_ns, st.st_size)
    if now == stamp:
        return now
    try:
        header = os.pread(_reader(path, ident), len(HEADER), 0)
    except OSError as exc:
        raise StoreUnavailable(f"SQLite store {path}: {exc}") from exc
    if header != HEADER:
        raise StoreUnavailable(f"SQLite store {path}: file is not a database (overwritten while in use)")
    return now


def _reader(path: str, ident: tuple[int, int]) -> int:
    """A descriptor of the file ``ident`` at ``path``, for ``os.pread``."""
    fd = _READERS.get(ident)
    if fd is not None:
        return fd
    with _READERS_LOCK:
        if ident not in _READERS:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            st = os.fstat(fd)
            _READERS[(st.st_dev, st.st_ino)] = fd  # never closed (see above), whichever file it is
        if ident not in _READERS:
            raise OSError(f"the file at {path} was replaced while in use")
        return _READERS[ident]
