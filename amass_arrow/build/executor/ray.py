"""The Ray executor: the build's tasks on a Ray cluster (extra `amass-arrow[ray]`).

`address=None` starts a local Ray with `workers` CPUs for this build and stops it afterwards; an
address ('auto', 'ray://head:10001') joins a running cluster, which is left running. A Ray already
initialised in this process (a notebook, a test) is used as it is. Every worker must see the body
models folder and the store (a shared or object-store path: `s3://bucket/store`), and import
amass_arrow. Ray gives each one-CPU task OMP_NUM_THREADS=1, as the local pool does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from amass_arrow.errors import AmassArrowError, ConfigError, ExecutorError

from . import batches, register, run_batch


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'amass-arrow[ray]'") from None
    return ray


@register("ray")
class RayExecutor:
    """Ray tasks of one CPU each; at most `2 * workers` in flight so results stream back as they finish."""

    def __init__(self, workers: int, address: str | None = None):
        ray = self.ray = _ray()
        self.owned = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=int(workers), **kw)
            self.owned = True
        self.workers = int(ray.available_resources().get("CPU", workers)) if address else int(workers)
        self.task = ray.remote(num_cpus=1, max_retries=1)(run_batch)

    def map(self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, batch: int = 1) -> Iterator[tuple[Any, Any]]:
        ray = self.ray
        chunks = batches(list(items), batch)
        args_ref = ray.put(args)  # once, not once per task
        window = max(2, 2 * self.workers)
        pending: dict[Any, list[Any]] = {}
        nxt = 0
        while nxt < len(chunks) or pending:
            while nxt < len(chunks) and len(pending) < window:
                pending[self.task.remote(fn, chunks[nxt], args_ref)] = chunks[nxt]
                nxt += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                chunk = pending.pop(ref)
                yield from zip(chunk, self._get(ref, chunk))

    def _get(self, ref, chunk: list[Any]) -> list[Any]:
        """A task's results; Ray's own failures (a worker killed past its retries, a lost node) as one line.
        An error the task raised on purpose (AmassArrowError) stays itself."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, AmassArrowError):
                raise cause from None
            first = getattr(chunk[0], "rel", chunk[0]) if chunk else "?"
            what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExecutorError(
                f"Ray task failed ({type(exc).__name__}: {what}) on {len(chunk)} file(s) from {first}; "
                f"re-run the build to resume (finished files are kept)") from None

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()
        self.owned = False
