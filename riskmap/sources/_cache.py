"""Disk cache for network responses, keyed by a hash of the request; only good responses."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from riskmap.errors import InputError, OfflineError

log = logging.getLogger(__name__)


def request_key(request: Mapping[str, Any]) -> str:
    """A stable short hash of a request description."""
    text = json.dumps(request, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(folder: Path, name: str, request: Mapping[str, Any]) -> Path:
    """Where the response to ``request`` is cached."""
    return folder / f"{name}_{request_key(request)}.json"


def cached_fetch(folder: Path, name: str, request: Mapping[str, Any],
                 fetch: Callable[[], Any], offline: bool) -> tuple[Any, Path]:
    """Return the response to ``request``, from the network or the cache.

    Online, the response is fetched and cached (replacing an older copy); when the network fails
    and a cached copy exists, that copy is used with a warning. Offline, only the cache is read.

    Raises
    ------
    OfflineError
        When offline (or the network fails) and nothing is cached for this request.
    """
    path = cache_path(folder, name, request)
    if offline:
        if not path.exists():
            raise OfflineError(f"offline en geen bewaarde kopie van {name} in {folder} "
                               f"(verwacht {path.name}); laad één keer zonder --offline (met "
                               f"netwerk)")
        return read_cache(path), path
    try:
        response = fetch()
    except OSError as exc:  # requests' ConnectionError and HTTPError derive from OSError
        if path.exists():
            log.warning("netwerkaanvraag voor %s mislukt (%s); de bewaarde kopie %s wordt gebruikt",
                        name, exc, path)
            return read_cache(path), path
        raise OfflineError(f"{name}: het netwerk is niet bereikbaar en er is geen bewaarde kopie "
                           f"({str(exc).splitlines()[0]}); probeer het later opnieuw") from exc
    write_cache(path, request, response)
    return response, path


def read_cache(path: Path) -> Any:
    """The response in a cache file.

    Raises
    ------
    InputError
        When the file is truncated, not JSON, or not a cached response; the message says to
        delete it and fetch again.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"afgebroken of geen JSON: {str(exc).splitlines()[0]}"
    except OSError as exc:
        problem = f"niet te lezen: {exc.strerror}"
    else:
        if isinstance(data, dict) and isinstance(data.get("response"), dict):
            return data["response"]
        problem = "geen opgeslagen antwoord (sleutel 'response' ontbreekt)"
    raise InputError(f"{path}: beschadigd cachebestand ({problem}); herstel: verwijder het en "
                     f"laad opnieuw zonder --offline (met netwerk)")


def write_cache(path: Path, request: Mapping[str, Any], response: Any) -> None:
    """Write a response atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"request": request, "response": response}, ensure_ascii=False),
                   encoding="utf-8")
    tmp.replace(path)
