"""The project key: recorded by fingerprint in the store; a missing, unreadable, binary or
different key stops every load that pseudonymises with one Dutch line (exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskmap.cli import main
from riskmap.config import KEY_NAME, STORE_NAME
from riskmap.project import Project
from riskmap.sources._pseudo import ENV_KEY, FINGERPRINT, KeyProblemError, fingerprint, store_key


@pytest.fixture
def loaded(project: Project, demo_sources: Path) -> Project:
    """A project with BAG addresses loaded (pseudonymised with its key)."""
    project.load_bag(demo_sources / "bagadres-full.csv")
    return project


def _load_kvk(capsys: pytest.CaptureFixture[str], project: Project, sources: Path) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["load", "kvk", str(sources / "kvk_vestigingen.csv"), "-p", str(project.root)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    return int(exit_info.value.code or 0), lines[-1] if lines else ""


def test_the_store_records_a_fingerprint_not_the_key(loaded: Project):
    key = (loaded.root / KEY_NAME).read_text(encoding="ascii").strip()
    with loaded.store(read_only=True) as store:
        recorded = store.meta(FINGERPRINT)
        text = " ".join(str(v) for v in store.query("SELECT value FROM meta")["value"])
    assert recorded == fingerprint(key.encode())
    assert key not in text
    assert (loaded.root / STORE_NAME).stat().st_mode & 0o777 == 0o600
    assert (loaded.root / KEY_NAME).stat().st_mode & 0o777 == 0o600


def test_a_missing_key_stops_the_load(capsys, loaded: Project, demo_sources: Path):
    (loaded.root / KEY_NAME).unlink()
    code, line = _load_kvk(capsys, loaded, demo_sources)
    assert code == 2
    assert "de sleutel ontbreekt" in line and "back-up" in line
    assert not (loaded.root / KEY_NAME).exists()  # no new key was made silently


def test_a_different_key_file_stops_the_load(capsys, loaded: Project, demo_sources: Path):
    (loaded.root / KEY_NAME).write_text("b" * 64 + "\n", encoding="ascii")
    code, line = _load_kvk(capsys, loaded, demo_sources)
    assert code == 2 and "andere sleutel" in line and "terug" in line


def test_a_different_key_in_the_environment_stops_the_load(capsys, loaded: Project,
                                                           demo_sources: Path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, "c" * 64)
    code, line = _load_kvk(capsys, loaded, demo_sources)
    assert code == 2 and line.startswith(f"riskmap: fout: {ENV_KEY}") and "andere sleutel" in line


def test_a_binary_key_stops_the_load(capsys, loaded: Project, demo_sources: Path):
    (loaded.root / KEY_NAME).write_bytes(os.urandom(48) + b"\xff\xfe")
    code, line = _load_kvk(capsys, loaded, demo_sources)
    assert code == 2 and "geen tekst" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_stops_the_load(capsys, loaded: Project, demo_sources: Path):
    (loaded.root / KEY_NAME).chmod(0)
    code, line = _load_kvk(capsys, loaded, demo_sources)
    assert code == 2 and "niet te lezen" in line


def test_the_same_key_from_the_environment_is_accepted(loaded: Project, monkeypatch):
    key = (loaded.root / KEY_NAME).read_text(encoding="ascii").strip()
    (loaded.root / KEY_NAME).unlink()
    monkeypatch.setenv(ENV_KEY, key)
    with loaded.store() as store:
        assert store_key(store, loaded.config.key_path) == key.encode()


def test_a_store_without_pseudonyms_gets_a_new_key(project: Project):
    (project.root / KEY_NAME).unlink()
    with project.store() as store:
        store.con.execute("DELETE FROM meta WHERE key = ?", [FINGERPRINT])
        key = store_key(store, project.config.key_path)
        assert store.meta(FINGERPRINT) == fingerprint(key)
    assert (project.root / KEY_NAME).stat().st_mode & 0o777 == 0o600


def test_a_too_short_key_is_refused(project: Project, monkeypatch):
    monkeypatch.setenv(ENV_KEY, "kort")
    with project.store() as store, pytest.raises(KeyProblemError, match=r"te kort"):
        store_key(store, project.config.key_path)
