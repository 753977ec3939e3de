"""`meta/info.json`: the manifest of one build, validated as it is read (`Manifest.from_dict`).

Local stores (`store.reader.Store`) and stores on object storage (`store.remote.ObjectStore`) read it the same way;
`build` writes it last, after every file it lists.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from amass_arrow import schema
from amass_arrow.errors import StoreError
from amass_arrow.io.atomic import content_id

#: what a build id does not name: when and by which software a build was made, the paths as typed
_NOT_CONTENT = ("created", "software", "build_id", "labels")
_NOT_CONTENT_CONFIG = ("out", "amass_root", "body_models")


@dataclass
class Manifest:
    """`meta/info.json`: what this store holds and how it was made. Validated by `from_dict`."""

    format_version: int
    build_id: str
    created: str
    fps: float | None  # store fps for resample='interpolate'; None otherwise (see sequences.store_fps)
    resample: str
    joint_set: str
    joint_names: list[str]
    frame: str  # z_up | y_up
    contacts: dict[str, Any]  # thresholds, columns, foot joints
    num_sequences: int
    num_frames: int
    num_rejects: int
    datasets: dict[str, dict[str, float]]  # dataset -> {sequences, frames, hours}
    body_models: dict[str, str]  # "smplh/male" -> path used
    config: dict[str, Any]
    software: dict[str, str]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel path -> {rows, bytes}
    joint_velocities: bool = False
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> {file, rows, imported}
    #: where the build read from: {"root": absolute AMASS root, "fingerprint": blake2b over the sorted
    #: (source_path, content_hash) of the converted files, "files": their count}; {} in older stores
    source: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)  # {metrics: {column: unit/meaning}, flags: {flag: rule}, thresholds}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "info.json", store: str | None = None) -> Manifest:
        """`store`: the store's path or URL, for the rebuild command of a store of another format version."""
        if not isinstance(data, dict):
            raise StoreError(f"{where}: not a JSON object")
        version = data.get("format_version")
        if version != schema.FORMAT_VERSION:
            raise StoreError(
                f"{where}: store format version {version!r}, this amass-arrow reads version {schema.FORMAT_VERSION}; "
                f"rebuild it with: {rebuild_command(data, store)}"
            )
        names = {f for f in cls.__dataclass_fields__}
        missing = sorted(n for n in names if n not in data and cls.__dataclass_fields__[n].default is MISSING
                         and cls.__dataclass_fields__[n].default_factory is MISSING)
        if missing:
            raise StoreError(f"{where}: missing field(s) {', '.join(missing)}")
        m = cls(**{k: v for k, v in data.items() if k in names})
        if m.joint_set not in schema.JOINT_SETS or len(m.joint_names) != len(schema.JOINT_SETS[m.joint_set]):
            raise StoreError(f"{where}: unknown joint set {m.joint_set!r} or wrong joint_names")
        if m.frame not in schema.FRAMES:
            raise StoreError(f"{where}: frame must be {' or '.join(schema.FRAMES)}, got {m.frame!r}")
        if m.num_sequences < 0 or m.num_frames < 0:
            raise StoreError(f"{where}: negative counts")
        return m

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def content_id(self) -> str:
        """The build id this manifest's content names: every file's hash (labels included) and the settings,
        not when or by which software it was made (`io.atomic.content_id`)."""
        d = asdict(self)
        for k in _NOT_CONTENT:
            d.pop(k, None)
        d["config"] = {k: v for k, v in (d.get("config") or {}).items() if k not in _NOT_CONTENT_CONFIG}
        return content_id(self.files, json.dumps(d, sort_keys=True, default=str))

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


def rebuild_command(data: dict[str, Any], store: str | None) -> str:
    """The `amass-arrow build` line that rebuilds a store from what its (any version's) info.json recorded:
    its archive, body models and motion settings; placeholders only for what it did not record."""
    import shlex

    cfg = data.get("config") if isinstance(data.get("config"), dict) else {}
    src = data.get("source") if isinstance(data.get("source"), dict) else {}
    root = src.get("root") or cfg.get("amass_root") or "AMASS_ROOT"
    models = cfg.get("body_models") or "BODY_MODELS"
    args = ["amass-arrow", "build", str(root), "--body-models", str(models), "--out", str(store or "STORE")]
    motion = cfg.get("motion") if isinstance(cfg.get("motion"), dict) else {}
    for key, flag in (("fps", "--fps"), ("resample", "--resample"), ("joints", "--joints"), ("frame", "--frame"),
                      ("contacts", "--contacts"), ("source_frame", "--source-frame")):
        if isinstance(motion.get(key), (str, int, float)) and not isinstance(motion.get(key), bool):
            args += [flag, f"{motion[key]:g}" if isinstance(motion[key], float) else str(motion[key])]
    if cfg.get("datasets"):
        args += ["--datasets", *map(str, cfg["datasets"])]
    return " ".join(shlex.quote(a) for a in args)
