"""The local pool's fork server, startable before anything heavy is imported (this module imports
only the standard library; `amass-arrow build` calls `start_fork_server` first thing).

Lifetime: the fork server and the workers die with the process that started them, even after a
`kill -9` (Linux: `PR_SET_PDEATHSIG`). multiprocessing alone does not do it: every worker holds the
fork server's "alive" pipe open, and the fork server and the workers wait on each other forever.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys

#: one BLAS/OpenMP thread per worker: with N workers on N cores, each library's own thread pool
#: only oversubscribes the CPU (measured: 2 workers 5.6 s -> 3.8 s for 1M source frames)
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: what the fork server imports (and warms) once, before it forks the workers
PRELOAD = ["amass_arrow.build.preload"]
#: set (to the starting process's pid) only in the fork server's environment: preload.py reads it
OWNER_ENV = "AMASS_ARROW_FORK_SERVER_OWNER"
_PR_SET_PDEATHSIG = 1


def one_blas_thread() -> None:
    """THREAD_ENV = 1 in this process's environment: set before numpy is imported, it keeps a build's own
    process (the one-worker build converts in it) from running BLAS threads that only spin on its
    small matrices (measured: a 1-worker build used ~1 CPU-s per 1M source frames more than its wall)."""
    for k in THREAD_ENV:
        os.environ[k] = "1"


def start_fork_server() -> None:
    """Start the pool's fork server now, in the background: it imports and warms the pipeline
    (PRELOAD) while the caller does its own start-up, and the workers fork from it later.

    The worker thread settings (THREAD_ENV) are set now, as the fork server keeps the environment it
    starts with; this process keeps them too (it only plans and publishes).
    """
    one_blas_thread()
    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
    ensure_fork_server()


def ensure_fork_server() -> None:
    """Start the fork server from the calling thread if it is not running; it is told this process's pid
    (OWNER_ENV), so that it dies with this process (see die_with_parent). Call it from a thread that
    lives as long as the pool (the main thread): Linux signals a child when the thread that started it ends."""
    from multiprocessing import forkserver

    os.environ[OWNER_ENV] = str(os.getpid())
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(OWNER_ENV, None)


def die_with_parent(parent: int | None) -> None:
    """Ask Linux to SIGKILL this process when its parent ends; exit now if `parent` (the expected parent
    pid) has already gone. A no-op elsewhere than Linux."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: keep the old behaviour
        return
    if parent is not None and os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
