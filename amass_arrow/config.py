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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .schema import FRAMES, JOINT_SETS


def plugin_names(*folder: str, first: str) -> tuple[str, ...]:
    """Names of the plugins in a package folder under amass_arrow/ (one module = one plugin, named by its file),
    read from the file names so that configuration imports none of them: `first` (the default), then the others
    in reverse name order (the order the CLI help and the fidelity table have always shown)."""
    names = sorted((p.stem for p in Path(__file__).parent.joinpath(*folder).glob("*.py") if not p.stem.startswith("_")),
                   reverse=True)
    return tuple(sorted(names, key=lambda n: n != first))


EXECUTORS = plugin_names("build", "executor", first="local")  # build/executor/<name>.py registers executor <name>
RESAMPLE_MODES = ("interpolate", "decimate", "none")
#: motion/contact_methods/<name>.py registers contact method <name>
CONTACT_METHODS = plugin_names("motion", "contact_methods", first="default")


# ---------------------------------------------------------------- contact parameters (motion.contacts reads them)
@dataclass(frozen=True)
class DefaultParams:
    """Thresholds of the default detector; the defaults live in MotionConfig (contact_*)."""

    speed: float  # m/s over `window`: enter a contact below this ...
    height: float  # m above the local floor: ... and below this
    speed_exit: float  # m/s: stay in contact while slower than this ...
    height_exit: float  # m: ... and lower than this
    window: float  # s: speed = displacement over this centred window / window
    floor_window: float  # s: local floor = max(min height over the past, over the next) this long
    min_gap: float  # s: shorter breaks inside a contact are closed
    min_contact: float  # s: shorter contacts are dropped

    @classmethod
    def defaults(cls) -> DefaultParams:
        return MotionConfig().contact_params()


#: ProtoMotions convert_amass_to_proto.py: output rate 30 by divisor, height fix offset (their default
#: --humanoid-type smpl; 0.017 for smplx), thresholds, velocity horizon (frames)
PROTOMOTIONS = {"fps": 30.0, "speed": 0.15, "height": 0.10, "height_offset": 0.015, "horizon": 3}
#: HumanML3D: 20 fps by int(fps / 20) stepping; squared displacement per frame < 0.002 m^2
HUMANML3D = {"fps": 20.0, "sq_displacement": 0.002}


SOURCE_FRAMES = ("auto", *FRAMES)


@dataclass
class QualityConfig:
    """Thresholds of the quality flags (amass_arrow.motion.quality.FLAG_RULES) and of the orientation check."""

    max_foot_skating: float = 0.5  # m/s mean horizontal speed of feet in contact -> 'foot_skating'
    max_floor_penetration: float = 0.05  # m under the floor -> 'floor_penetration'
    max_joint_speed: float = 20.0  # m/s any joint, any frame -> 'joint_speed_spike'
    max_jitter: float = 2000.0  # m/s^3 mean jerk (clean runs and jumps reach ~900 at 30 fps; 1 cm noise ~2000) -> 'jitter'
    min_contact_coverage: float = 0.2  # fraction of frames with a foot down -> 'low_contact_coverage' below it
    max_airborne_fraction: float = 0.5  # fraction of frames with both feet high -> 'airborne'
    airborne_height: float = 0.05  # m: every foot joint this far above its local floor is off the floor
    airborne_window: float = 0.5  # s: the local floor is the lowest a foot joint stands within this time
    min_upright_fraction: float = 0.5  # fraction of frames with the spine within 45 deg of up -> 'lying_down' below it

    def validate(self) -> QualityConfig:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"motion.quality.{f.name} must be a number >= 0, got {v!r}")
        return self


