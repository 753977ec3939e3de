"""The local pool's fork server, startable before anything heavy is imported (this module imports
only the standard library; `amass-arrow build` calls `start_fork_server` first thing)."""

from __future__ import annotations

import multiprocessing as mp
import os

#: one BLAS/OpenMP thread per worker: with N workers on N cores, each library's own thread pool
#: only oversubscribes the CPU (measured: 2 workers 5.6 s -> 3.8 s for 1M source frames)
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: what the fork server imports (and warms) once, before it forks the workers
PRELOAD = ["amass_arrow.build.preload"]


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
    from multiprocessing import forkserver

    one_blas_thread()
    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()
