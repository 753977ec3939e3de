"""Posing a store's parameters again at export time, for formats built on a body model other than the store's
(their fixed model, or another joint set): body models by name, the split's sequence facts, the frame check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .frames import EXPORT_ROWS


class Models:
    """Body models by (surface model, gender), exactly that gender (no neutral fallback): under `root` (a body-model
    folder) when given, else the store's info.json path for it, else beside the models info.json records (the
    folders holding them: a store of SMPL+H takes still finds SMPLX_NEUTRAL.npz next to its SMPL+H files)."""

    def __init__(self, store, root: str, who: str):
        self.store, self.root, self.who = store, root, who
        self._cache: dict[tuple[str, str], Any] = {}

    def path(self, surface_model: str, gender: str) -> Path | None:
        from amass_arrow.motion.bodymodel import find_model_file

        recorded = self.store.info.body_models or {}
        if not self.root and recorded.get(f"{surface_model}/{gender}"):
            return Path(recorded[f"{surface_model}/{gender}"])
        roots = [Path(self.root)] if self.root else list(dict.fromkeys(
            up for p in recorded.values() for up in Path(p).parents[:3]))
        for r in roots:
            found = find_model_file(r, surface_model, gender)
            if found is not None:
                return found
        return None

    def get(self, surface_model: str, gender: str):
        from amass_arrow.motion.bodymodel import load_body_model

        key = (surface_model, gender)
        if key not in self._cache:
            path = self.path(surface_model, gender)
            where = f"under {self.root}" if self.root else "in the store's info.json or beside the models it records"
            if path is None:
                raise ConfigError(f"{self.who}: needs the {surface_model}/{gender} body model; none found {where}: "
                                  f"pass --body-models DIR (laid out as smplx expects)")
            try:
                self._cache[key] = load_body_model(path, surface_model, gender)
            except Exception as exc:
                raise ConfigError(f"{self.who}: cannot load the {surface_model}/{gender} body model {path}: {exc}") from None
        return self._cache[key]


def sequences_of_rows(con, columns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """seq_id -> {column: value} of `sequences` for every sequence in the exported split rows."""
    cur = con.cursor()
    try:
        rows = cur.execute(f"SELECT seq_id, {', '.join(columns)} FROM sequences "
                           f"WHERE seq_id IN (SELECT DISTINCT seq_id FROM {EXPORT_ROWS})").fetchall()
    finally:
        cur.close()
    return {r[0]: dict(zip(columns, r[1:])) for r in rows}


def require_z_up(store, who: str) -> None:
    """Refuse a y_up store: its stored root_orient/trans are turned about the pelvis of its own body model, and
    the formats here pose the archive's Z-up parameters (with other models)."""
    if store.info.frame != "z_up":
        raise ConfigError(f"{who}: needs a store built with --frame z_up (the default); this one is "
                          f"{store.info.frame!r}: rebuild it with --frame z_up")