@dataclass
class MotionConfig:
    """How each sequence becomes frame rows: rate, joints, frame and contact thresholds."""

    fps: float = 30.0  # store frame rate (Hz); ignored by resample='none'
    resample: str = "interpolate"  # interpolate (slerp/lerp) | decimate (ProtoMotions rule) | none
    joints: str = "body22"  # body22 | smpl24 | smplh52 | smplx55 | skeleton
    frame: str = "z_up"  # z_up (AMASS) | y_up (x, z, -y)
    contacts: str = "default"  # default | protomotions | humanml3d (parity modes; thresholds fixed, theirs)
    # default detector (contacts.DefaultParams): speed over `contact_window`, height above the local floor
    contact_speed: float = 0.9  # m/s: a foot joint slower than this ...
    contact_height: float = 0.05  # m: ... and lower than this above its local floor enters a contact
    contact_speed_exit: float = 1.3  # m/s: hysteresis, stays in contact while slower ...
    contact_height_exit: float = 0.08  # m: ... and lower than this
    contact_window: float = 1.0 / 30.0  # s: speed = displacement over this centred window
    contact_floor_window: float = 0.4  # s: local floor = max(min height in the last / next window)
    contact_min_gap: float = 0.05  # s: shorter breaks inside a contact are closed
    contact_min_duration: float = 0.03  # s: shorter contacts are dropped
    floor: str = "lowest_foot"  # lowest_foot (per-sequence floor from foot joints) | none
    joint_velocities: bool = False  # add joint_vel (m/s) column
    source_frame: str = "auto"  # auto (decide from the pose; stand Y-up files upright) | z_up | y_up (force)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def validate(self) -> MotionConfig:
        if not (self.fps > 0):
            raise ConfigError(f"motion.fps must be > 0, got {self.fps!r}")
        _choice("motion.resample", self.resample, RESAMPLE_MODES)
        _choice("motion.joints", self.joints, tuple(JOINT_SETS) + ("skeleton",))
        _choice("motion.frame", self.frame, FRAMES)
        _choice("motion.floor", self.floor, ("lowest_foot", "none"))
        _choice("motion.contacts", self.contacts, CONTACT_METHODS)
        for key in ("contact_speed", "contact_height", "contact_speed_exit", "contact_height_exit",
                    "contact_window", "contact_floor_window"):
            if not (float(getattr(self, key)) > 0):
                raise ConfigError(f"motion.{key} must be > 0, got {getattr(self, key)!r}")
        if self.contact_speed_exit < self.contact_speed or self.contact_height_exit < self.contact_height:
            raise ConfigError("motion.contact_speed_exit / contact_height_exit must be >= contact_speed / contact_height")
        if self.contact_min_gap < 0 or self.contact_min_duration < 0:
            raise ConfigError("motion.contact_min_gap and motion.contact_min_duration must be >= 0")
        _choice("motion.source_frame", self.source_frame, SOURCE_FRAMES)
        self.quality.validate()
        return self

    def contact_params(self):
        """The default detector's thresholds as DefaultParams."""
        return DefaultParams(speed=float(self.contact_speed), height=float(self.contact_height),
                             speed_exit=float(self.contact_speed_exit), height_exit=float(self.contact_height_exit),
                             window=float(self.contact_window), floor_window=float(self.contact_floor_window),
                             min_gap=float(self.contact_min_gap), min_contact=float(self.contact_min_duration))

    def contact_info(self) -> dict:
        """What info.json records about contacts: the method and its thresholds (m/s, m, s)."""
        if self.contacts == "protomotions":
            return {"method": "protomotions", **PROTOMOTIONS}
        if self.contacts == "humanml3d":
            return {"method": "humanml3d", **HUMANML3D}
        return {"method": "default", **dataclasses.asdict(self.contact_params())}


@dataclass
class BuildConfig:
    """Everything `amass-arrow build` needs."""

    amass_root: str | None = None
    body_models: str | None = None
    out: str | None = None
    workers: int | str = "auto"  # worker processes, or auto = the CPUs this process may use
    executor: str = "local"  # local (process pool) | ray (extra amass-arrow[ray])
    address: str | None = None  # Ray cluster address for executor ray ('auto' = the running one); None = start a local Ray
    datasets: list[str] = field(default_factory=list)  # empty = all
    force: bool = False  # rebuild everything, ignoring what the store already has
    replace: bool = False  # allow a build that removes the store's sequences (other root, or more than half)
    fps_overrides: dict[str, float] = field(default_factory=dict)  # seq_id or dataset -> fps
    motion: MotionConfig = field(default_factory=MotionConfig)

    def validate(self) -> BuildConfig:
        for key in ("amass_root", "body_models", "out"):
            if not getattr(self, key):
                raise ConfigError(f"build needs {key!r} (a config value or a CLI argument)")
        self.worker_count()
        _choice("executor", self.executor, EXECUTORS)
        if self.address and self.executor != "ray":
            raise ConfigError(f"address {self.address!r} is for executor 'ray' (executor is {self.executor!r})")
        self.motion.validate()
        return self


    def worker_count(self) -> int:
        """`workers` as a number: 'auto' = the CPUs this process may run on (os.sched_getaffinity)."""
        return parse_workers(self.workers)


def parse_workers(value: int | str) -> int:
    """'auto' -> usable CPUs; an integer (or its text) >= 1 -> itself; anything else: ConfigError."""
    if value == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"workers must be 'auto' or an integer >= 1, got {value!r}") from None
    if n < 1 or isinstance(value, float) and value != n:
        raise ConfigError(f"workers must be >= 1, got {value}")
    return n


def _choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def known_fields(cls, data: Any, where: str, what: str = "key") -> dict[str, dataclasses.Field]:
    """Dataclass `cls`'s fields by name, after checking `data` is a mapping with no key `cls` lacks."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown {what}(s) {', '.join(unknown)}; known: {', '.join(fields) or '(none)'}")
    return fields


def from_dict(cls, data: dict[str, Any], where: str = "config"):
    """Build dataclass `cls` from a dict, rejecting unknown keys (nested dataclasses too)."""
    fields = known_fields(cls, data, where)
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
    if path:
        from .resources import find

        path = find(path, what="config file")  # configs/build.yaml resolves from any folder (shipped copy)
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
