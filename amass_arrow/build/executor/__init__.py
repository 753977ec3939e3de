"""Executors: run the build's one per-file function over many inputs, wherever the workers are.

The build plans (which files, with which `convert.Settings`), an executor runs a plain module-level
function `fn(item, *args)` on every item and yields `(item, result)` as results arrive, and the store
publishes. The same function runs under every executor, so the output does not depend on where it ran:

    local   worker processes on this machine (`executor/local.py`; in-process for one worker)
    ray     tasks on a Ray cluster, or a local Ray started for the build (`executor/ray.py`, extra `amass-arrow[ray]`)

An executor is one module here whose class is decorated `@register("<module name>")`; `config.EXECUTORS`
lists the modules' names (read from the files), and `make_executor` imports the one asked for.

Workers keep per-process state (body models) in caches of the task functions, not in executor globals.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from amass_arrow.config import EXECUTORS
from amass_arrow.errors import ConfigError


class Executor(Protocol):
    """Runs `fn(item, *args)` for every item; results arrive in completion order."""

    workers: int

    def map(self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, batch: int = 1) -> Iterator[tuple[Any, Any]]:
        """Yield (item, fn(item, *args)); `batch` items travel together per task (for tiny tasks such as header peeks)."""
        ...

    def close(self) -> None:
        """Stop what this executor started (a pool, a local Ray); pending tasks are cancelled."""
        ...


_REGISTERED: dict[str, Callable[..., Executor]] = {}


def register(name: str):
    """Class decorator: `cls(workers, address)` is the executor `name` (its module's name)."""

    def deco(cls):
        _REGISTERED[name] = cls
        return cls

    return deco


def make_executor(kind: str, workers: int, address: str | None = None) -> Executor:
    """The executor named `kind` with `workers` parallel tasks; `address` is a Ray cluster ('auto' = the running one)."""
    if kind not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}; got {kind!r}")
    if kind not in _REGISTERED:
        importlib.import_module(f"{__name__}.{kind}")
    return _REGISTERED[kind](workers, address)


def run_batch(fn: Callable[..., Any], items: list[Any], args: tuple[Any, ...]) -> list[Any]:
    """The task every executor ships: `fn` over a batch of items (module level, so it pickles by name)."""
    return [fn(item, *args) for item in items]


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]
