"""API keys: created by `recdash keys create NAME`, stored hashed in the workspace's catalog, and
checked in constant time on every request but `/health`.

A key is 32 random bytes (`secrets.token_urlsafe`), shown once when created. The catalog keeps
only its SHA-256: a key has 256 bits of entropy, so a slow password hash would add nothing but
latency, and a stolen catalog reveals no key. A presented key is hashed and compared with every
stored hash by `hmac.compare_digest`, always all of them, so the time taken says nothing about
which key came close.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time

from recdash.errors import RecdashError

PREFIX = "rdk_"
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
REFRESH_S = 1.0  # a server re-reads the keys this often: a revoked key stops within a second

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL, created REAL NOT NULL);
"""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(ws, name: str) -> str:
    """A new key named `name`; returns the key itself (stored only as its hash).

    Raises:
        RecdashError: a bad or taken name.
    """
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise RecdashError(f"key name {name!r} is not allowed: use 1-64 letters, digits, '_', "
                           "'-' or '.', starting with a letter or digit (e.g. 'shop-web')")
    key = PREFIX + secrets.token_urlsafe(32)
    with ws.connect() as db:
        db.executescript(_SCHEMA)
        if db.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
            raise RecdashError(f"a key named '{name}' exists; pick another name or revoke it "
                               f"first (recdash keys revoke {name})")
        db.execute("INSERT INTO api_keys VALUES (?, ?, ?)", (name, _hash(key), time.time()))
    return key


def list_keys(ws) -> list[dict]:
    """Every key's name and creation time (never the key)."""
    with ws.connect() as db:
        db.executescript(_SCHEMA)
        rows = db.execute("SELECT name, created FROM api_keys ORDER BY created").fetchall()
    return [{"name": n, "created": c} for n, c in rows]


def revoke_key(ws, name: str) -> bool:
    """Remove a key; returns whether it existed."""
    with ws.connect() as db:
        db.executescript(_SCHEMA)
        return db.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount > 0


class KeyCheck:
    """Checks presented keys against the workspace's, re-reading them every REFRESH_S."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._keys: list[tuple[str, str]] = []
        self._read_at = float("-inf")
        with ws.connect() as db:  # the table exists from here on
            db.executescript(_SCHEMA)
        # One read-only connection for the re-reads: a plain SELECT on the request path, never
        # the schema statements and journal pragma that `Workspace.connect` runs (they take
        # locks that another worker or a training job may hold for a while).
        self._db = sqlite3.connect(f"file:{ws.root / 'catalog.sqlite'}?mode=ro", uri=True,
                                   timeout=5, check_same_thread=False, isolation_level=None)

    def _current(self) -> list[tuple[str, str]]:
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_S:
                try:
                    self._keys = self._db.execute("SELECT name, hash FROM api_keys").fetchall()
                except sqlite3.OperationalError:  # busy past the timeout: keep the last read
                    pass
                self._read_at = time.monotonic()
            return self._keys

    def any(self) -> bool:
        """Whether the workspace has a key at all."""
        return bool(self._current())

    def name_of(self, presented: str | None) -> str | None:
        """The name of the key presented, or None when it matches none."""
        if not presented:
            return None
        digest = _hash(presented).encode()
        found = None
        for name, stored in self._current():  # every key, whatever matched: constant time
            if hmac.compare_digest(digest, stored.encode()):
                found = name
        return found
