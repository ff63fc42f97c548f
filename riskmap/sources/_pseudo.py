"""Keyed pseudonymisation of identifiers at load.

Identifiers (KvK-, vestigings-, zaak- and address keys) are replaced by an HMAC-SHA256 under a
project key that lives outside the DuckDB file (``riskmap.key``, or ``RISKMAP_KEY`` in the
environment). Without the key the store cannot be linked back to the source records.
"""

from __future__ import annotations

import hashlib
import hmac
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
    """Replace identifiers by a keyed hash; the same input and domain give the same output."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def hash(self, values: Iterable[object], domain: str) -> list[str | None]:
        """Pseudonymise values; blanks stay missing.

        ``domain`` separates identifier kinds (``"kvk"``, ``"adres"``, ...) so that equal
        numbers of different kinds do not get equal pseudonyms.
        """
        prefix = f"{domain}:".encode()
        out: list[str | None] = []
        for value in values:
            text = "" if value is None or pd.isna(value) else str(value).strip()
            if not text:
                out.append(None)
                continue
            digest = hmac.new(self._key, prefix + text.encode(), hashlib.sha256).hexdigest()
            out.append(digest[:DIGEST_CHARS])
        return out

    def series(self, values: pd.Series, domain: str) -> pd.Series:
        """:meth:`hash` for a Series, keeping its index."""
        return pd.Series(self.hash(values.tolist(), domain), index=values.index, dtype=object)
