"""How this process takes memory from the operating system.

riskmap's large steps allocate and free arrays of hundreds of megabytes. On Linux, numpy (for
arrays of 4 MB and more) and Arrow's memory pool ask for transparent huge pages (2 MB pages):
each fault then has the kernel find and clear a free 2 MB block. On the benchmark's machine (a
virtual machine that hands free memory back to its host in such blocks) that made fresh memory
cost 5–9 s per GB against 0.4 s per GB in normal pages; the national BAG load spent more time
in the kernel than in its own code (``docs/performance.md``, fourteenth pass).
"""

from __future__ import annotations

import ctypes
import sys

# <linux/prctl.h>: PR_SET_THP_DISABLE, inherited by forked processes and kept across exec
_PR_SET_THP_DISABLE = 41


def small_pages() -> bool:
    """Have this process and those it forks or starts use normal pages only, not transparent
    huge pages (Linux; elsewhere nothing changes). Whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # no C library to call, or without prctl
        return False
