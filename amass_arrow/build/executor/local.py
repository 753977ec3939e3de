"""The local executor: a process pool on this machine (in this process for one worker)."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from amass_arrow.build.warmstart import PRELOAD, THREAD_ENV, die_with_parent, ensure_fork_server
from amass_arrow.errors import ConfigError
from amass_arrow.io.remote import storage_env

from . import batches, register, run_batch


@register("local")
class LocalExecutor:
    """`workers` forkserver processes; none (the calling process) for one worker.

    The workers start as soon as the executor exists (a background thread asks for them), so the fork
    server's imports and kernel loading (build/preload.py, once for all workers) overlap the caller's
    planning instead of delaying the first task.
    """

    def __init__(self, workers: int, address: str | None = None):
        if address:
            raise ConfigError("--address is for --executor ray")
        self.workers = int(workers)
        self.pool: ProcessPoolExecutor | None = None
        self.saved_env: dict[str, str | None] = {}
        self._starter: threading.Thread | None = None
        if self.workers > 1:
            # Inherited by the workers through the fork server, which a process starts at its first pool
            # (so in a long-lived process that already has one, workers keep its thread settings).
            for k in THREAD_ENV:
                self.saved_env[k] = os.environ.get(k)
                os.environ[k] = "1"
            ctx = mp.get_context("forkserver")  # faster start than spawn; no fork of a threaded parent
            ctx.set_forkserver_preload(PRELOAD)  # applies when this process starts its fork server
            ensure_fork_server()  # from this thread, not the short-lived starter thread (die_with_parent)
            # the fork server keeps the environment it started with: hand the workers this process's
            # object-storage settings (AWS_*) as they are now
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_set_env,
                                            initargs=(storage_env(),))
            self._starter = threading.Thread(target=self._start_workers, name="amass-arrow-pool-start", daemon=True)
            self._starter.start()

    def _start_workers(self) -> None:
        """Spawn every worker now: one no-op task each (a submit spawns a process while none is idle)."""
        try:
            for _ in range(self.workers):
                self.pool.submit(_ready)
        except RuntimeError:  # closed meanwhile
            pass

    def map(self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, batch: int = 1) -> Iterator[tuple[Any, Any]]:
        items = list(items)
        if self.pool is None or (batch > 1 and len(items) <= batch):  # small peeks: not worth a round trip
            for item in items:
                yield item, fn(item, *args)
            return
        if batch > 1:  # tiny tasks (header peeks): this process runs them while the workers are still starting
            # (a submit would wait for them), then takes batches from the back while the workers take them from
            # the front; a batch a worker already holds cannot be cancelled
            chunks = batches(items, batch)
            while chunks and self._starter is not None and self._starter.is_alive():
                chunk = chunks.pop()
                yield from zip(chunk, run_batch(fn, chunk, args))
            futs = [(chunk, self.pool.submit(run_batch, fn, chunk, args)) for chunk in chunks]
            for chunk, fut in reversed(futs):
                if fut.cancel():
                    yield from zip(chunk, run_batch(fn, chunk, args))
            for chunk, fut in futs:
                if not fut.cancelled():
                    yield from zip(chunk, fut.result())
            return
        futs = {self.pool.submit(run_batch, fn, chunk, args): chunk for chunk in batches(items, batch)}
        for fut in as_completed(futs):
            yield from zip(futs[fut], fut.result())

    def close(self) -> None:
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.saved_env = {}


def _set_env(env: dict[str, str]) -> None:
    """Worker initializer: die with the fork server (which dies with the build, warmstart.die_with_parent);
    the parent's object-storage variables (and no stale ones)."""
    die_with_parent(None)
    for k in [k for k in os.environ if k.startswith("AWS_") and k not in env]:
        del os.environ[k]
    os.environ.update(env)


def _ready() -> None:
    """The no-op task that makes the pool start a worker."""
