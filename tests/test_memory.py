"""The command's memory pages: normal pages only, for it and the processes it forks."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from riskmap import _memory

STATUS = Path("/proc/self/status")
needs_linux = pytest.mark.skipif(
    not STATUS.is_file() or "THP_enabled" not in STATUS.read_text(encoding="utf-8"),
    reason="the kernel shows no THP_enabled per process")

# the command with its main() replaced: prints what the kernel says of its process and of a
# process it forks
PROBE = """
import os
from riskmap import cli

def status():
    return [line.split()[1] for line in open("/proc/self/status") if line.startswith("THP_enabled")]

def main():
    print("command", *status())
    child = os.fork()
    if child == 0:
        print("forked", *status(), flush=True)
        os._exit(0)
    os.waitpid(child, 0)

cli.main = main
cli.run()
"""


def system_pages() -> None:
    """Run in a started process before Python: the system's huge pages back on (the test
    process itself uses normal pages, see ``conftest.py``, and its processes inherit that)."""
    ctypes.CDLL(None).prctl(_memory._PR_SET_THP_DISABLE, 0, 0, 0, 0)


@needs_linux
def test_command_and_forked_processes_use_normal_pages() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, preexec_fn=system_pages).stdout.split("\n")
    assert "command 0" in out
    assert "forked 0" in out


@needs_linux
def test_importing_the_modules_keeps_the_systems_setting() -> None:
    out = subprocess.run([sys.executable, "-c", "import riskmap._memory, riskmap.cli\n"
                          "print(open('/proc/self/status').read())"],
                         capture_output=True, text=True, check=True,
                         preexec_fn=system_pages).stdout
    assert "THP_enabled:\t1" in out.split("\n")
