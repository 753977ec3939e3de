"""The local pool's fork server, startable before anything heavy is imported (this module imports
only the standard library; `amass-arrow build` calls `start_fork_server` first thing)."""

from __future__ import annotations

import multiprocessing as mp
import os

#: one BLAS/OpenMP thread per worker: with N workers on N cores, each library's own thread pool
#: only oversubscribes the CPU (measured: 2 workers 5.6 s -> 3.8 s for 1M source frames)
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: what the fork server imports (and warms) once, before it forks the workers
PRELOAD = ["amass_arrow.executor.preload"]


def start_fork_server() -> None:
    """Start the pool's fork server now, in the background: it imports and warms the pipeline
    (PRELOAD) while the caller does its own start-up, and the workers fork from it later.

    The worker thread settings (THREAD_ENV) are set now, as the fork server keeps the environment it
    starts with; this process keeps them too (it only plans and publishes).
    """
    from multiprocessing import forkserver

    for k in THREAD_ENV:
        os.environ[k] = "1"
    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()
