"""The exception hierarchy: every error the library raises on purpose is an AmassArrowError.

Messages say what was wrong, where (file, key, SQL line) and what to do. The CLI turns these
into one clean line and a non-zero exit; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AmassArrowError(Exception):
    """Base class of all deliberate errors."""


class ConfigError(AmassArrowError):
    """A configuration file or option is invalid."""


class InputError(AmassArrowError):
    """One input file cannot be converted. `code` is a short stable reason used in rejects."""

    def __init__(self, path: str, code: str, message: str):
        self.path = str(path)
        self.code = code
        self.message = message
        super().__init__(f"{self.path}: {message} [{code}]")


class BodyModelError(AmassArrowError):
    """A body-model file is missing or malformed."""


class StoreError(AmassArrowError):
    """The store is missing, locked, of another format version, or corrupt."""


class BuildError(AmassArrowError):
    """A build converted nothing, or some files failed with internal errors (the rest is published)."""


class StoreLockedError(StoreError):
    """Another live process holds the store's write lock."""


class SQLError(AmassArrowError):
    """A SQL file or query failed; the message names the file and line."""


class SplitError(AmassArrowError):
    """A split definition is invalid (leakage, bad columns)."""


class ExportError(AmassArrowError):
    """An export cannot be written where asked (a folder that is not ours, no space left)."""


class LabelError(AmassArrowError):
    """An annotation file cannot be imported."""


class ExecutorError(AmassArrowError):
    """The executor failed to run a task (a Ray worker killed past its retries), not the task's own error."""


class MissingExtraError(AmassArrowError):
    """An optional dependency is not installed."""


def require(module: str, extra: str):
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(
            f"{module!r} is not installed; install it with: pip install 'amass-arrow[{extra}]'"
        ) from exc
