"""API keys: a file of client names and key hashes, and the ``qed keys`` commands.

The file (``QED_API_KEYS_FILE``) holds one ``client-name  sha256-hex-of-key``
per line; ``#`` starts a comment. Keys themselves are never stored: ``qed keys
add`` prints a new key once and appends only its hash. The gateway re-reads
the file whenever it changes, so an added or revoked key takes effect on the
next request, with no restart. A client named ``admin`` sees every job.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

ADMIN = "admin"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
HEX = re.compile(r"^[0-9a-f]{64}$")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def read_keys(path: str | Path) -> dict[str, str]:
    """``{hash: client name}`` from a key file; malformed lines are skipped with a warning."""
    found: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not NAME.match(parts[0]) or not HEX.match(parts[1].lower()):
            logger.warning("%s line %d: expected 'client-name sha256-hex', ignored", path, number)
            continue
        found[parts[1].lower()] = parts[0]
    return found


class KeyRing:
    """The key file as the gateway sees it, re-read when its size, inode or mtime change.

    A file that cannot be read denies every key (fails closed) until it can.
    """

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, str] = {}

    def _current(self) -> dict[str, str]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self._stamp is not None or not self._keys:
                logger.error("API key file %s unreadable: %s; every key refused", self.path, exc)
            self._stamp, self._keys = None, {}
            return self._keys
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            with self._lock:
                try:
                    self._keys = read_keys(self.path)
                except (OSError, UnicodeDecodeError) as exc:
                    logger.error("API key file %s unreadable: %s; every key refused", self.path, exc)
                    self._keys = {}
                self._stamp = stamp
        return self._keys

    def client(self, key: str | None) -> str | None:
        """The client name a key belongs to, or None."""
        if not key or len(key) > 512:
            return None
        return self._current().get(key_hash(key))


# -- the commands ----------------------------------------------------------------
def _entries(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [(name, digest) for digest, name in read_keys(path).items()]


def _write(path: Path, entries: list[tuple[str, str]]) -> None:
    """Replace the file atomically, readable by its owner only (a folder made for it: 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# flask_qed API keys: client-name  sha256-hex-of-key (managed by `qed keys`)\n")
            for name, digest in entries:
                fh.write(f"{name}  {digest}\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_key(path: str | Path, name: str) -> str:
    """Make a new random key for ``name``, store its hash and return the key."""
    if not NAME.match(name):
        raise ValueError(f"client name {name!r}: letters, digits and . _ @ - only, at most 64")
    path = Path(path)
    key = "qed_" + secrets.token_urlsafe(32)
    _write(path, [*_entries(path), (name, key_hash(key))])
    return key


def list_clients(path: str | Path) -> list[tuple[str, int]]:
    """Each client name with its number of keys."""
    counts: dict[str, int] = {}
    for name, _ in _entries(Path(path)):
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts.items())


def revoke(path: str | Path, name: str) -> int:
    """Remove every key of ``name``; return how many went."""
    path = Path(path)
    entries = _entries(path)
    kept = [(n, d) for n, d in entries if n != name]
    if len(kept) != len(entries):
        _write(path, kept)
    return len(entries) - len(kept)
