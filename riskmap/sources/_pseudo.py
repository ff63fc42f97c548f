"""Keyed pseudonymisation of identifiers at load.

Identifiers (KvK-, vestigings-, zaak- and address keys) are replaced by an HMAC-SHA256 under a
project key that lives outside the DuckDB file (``riskmap.key``, or ``RISKMAP_KEY`` in the
environment). Without the key the store cannot be linked back to the source records.

The store records a fingerprint of its key (never the key); every load that pseudonymises
checks it, so a lost or replaced key stops the load instead of silently breaking the links
between new and stored pseudonyms.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import chain, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmap._forked import processes_for, side_by_side, started, stopping, threaded
from riskmap.errors import ProjectError
from riskmap.sources._hmac import Batch, batch

if TYPE_CHECKING:
    from riskmap.store import Store

ENV_KEY = "RISKMAP_KEY"
DIGEST_CHARS = 16
CHUNK = 100_000  # values turned into Python objects at a time while hashing a Series
BATCH_CHUNK = 1_000_000  # values hashed by the C helper at a time (~0.2 s)
# From this many values per core, a Series is hashed in parts side by side, in forked processes
APART_FROM = 250_000
# From this many values in all, a load's pseudonyms are made in forked processes while it works
# on (below, forking costs more than hashing: 50,000 values take ~40 ms)
MEANWHILE_FROM = 50_000
FINGERPRINT = "key_fingerprint"
MIN_KEY_CHARS = 32
PSEUDONYMISED_TABLES = ("establishments", "addresses", "events")


class KeyProblemError(ProjectError):
    """The project key is missing, unreadable or not the key the store was made with."""


def fingerprint(key: bytes) -> str:
    """A fingerprint of a key that reveals nothing of it (HMAC-SHA256 of a fixed text)."""
    return hmac.new(key, b"riskmap key fingerprint", hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def _restore(path: Path) -> str:
    return (f"zet het oorspronkelijke {path.name} terug uit de back-up (of zet {ENV_KEY}) en "
            f"probeer opnieuw; een nieuwe sleutel maakt de koppeling met de opgeslagen gegevens "
            f"kapot")


def read_key(path: Path) -> bytes | None:
    """The project key from ``RISKMAP_KEY`` or the key file; ``None`` when neither exists.

    Raises :class:`KeyProblemError` (one Dutch line) for a file that cannot be read, is not text
    or is too short.
    """
    from_env = os.environ.get(ENV_KEY)
    if from_env is not None:
        key, where = from_env.strip(), ENV_KEY
    elif not path.exists():
        return None
    else:
        where = str(path)
        try:
            key = path.read_bytes().decode("ascii").strip()
        except OSError as exc:
            raise KeyProblemError(f"{path}: de sleutel is niet te lezen ({exc.strerror}); "
                             f"{_restore(path)}") from exc
        except UnicodeDecodeError as exc:
            raise KeyProblemError(f"{path}: de sleutel is geen tekst (binair bestand); "
                             f"{_restore(path)}") from exc
    if len(key) < MIN_KEY_CHARS or not key.isprintable():
        raise KeyProblemError(f"{where}: de sleutel is te kort of onleesbaar (minstens "
                         f"{MIN_KEY_CHARS} tekens nodig); {_restore(path)}")
    return key.encode()


def ensure_key(path: Path) -> bytes:
    """Read the project key, creating it (readable by the owner only) when there is none."""
    key = read_key(path)
    if key is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = os.umask(0o077)
    try:
        path.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    finally:
        os.umask(mask)
    path.chmod(0o600)
    return path.read_text(encoding="ascii").strip().encode()


def store_key(store: Store, path: Path) -> bytes:
    """The key to pseudonymise with for ``store``: the one whose fingerprint it records.

    A store that records no fingerprint yet records the key's (a new key is created only for a
    store that holds no pseudonymised rows). A missing, unreadable or different key raises
    :class:`KeyProblemError` saying what happened and how to restore the key.
    """
    recorded = store.meta(FINGERPRINT)
    key = read_key(path)
    if key is None and (recorded or _holds_pseudonyms(store)):
        made = f" (vingerafdruk {recorded})" if recorded else ""
        raise KeyProblemError(f"{path}: de sleutel ontbreekt, maar {store.path.name} is "
                         f"gepseudonimiseerd met een sleutel{made}; {_restore(path)}")
    key = key if key is not None else ensure_key(path)
    if recorded is None:
        store.set_meta(FINGERPRINT, fingerprint(key))
    elif fingerprint(key) != recorded:
        where = ENV_KEY if os.environ.get(ENV_KEY) is not None else str(path)
        raise KeyProblemError(f"{where}: dit is een andere sleutel (vingerafdruk {fingerprint(key)}) "
                         f"dan die van {store.path.name} ({recorded}); {_restore(path)}")
    return key


def _holds_pseudonyms(store: Store) -> bool:
    return any(store.scalar(f"SELECT count(*) FROM {t}") for t in PSEUDONYMISED_TABLES)


class Pseudonymiser:
    """Replace identifiers by a keyed hash; the same input and domain give the same output.

    The hash is HMAC-SHA256 (RFC 2104). The keyed inner and outer SHA-256 states are computed
    once and copied per value, which gives the same digests as :func:`hmac.new` at a fraction
    of the cost per identifier (millions of ids per national load); text columns are hashed
    the same way by a C helper, a million at a time (:mod:`riskmap.sources._hmac`), where it
    is built.
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
        raw, blank = self._digests(values, domain)
        text = raw.hex()
        return [None if missing else text[i * DIGEST_CHARS:(i + 1) * DIGEST_CHARS]
                for i, missing in enumerate(blank.tolist())]

    def series(self, values: pd.Series, domain: str) -> pd.Series:
        """:meth:`hash` for a Series, keeping its index, as Arrow-backed strings made straight
        from the digests: no Python string per pseudonym (10 million addresses have two)."""
        given, present = _present(values)
        # the C helper hashes a million values in a fifth of a second: no process to fork
        parts = 1 if batch() is not None and _is_text(present) else \
            processes_for(len(present) // APART_FROM)
        bounds = np.linspace(0, len(present), parts + 1).astype(int).tolist()
        done = list(side_by_side([partial(self._digests_between, present, start, stop, domain)
                                  for start, stop in pairwise(bounds)]))
        return _pseudonyms(_Digests(b"".join(part for part, _ in done),
                                    np.concatenate([part for _, part in done]), given),
                           values.index)

    @contextmanager
    def meanwhile(self, jobs: Sequence[tuple[pd.Series | Callable[[], pd.Series], str]],
                  index: pd.Index) -> Iterator[Later]:
        """Pseudonyms of each job's values (given, or made by a function of the caller's data,
        which it does not change in place meanwhile) and domain, computed while the caller
        works on: by the C helper in a thread of this process, else in forked processes (one
        per core at most); the caller takes them in order for the rows it kept
        (:meth:`Later.take`). Its other work forks no process meanwhile
        (:func:`riskmap._forked.threaded`, :func:`~riskmap._forked.started`). Fewer than
        :data:`MEANWHILE_FROM` values in all are hashed here, now."""
        if len(index) * len(jobs) < MEANWHILE_FROM:
            yield Later(iter([self._all_digests(values, domain) for values, domain in jobs]),
                        index)
            return
        # the C helper lets go of Python's lock while it hashes: a thread of this process does
        # it beside the caller, without copying the data to another process, and makes the
        # values of a job given as a function there too (a function reads data the caller no
        # longer changes in place: a loader makes new frames); values other than text are
        # hashed in Python, which holds the lock: in forked processes
        if batch() is not None and all(callable(values) or _is_text(values)
                                       for values, _ in jobs):
            with threaded([partial(self._all_digests, values, domain)
                           for values, domain in jobs]) as results:
                del jobs
                yield Later(results, index)
            return
        with started([partial(self._all_digests, values, domain) for values, domain in jobs],
                     background=True) as results:
            del jobs  # held by the tasks alone, so that a forked one's data is let go here
            yield Later(results, index)

    def _all_digests(self, values: pd.Series | Callable[[], pd.Series],
                     domain: str) -> _Digests:
        """The digests of all ``values`` (made first when a function is given)."""
        given, present = _present(values() if callable(values) else values)
        raw, blank = self._digests_between(present, 0, len(present), domain)
        return _Digests(bytes(raw), blank, given)

    def _digests_between(self, values: pd.Series, start: int, stop: int,
                         domain: str) -> tuple[bytearray, np.ndarray]:
        """:meth:`_digests` of ``values[start:stop]`` (given values only), a chunk at a time (in
        a forked task, each after :func:`~riskmap._forked.stopping` had its say): by the C
        helper (:mod:`riskmap.sources._hmac`) for text, else turned into Python objects."""
        hashed = batch()
        if hashed is None or not _is_text(values):
            def chunks() -> Iterator[list[object]]:
                for i in range(start, stop, CHUNK):
                    stopping()
                    yield values.iloc[i:min(i + CHUNK, stop)].tolist()
            return self._digests(chain.from_iterable(chunks()), domain)
        raw, blank = bytearray(), [np.zeros(0, dtype=bool)]
        for i in range(start, stop, BATCH_CHUNK):
            stopping()
            part_raw, part_blank = self._batch_digests(
                hashed, values.iloc[i:min(i + BATCH_CHUNK, stop)], domain)
            raw += part_raw
            blank.append(part_blank)
        return raw, np.concatenate(blank)

    def _batch_digests(self, hashed: Batch, values: pd.Series,
                       domain: str) -> tuple[bytes, np.ndarray]:
        """:meth:`_digests` of text values, none missing, by the C helper: the same digests
        (each value stripped as :meth:`str.strip` does, zeros for a blank one)."""
        # the loaders' module, here only: a new project reads its key without geopandas
        from riskmap.sources._io import arrow_strings  # noqa: PLC0415

        texts = arrow_strings(values).cast(pa.large_string())
        # a value that starts and ends with a printable ASCII character other than a space has
        # nothing to strip; the others (few) are stripped by Python, for its idea of a space
        odd = pc.match_substring_regex(texts, r"^[^!-~]|[^!-~]$")
        if pc.any(odd).as_py():
            stripped = [text.strip() for text in texts.filter(odd).to_pylist()]
            texts = pc.replace_with_mask(texts, odd, pa.array(stripped, pa.large_string()))
        blank = pc.equal(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False)
        width = DIGEST_CHARS // 2
        raw = hashed(self._key, f"{domain}:".encode(), texts, width)
        if blank.any():
            digests = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).copy()
            digests[blank] = 0
            raw = digests.tobytes()
        return raw, blank

    def _digests(self, values: Iterable[object], domain: str) -> tuple[bytearray, np.ndarray]:
        """The first ``DIGEST_CHARS / 2`` bytes of each value's HMAC, one after the other (zeros
        for a blank value), and which values are blank (None, NaN, NA or only spaces)."""
        inner = self._inner.copy()
        inner.update(f"{domain}:".encode())
        new_inner, new_outer = inner.copy, self._outer.copy
        width = DIGEST_CHARS // 2
        raw, blank, none = bytearray(), [], bytes(width)
        for value in values:
            # str first (also numpy's str_); None, NaN and NA are missing
            if isinstance(value, str):
                text = value.strip()
            elif value is None or value is pd.NA or (type(value) is float and math.isnan(value)):
                text = ""
            else:
                text = _text(value)
            if not text:
                raw += none
                blank.append(True)
                continue
            digest = new_inner()
            digest.update(text.encode())
            outer = new_outer()
            outer.update(digest.digest())
            raw += outer.digest()[:width]
            blank.append(False)
        return raw, np.array(blank, dtype=bool)


