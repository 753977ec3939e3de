"""Normalization statistics: per-feature count/mean/M2 in float64, mergeable across chunks.

Chunks merge with the parallel-variance formula (Chan et al.), so stats computed per batch,
per worker or per sequence combine exactly; `std` is the population standard deviation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class RunningStats:
    """count (scalar), mean and m2 (shape F, float64) of one feature."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> RunningStats:
        """Stats of a chunk `x` of shape (N, F) (any float dtype; accumulated in float64)."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
        return cls(len(x), mean, ((x - mean) ** 2).sum(axis=0))

    def merge(self, other: RunningStats) -> RunningStats:
        n = self.count + other.count
        if n == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        return RunningStats(n, mean, m2)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.count, 1))

    def to_dict(self) -> dict:
        return {"count": int(self.count), "mean": self.mean.tolist(), "std": self.std.tolist()}


class FeatureStats:
    """RunningStats per named feature; `update({name: (N, F) array})`."""

    def __init__(self) -> None:
        self.stats: dict[str, RunningStats] = {}

    def update(self, chunk: dict[str, np.ndarray]) -> None:
        for k, x in chunk.items():
            s = RunningStats.of(x)
            self.stats[k] = self.stats[k].merge(s) if k in self.stats else s

    def to_dict(self) -> dict:
        return {k: v.to_dict() for k, v in self.stats.items()}

    def save(self, path: Path, **meta) -> Path:
        path.write_text(json.dumps({**meta, "features": self.to_dict()}, indent=1))
        return path
