"""Shared fixtures: the demo run (once per session), fresh projects, real reference data."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pandas as pd
import pytest
from _shared_demo import share_demo, share_sources

from riskmap import _memory, cli
from riskmap.demo import DemoRun, run_demo
from riskmap.project import Project

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


_LOGGER = logging.getLogger("riskmap")
_LOGGING = (list(_LOGGER.handlers), _LOGGER.level, _LOGGER.propagate)  # before any test


@pytest.fixture(autouse=True)
def _logging_as_before() -> Iterator[None]:
    """Each test ends with riskmap's logging as it was before the session. A command run
    in-process (``riskmap.cli.main``, also in module fixtures) gives the ``riskmap`` logger the
    console's handler, which holds a command's lines until it ends, and a run log: kept, they
    would collect the warnings of later tests and print them when the session ends, and keep
    a log file open."""
    yield
    handlers, level, propagate = _LOGGING
    root = logging.getLogger()
    commands = (cli._StderrHandler, cli._LibraryHandler, cli._HeldLines)
    for handler in [h for h in root.handlers if isinstance(h, commands) or h in cli._RUN_LOG]:
        root.removeHandler(handler)
    for handler in _LOGGER.handlers:
        if handler not in handlers:
            if isinstance(handler, cli._HeldLines):
                handler.drop()  # lines of a command that did not end (it raised in the test)
            handler.close()
    _LOGGER.handlers[:] = handlers
    _LOGGER.setLevel(level)
    _LOGGER.propagate = propagate
    cli._CONSOLE.clear()
    cli._RUN_LOG.clear()


SHARED_DEMO = "shared-demo"
_SHARER: dict[str, subprocess.Popen[str]] = {}


def pytest_configure(config: pytest.Config) -> None:
    """The tests run with the memory pages the ``riskmap`` command uses (normal pages, see
    :mod:`riskmap._memory`; the workers of pytest-xdist inherit them): the library is tested as
    the command runs it, and the suite takes a few seconds less (two pairs in turns: 202 / 182
    against 220 / 191 s). The tests read the XLSX outputs with the reader riskmap reads XLSX
    sources with (calamine)."""
    del config
    _memory.small_pages()
    pd.set_option("io.excel.xlsx.reader", "calamine")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller starts the shared demo run (see ``_shared_demo.py``)."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    shared = config._tmp_path_factory.getbasetemp() / SHARED_DEMO  # the workers' parent folder
    # in a process group of its own: a session that ends before the run does (a few tests
    # chosen) stops it together with the processes it forked, which would else wait forever
    _SHARER["process"] = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_shared_demo.py")), str(shared)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    process = _SHARER.pop("process", None)
    if process is not None:
        with suppress(ProcessLookupError):  # the group is gone once all of it has ended
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The whole demo pipeline, run once into a temporary folder.

    Under pytest-xdist one run serves every worker (``_shared_demo.py``); each worker gets its
    own copy of the project, so no two processes open one store.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return run_demo(tmp_path_factory.mktemp("demo") / "project")
    shared = tmp_path_factory.getbasetemp().parent / SHARED_DEMO
    period, loads, outputs = pickle.loads(share_demo(shared).read_bytes())
    own = tmp_path_factory.mktemp("demo") / "project"
    shutil.copytree(shared / "project", own)
    return DemoRun(Project(own), period, loads, {name: own / path for name, path in outputs.items()})


# A second demo run, for the reproducibility test, in its own process started when the session
# begins: the suite runs mostly on one core, so on two cores it costs little wall time.
RERUN_FIXTURE = "demo_rerun"
_RERUN: dict[str, object] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files marked ``early`` first, then files that need no demo run, so that under xdist
    both workers have work while the shared demo run is being made instead of waiting for it
    (order within a file kept)."""
    needs = {item.path for item in items if "demo_run" in getattr(item, "fixturenames", ())}
    early = {item.path for item in items if item.get_closest_marker("early")}
    items.sort(key=lambda item: (item.path not in early, item.path in needs))


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(RERUN_FIXTURE in getattr(item, "fixturenames", ()) for item in session.items):
        folder = Path(tempfile.mkdtemp(prefix="riskmap-rerun-"))
        code = "import sys; from riskmap.demo import run_demo; run_demo(sys.argv[1])"
        _RERUN["folder"] = folder
        _RERUN["process"] = subprocess.Popen(
            [sys.executable, "-c", code, str(folder / "project")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def demo_rerun() -> Iterator[Project]:
    """The demo project run a second time, from scratch, in another process (see above)."""
    process, folder = _RERUN["process"], _RERUN["folder"]
    assert isinstance(process, subprocess.Popen) and isinstance(folder, Path)
    _, errors = process.communicate()
    assert process.returncode == 0, errors
    yield Project(folder / "project")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's source files in the real formats (made before, and without, the demo run)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return share_sources(tmp_path_factory.mktemp("demo-sources"))
    return share_sources(tmp_path_factory.getbasetemp().parent / SHARED_DEMO)


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory, demo_sources: Path) -> Path:
    """A Havenwaard project with boundaries and bedrijventerreinen loaded, made once per
    process: :func:`project` copies it."""
    root = tmp_path_factory.mktemp("template") / "p"
    shutil.copytree(demo_sources / "cbs", root / "sources" / "cbs")
    project = Project.init(root, "GM9999", 2024, naam="Havenwaard", **{"paths.cache": "sources"})
    project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")
    project.load_bedrijventerreinen(demo_sources / "ibis_bedrijventerreinen.gpkg")
    return root


@pytest.fixture
def project(tmp_path: Path, project_template: Path) -> Project:
    """A fresh Havenwaard project with boundaries and bedrijventerreinen loaded (a copy of
    :func:`project_template`: its own store, key and folders)."""
    shutil.copytree(project_template, tmp_path / "p")
    return Project(tmp_path / "p")


@pytest.fixture
def bare_project(tmp_path: Path) -> Project:
    """A project without boundaries: enough for files refused before any row is placed."""
    return Project.init(tmp_path / "bare", "GM9999", 2024)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real CBS data; tests skip (with the reason) where it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real reference data not found at {REALDATA}")
    return REALDATA


# --- headless Chromium with the network off (browser tests) ---------------------------------
REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    """Debian's chromium; installed by ``scripts/ensure-chromium`` when missing (loudly)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        result = subprocess.run([str(REPO / "scripts" / "ensure-chromium")],
                                capture_output=True, text=True, check=False)
        found = shutil.which("chromium")
        if result.returncode or found is None:
            pytest.fail(f"chromium is needed for the browser tests and could not be installed:"
                        f"\n{result.stderr}")
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else str(found)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("RISKMAP_SCREENSHOTS", REPO / "out" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A page with the network off: non-file requests are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
    page = context.new_page()
    page.attempted = []
    page.errors = []

    def block(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            page.attempted.append(url)
            route.abort()

    page.route("**/*", block)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()
