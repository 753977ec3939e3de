"""Typed configuration with every default in one place; loaded from configs/*.yaml, CLI flags override.

A YAML build config looks like::

    amass_root: /data/amass
    body_models: /data/body_models
    out: /data/amass_store
    workers: 2
    motion: {fps: 30, resample: interpolate, joints: body22, frame: z_up}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .schema import JOINT_SETS

RESAMPLE_MODES = ("interpolate", "decimate", "none")
FRAMES = ("z_up", "y_up")


@dataclass
class MotionConfig:
    """How each sequence becomes frame rows: rate, joints, frame and contact thresholds."""

    fps: float = 30.0  # store frame rate (Hz); ignored by resample='none'
    resample: str = "interpolate"  # interpolate (slerp/lerp) | decimate (ProtoMotions rule) | none
    joints: str = "body22"  # body22 | smpl24 | smplh52 | smplx55 | skeleton
    frame: str = "z_up"  # z_up (AMASS) | y_up (x, z, -y)
    contact_speed: float = 0.15  # m/s: a foot joint slower than this ...
    contact_height: float = 0.10  # m: ... and lower than this above the floor is in contact
    floor: str = "lowest_foot"  # lowest_foot (per-sequence floor from foot joints) | none
    joint_velocities: bool = False  # add joint_vel (m/s) column

    def validate(self) -> MotionConfig:
        if not (self.fps > 0):
            raise ConfigError(f"motion.fps must be > 0, got {self.fps!r}")
        _choice("motion.resample", self.resample, RESAMPLE_MODES)
        _choice("motion.joints", self.joints, tuple(JOINT_SETS) + ("skeleton",))
        _choice("motion.frame", self.frame, FRAMES)
        _choice("motion.floor", self.floor, ("lowest_foot", "none"))
        if self.contact_speed <= 0 or self.contact_height <= 0:
            raise ConfigError("motion.contact_speed and motion.contact_height must be > 0")
        return self


@dataclass
class BuildConfig:
    """Everything `amass-arrow build` needs."""

    amass_root: str | None = None
    body_models: str | None = None
    out: str | None = None
    workers: int = 1
    datasets: list[str] = field(default_factory=list)  # empty = all
    force: bool = False  # rebuild everything, ignoring what the store already has
    replace: bool = False  # allow a build that removes the store's sequences (other root, or more than half)
    fps_overrides: dict[str, float] = field(default_factory=dict)  # seq_id or dataset -> fps
    motion: MotionConfig = field(default_factory=MotionConfig)

    def validate(self) -> BuildConfig:
        for key in ("amass_root", "body_models", "out"):
            if not getattr(self, key):
                raise ConfigError(f"build needs {key!r} (a config value or a CLI argument)")
        if int(self.workers) < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        self.motion.validate()
        return self


def _choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def from_dict(cls, data: dict[str, Any], where: str = "config"):
    """Build dataclass `cls` from a dict, rejecting unknown keys (nested dataclasses too)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        default = fields[name].default_factory if fields[name].default_factory is not dataclasses.MISSING else None
        proto = default() if default else None
        if dataclasses.is_dataclass(proto) and isinstance(value, dict):
            value = from_dict(type(proto), value, f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_build_config(path: str | Path | None = None, **overrides: Any) -> BuildConfig:
    """Config file values, then non-None `overrides` (CLI flags; `motion_<key>` sets motion.<key>)."""
    data = load_yaml(path) if path else {}
    data = data.get("build", data)
    cfg = from_dict(BuildConfig, data, str(path or "config"))
    for key, value in overrides.items():
        if value is None:
            continue
        if key.startswith("motion_"):
            setattr(cfg.motion, key[len("motion_"):], value)
        else:
            setattr(cfg, key, value)
    return cfg.validate()


def to_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