def _is_text(values: pd.Series) -> bool:
    """Whether every value is text (pandas' text dtype, or Python strings in an object column):
    then the text hashed is the value itself, stripped."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string"


def _present(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Which values are given, and those values: missing ones are blank without ever becoming
    Python objects."""
    given = values.notna().to_numpy(bool)
    return given, values if given.all() else values[given]


class _Digests(NamedTuple):
    """Digests of the values given (one after the other), which of those are blank, and
    which values were given (not missing)."""

    raw: bytes
    blank: np.ndarray
    given: np.ndarray


def _pseudonyms(digests: _Digests, index: pd.Index,
                positions: np.ndarray | None = None) -> pd.Series:
    """Pseudonyms as Arrow-backed text from their digests, of the values at ``positions``
    (default: all)."""
    width = DIGEST_CHARS // 2
    if positions is None and digests.given.all():  # the digests as they are, in order
        text, blank = digests.raw, digests.blank
    else:
        raw, blank = np.frombuffer(digests.raw, dtype=np.uint8).reshape(-1, width), digests.blank
        if not digests.given.all():  # a row of zeros for each value not given
            every, blank = np.zeros((len(digests.given), width), dtype=np.uint8), ~digests.given
            every[digests.given], blank[digests.given] = raw, digests.blank
            raw = every
        if positions is not None:
            raw, blank = raw[positions], blank[positions]
        text = raw.tobytes()
    n = len(blank)
    offsets = np.arange(0, DIGEST_CHARS * n + 1, DIGEST_CHARS, dtype=np.int64)
    valid = np.packbits(~blank, bitorder="little")
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(binascii.hexlify(text)),  # bytes: no str copy
        pa.py_buffer(valid), null_count=int(blank.sum()))
    return pd.Series(pd.array(array, dtype="str"), index=index)


class Later:
    """Pseudonyms made by :meth:`Pseudonymiser.meanwhile` (in forked processes, or here for
    few values) for rows labelled ``index``."""

    def __init__(self, results: Iterator[_Digests], index: pd.Index) -> None:
        self._results, self._index = results, index

    def take(self, index: pd.Index) -> pd.Series:
        """The next job's pseudonyms (waiting for them), for the rows labelled ``index`` (some
        or all of those given)."""
        digests = next(self._results)
        same = index.equals(self._index)
        return _pseudonyms(digests, index, None if same else self._index.get_indexer(index))


def _text(value: object) -> str:
    """The text that is hashed for a non-string value ("" for a missing one)."""
    return "" if value is None or pd.isna(value) else str(value).strip()
