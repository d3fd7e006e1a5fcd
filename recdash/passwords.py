"""The studio's password, stored as a salted scrypt hash (RFC 7914) and checked in constant time.

The studio asks for a password only where `.streamlit/secrets.toml` sets one (`password_hash`
under `[studio]`); on a local machine it is off. The file holds the hash, never the password:
`scrypt$n$r$p$salt$hash` with n=2**14, r=8, p=1 (the parameters RFC 7914 suggests for interactive
logins; about 16 MiB and some tens of milliseconds per check, which makes guessing a stolen hash
slow) and a 16-byte random salt, so two hashes of one password differ. `python -m
recdash.passwords` asks for a password and prints the line to paste.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import os
import sys

from recdash.errors import RecdashError

SCHEME = "scrypt"
N, R, P = 2 ** 14, 8, 1  # CPU/memory cost, block size, parallelism
SALT_BYTES, HASH_BYTES = 16, 32
MAX_N = 2 ** 20  # a stored cost above this would take a gigabyte per check: refused as malformed
SETTING = "`password_hash` under `[studio]` in `.streamlit/secrets.toml`"
FIX = ("make a new one with `python -m recdash.passwords` and paste the line it prints, or "
       "delete the line to turn the password off")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: scrypt needs 128 * r * (n + p) bytes; OpenSSL's default cap (32 MiB) is too tight
    # for stored costs above the default.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=128 * r * (n + p + 2) + 2 ** 20)


def hash_password(password: str) -> str:
    """The stored form of `password`: "scrypt$n$r$p$salt_b64$hash_b64", with a fresh salt.

    Raises:
        RecdashError: an empty password.
    """
    if not isinstance(password, str) or not password:
        raise RecdashError("the password is empty; choose one of at least a few words")
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P, HASH_BYTES)
    return "$".join([SCHEME, str(N), str(R), str(P), _b64(salt), _b64(digest)])


def check_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` (a `hash_password` result) was made from.

    Raises:
        RecdashError: `stored` is not a hash that `hash_password` makes (names the setting and
            the fix).
    """
    n, r, p, salt, digest = _parse(stored)
    if not isinstance(password, str):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(digest)), digest)


def _parse(stored: object) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$") if isinstance(stored, str) else []
    try:
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError("it does not have the form scrypt$n$r$p$salt$hash")
        n, r, p = (int(v) for v in parts[1:4])
        if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= 64 or not 1 <= p <= 16:
            raise ValueError(f"its cost n={n}, r={r}, p={p} is out of range")
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
        if len(salt) < 8 or len(digest) < 16:
            raise ValueError("its salt or hash is too short")
    except (ValueError, binascii.Error) as err:
        raise RecdashError(f"the studio password's hash ({SETTING}) is not valid: {err}. "
                           f"Fix: {FIX}") from None
    return n, r, p, salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def secrets_line(password: str) -> str:
    """The TOML line to paste under `[studio]` in `.streamlit/secrets.toml`."""
    return f'password_hash = "{hash_password(password)}"'


def _read_password() -> str:
    if not sys.stdin.isatty():  # piped: one line, without its line ending
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Studio password: ")
    if getpass.getpass("Again: ") != first:
        raise RecdashError("the two passwords differ; run the command again")
    return first


def main() -> int:
    """Read a password (twice at a terminal, one line from a pipe) and print the line to paste."""
    try:
        line = secrets_line(_read_password())
    except RecdashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("Paste this line under [studio] in .streamlit/secrets.toml:", file=sys.stderr)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
