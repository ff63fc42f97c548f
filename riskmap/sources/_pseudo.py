"""Keyed pseudonymisation of identifiers at load.

Identifiers (KvK-, vestigings-, zaak- and address keys) are replaced by an HMAC-SHA256 under a
project key that lives outside the DuckDB file (``riskmap.key``, or ``RISKMAP_KEY`` in the
environment). Without the key the store cannot be linked back to the source records.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from riskmap.errors import ProjectError

ENV_KEY = "RISKMAP_KEY"
DIGEST_CHARS = 16


def ensure_key(path: Path) -> bytes:
    """Read the project key, creating it (readable by the owner only) when missing."""
    from_env = os.environ.get(ENV_KEY)
    if from_env:
        return from_env.encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        path.chmod(0o600)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ProjectError(f"{path}: pseudonymisation key is too short (need >= 32 characters)")
    return key.encode()


class Pseudonymiser:
    """Replace identifiers by a keyed hash; the same input and domain give the same output.

    The hash is HMAC-SHA256 (RFC 2104). The keyed inner and outer SHA-256 states are computed
    once and copied per value, which gives the same digests as :func:`hmac.new` at a fraction
    of the cost per identifier (millions of ids per national load).
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def hash(self, values: Iterable[object], domain: str) -> list[str | None]:
        """Pseudonymise values; blanks stay missing.

        ``domain`` separates identifier kinds (``"kvk"``, ``"adres"``, ...) so that equal
        numbers of different kinds do not get equal pseudonyms.
        """
        inner = self._inner.copy()
        inner.update(f"{domain}:".encode())
        new_inner, new_outer = inner.copy, self._outer.copy
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            text = value.strip() if type(value) is str else _text(value)
            if not text:
                append(None)
                continue
            digest = new_inner()
            digest.update(text.encode())
            outer = new_outer()
            outer.update(digest.digest())
            append(outer.hexdigest()[:DIGEST_CHARS])
        return out

    def series(self, values: pd.Series, domain: str) -> pd.Series:
        """:meth:`hash` for a Series, keeping its index."""
        return pd.Series(self.hash(values.tolist(), domain), index=values.index, dtype=object)


def _text(value: object) -> str:
    """The text that is hashed for a non-string value ("" for a missing one)."""
    return "" if value is None or pd.isna(value) else str(value).strip()
