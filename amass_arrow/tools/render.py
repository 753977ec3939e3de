"""Stick-figure pictures of stored motions: an animated .gif or a .png strip of evenly spaced poses.

Headless (matplotlib Agg, needs the `render` extra). Bones come from the joint set's parents
(derived from schema.SKELETONS); the floor (z = 0 after the height fix) is a grid; foot joints in
contact are red dots. Left limbs are blue, right limbs orange, the spine grey.

    render_sequence("store", "CMU/01/01_01", "walk.gif")           # from a store
    render({"joints": (T, J, 3), "contacts": (T, 4)}, "x.png", fps=30, joint_set="body22")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from amass_arrow import schema
from amass_arrow.config import MotionConfig
from amass_arrow.errors import ConfigError, require
from amass_arrow.motion.kinematics import Z_UP_TO_Y_UP
from amass_arrow.store.open import open_store

GIF_PX = (480, 480)  # width, height of an animation frame
PANEL_PX = (240, 400)  # width, height of one pose in a .png strip
STRIP_POSES = 8
MAX_GIF_FPS = 30.0
_LEFT, _RIGHT, _MID, _CONTACT = "#2f6db5", "#e07b24", "#555555", "#e0201b"
_FOOT_NAMES = [schema.FOOT_JOINTS[k] for k in ("left_ankle", "right_ankle", "left_toe", "right_toe")]


def joint_set_parents(joint_set: str) -> list[int]:
    """Parent index (within the joint set, -1 for roots) of each joint of `joint_set`.

    Taken from the smallest skeleton that has every joint; a parent outside the set is replaced by
    its nearest ancestor inside it.
    """
    names = schema.JOINT_SETS[joint_set]
    for model in schema.SURFACE_MODELS:
        sk_names, sk_parents = schema.SKELETONS[model]
        if set(names) <= set(sk_names):
            break
    else:  # pragma: no cover - every joint set comes from one skeleton
        raise ValueError(f"no skeleton holds joint set {joint_set!r}")
    pos = {n: i for i, n in enumerate(sk_names)}
    inset = {n: i for i, n in enumerate(names)}
    out = []
    for n in names:
        p = sk_parents[pos[n]]
        while p >= 0 and sk_names[p] not in inset:
            p = sk_parents[p]
        out.append(inset[sk_names[p]] if p >= 0 else -1)
    return out


def _side_color(name: str) -> str:
    return _LEFT if name.startswith("left") else _RIGHT if name.startswith("right") else _MID


def _arrays(frames: Any, joint_set: str) -> tuple[np.ndarray, np.ndarray]:
    """(joints (T, J, 3), foot contacts (T, 4) bool) from a frames table or a dict of arrays."""
    J = len(schema.JOINT_SETS[joint_set])
    if isinstance(frames, dict):
        joints = np.asarray(frames[schema.JOINTS], np.float64).reshape(-1, J, 3)
        c = frames.get(schema.CONTACTS_FEATURE)
        contacts = np.zeros((len(joints), 4), bool) if c is None else np.asarray(c, bool)[:, :4]
        return joints, contacts
    col = frames.column(schema.JOINTS).combine_chunks()
    joints = col.values.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, J, 3)
    cols = schema.CONTACT_COLUMNS[:4]
    if all(c in frames.column_names for c in cols):
        contacts = np.stack([frames.column(c).to_numpy(zero_copy_only=False) for c in cols], axis=1).astype(bool)
    else:
        contacts = np.zeros((len(joints), 4), bool)
    return joints, contacts


def render(
    frames: Any,
    out_path: str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    fps: float,
    joint_set: str,
    frame: str = "z_up",
    title: str = "",
    poses: int = STRIP_POSES,
) -> Path:
    """Draw the rows between `start` and `end` seconds (inclusive; None = the ends) to `out_path`.

    `.gif`: an animation (at most 30 fps); `.png`: a strip of `poses` (default 8) evenly spaced poses.
    frames: a pyarrow Table of one sequence's rows in frame order, with `joints` (flat J*3, metres,
    in `frame`) and the contact columns, or {"joints": (T, J, 3), "contacts": (T, 4) or None}.
    fps: rate of the rows (Hz); row i is at i / fps seconds. Returns the path.
    """
    out = Path(out_path)
    if out.suffix.lower() not in (".gif", ".png"):
        raise ConfigError(f"{out}: render writes .gif (an animation) or .png (a strip of poses), not {out.suffix or 'no suffix'!r}")
    require("matplotlib", "render")
    import matplotlib

    matplotlib.use("Agg")

    joints, contacts = _arrays(frames, joint_set)
    i0 = 0 if start is None else max(0, int(np.ceil(start * fps - 1e-6)))
    i1 = len(joints) if end is None else int(np.floor(end * fps + 1e-6)) + 1
    joints, contacts = joints[i0:i1], contacts[i0:i1]
    if len(joints) == 0:
        raise ConfigError(f"nothing to render: no frame between --start {start} and --end {end} (the take has "
                          f"{len(_arrays(frames, joint_set)[0]) / fps:.2f} s)")
    if frame == "y_up":  # back to Z-up for drawing

        joints = joints @ Z_UP_TO_Y_UP  # inverse (= transpose) applied to row vectors
    elif frame != "z_up":
        raise ConfigError(f"unknown coordinate frame {frame!r}; use 'z_up' or 'y_up'")
    out.parent.mkdir(parents=True, exist_ok=True)
    first = i0
    if out.suffix.lower() == ".gif":
        _gif(joints, contacts, out, fps, joint_set, title, first)
    else:
        _strip(joints, contacts, out, fps, joint_set, title, first, poses)
    return out


# ---------------------------------------------------------------- drawing
class _Figure:
    """One stick figure in a 3D axes: bone lines, contact dots, a floor grid that follows it."""

    def __init__(self, ax, joint_set: str, span: float, height: float, zoom: float, azim: float = -60.0):
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        self.ax = ax
        names = schema.JOINT_SETS[joint_set]
        self.parents = joint_set_parents(joint_set)
        self.feet = [names.index(n) for n in _FOOT_NAMES]
        self.span, self.height = span, height
        ax.set_axis_off()
        ax.set_box_aspect((span, span, height), zoom=zoom)
        ax.view_init(elev=12, azim=azim)
        ax.set_proj_type("persp", focal_length=0.5)
        self.floor = Line3DCollection([], colors="#cfcfcf", linewidths=0.8, zorder=0)
        ax.add_collection3d(self.floor, autolim=False)
        self.bones = []
        for j, p in enumerate(self.parents):
            if p < 0:
                continue
            lw = 1.0 if any(k in names[j] for k in ("index", "middle", "pinky", "ring", "thumb")) else 3.0
            (line,) = ax.plot([], [], [], color=_side_color(names[j]), lw=lw, solid_capstyle="round")
            self.bones.append((j, p, line))
        (self.dots,) = ax.plot([], [], [], "o", color="#222222", ms=2.5)
        (self.contact,) = ax.plot([], [], [], "o", color=_CONTACT, ms=7, mec="white", mew=0.8)

    def draw(self, pose: np.ndarray, contact: np.ndarray) -> None:
        for j, p, line in self.bones:
            seg = pose[[p, j]]
            line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
        self.dots.set_data_3d(pose[:, 0], pose[:, 1], pose[:, 2])
        c = pose[self.feet][contact]
        self.contact.set_data_3d(c[:, 0], c[:, 1], c[:, 2])
        cx, cy = pose[0, 0], pose[0, 1]
        h = self.span / 2
        self.floor.set_segments(_grid(cx - h, cx + h, cy - h, cy + h))
        self.ax.set_xlim(cx - h, cx + h)
        self.ax.set_ylim(cy - h, cy + h)
        self.ax.set_zlim(-0.02, self.height - 0.02)


def _grid(x0: float, x1: float, y0: float, y1: float, step: float = 0.25) -> list:
    """Floor (z = 0) grid segments inside the window, on world-fixed lines so motion shows against it."""
    xs = np.arange(np.ceil(x0 / step), np.floor(x1 / step) + 1) * step
    ys = np.arange(np.ceil(y0 / step), np.floor(y1 / step) + 1) * step
    segs = [[(x, y0, 0.0), (x, y1, 0.0)] for x in xs] + [[(x0, y, 0.0), (x1, y, 0.0)] for y in ys]
    segs += [[(x0, y0, 0.0), (x1, y0, 0.0)], [(x1, y0, 0.0), (x1, y1, 0.0)],
             [(x1, y1, 0.0), (x0, y1, 0.0)], [(x0, y1, 0.0), (x0, y0, 0.0)]]
    return segs


def _azimuth(joints: np.ndarray, joint_set: str) -> float:
    """Camera azimuth (degrees) for a three-quarter side view: from the subject's left, 35 deg to the front."""
    names = schema.JOINT_SETS[joint_set]
    lat = joints[:, names.index("left_hip"), :2] - joints[:, names.index("right_hip"), :2]
    lx, ly = lat.mean(axis=0)
    if np.hypot(lx, ly) < 1e-6:
        return -60.0
    # camera on the subject's left (azimuth of the left-hip direction), turned 35 deg toward the
    # front (forward = up x left, i.e. +35 deg counter-clockwise seen from above)
    return float(np.degrees(np.arctan2(ly, lx)) + 35.0)


def _view(joints: np.ndarray) -> tuple[float, float]:
    """(horizontal window m, vertical window m) that hold every pose of the clip around its root."""
    rel = joints[..., :2] - joints[:, :1, :2]
    span = float(max(1.6, 2.0 * np.abs(rel).max() + 0.3))
    height = float(max(1.6, joints[..., 2].max() + 0.15))
    return span, height


def _gif(joints, contacts, out, fps, joint_set, title, first) -> None:
    import matplotlib.pyplot as plt

    stride = max(1, int(round(fps / MAX_GIF_FPS)))
    idx = np.arange(0, len(joints), stride)
    span, height = _view(joints)
    fig = plt.figure(figsize=(GIF_PX[0] / 100, GIF_PX[1] / 100), dpi=100)
    try:
        ax = fig.add_axes((0, 0, 1, 0.93), projection="3d")
        fig_ = _Figure(ax, joint_set, span, height, zoom=1.25, azim=_azimuth(joints, joint_set))
        label = fig.text(0.02, 0.95, "", fontsize=9, family="monospace", color="#333333")
        if title:
            fig.text(0.98, 0.95, title, fontsize=9, ha="right", color="#333333")
        with GifStream(out, fps / stride) as gif:
            for i in idx:
                fig_.draw(joints[i], contacts[i])
                label.set_text(f"frame {first + i}  t={(first + i) / fps:6.2f}s")
                fig.canvas.draw()
                gif.add(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    finally:
        plt.close(fig)


def _palette() -> list[int]:
    """The animation's one colour table: white, greys, and ramps from white to each colour drawn (lines are
    anti-aliased onto white), 256 RGB entries."""
    colors = [_LEFT, _RIGHT, _MID, _CONTACT, "#cfcfcf", "#222222", "#333333"]
    rgb = [tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in colors]
    table = [(v, v, v) for v in np.linspace(0, 255, 32).round().astype(int)]
    for c in rgb:
        for a in np.linspace(1.0, 0.1, 32):
            table.append(tuple(int(round(a * x + (1 - a) * 255)) for x in c))
    flat = [v for t in table[:256] for v in t]
    return flat + [255] * (768 - len(flat))


class GifStream:
    """An animated GIF written frame by frame: each `add` encodes one frame (quantized to one fixed colour
    table) and appends it to the file, so memory does not grow with the length of the take (matplotlib's
    PillowWriter keeps every frame until the end: ~1.1 MB a frame). Written to a temporary name in the
    same folder and renamed into place on success; removed on failure."""

    def __init__(self, path: str | Path, fps: float):
        from PIL import Image

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.ms = max(10, int(round(1000.0 / fps)))
        self.frames = 0
        self._pal = Image.new("P", (1, 1))
        self._pal.putpalette(_palette())
        self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()

    def add(self, rgb: np.ndarray) -> None:
        """Append one frame: (H, W, 3) uint8."""
        from PIL import GifImagePlugin, Image

        im = Image.fromarray(np.ascontiguousarray(rgb), "RGB").quantize(palette=self._pal, dither=Image.Dither.NONE)
        if self.frames == 0:
            header, _ = GifImagePlugin.getheader(im, None, {"loop": 0, "optimize": False})
            for b in header:
                self._fh.write(b)
        for b in GifImagePlugin.getdata(im, duration=self.ms):
            self._fh.write(b)
        self._fh.flush()
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        if self._fh.closed:
            return
        try:
            if ok:
                self._fh.write(b";")  # GIF trailer
        finally:
            self._fh.close()
        if ok and self.frames:
            import os

            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> GifStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


def _strip(joints, contacts, out, fps, joint_set, title, first, poses=STRIP_POSES) -> None:
    import matplotlib.pyplot as plt

    n = min(max(1, int(poses)), len(joints))
    idx = np.unique(np.linspace(0, len(joints) - 1, n).round().astype(int))
    n = len(idx)
    span, height = _view(joints)
    fig = plt.figure(figsize=(n * PANEL_PX[0] / 100, PANEL_PX[1] / 100), dpi=100)
    top = 0.9 if title else 0.95
    azim = _azimuth(joints, joint_set)
    for k, i in enumerate(idx):
        ax = fig.add_axes((k / n, 0.0, 1 / n, top), projection="3d")
        f = _Figure(ax, joint_set, span, height, zoom=1.35, azim=azim)
        f.draw(joints[i], contacts[i])
        fig.text((k + 0.5) / n, top, f"t={(first + i) / fps:.2f}s", ha="center", va="bottom", fontsize=8, color="#333333")
    if title:
        fig.text(0.01, 0.985, title, ha="left", va="top", fontsize=10, color="#111111")
    fig.savefig(str(out), dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------- from a store
def render_sequence(
    store_path: str | Path,
    seq_id: str,
    out: str | Path,
    start: float | None = None,
    end: float | None = None,
    *,
    fps: float | None = None,
    joint_set: str | None = None,
    frame: str | None = None,
) -> Path:
    """Render one stored sequence between `start` and `end` seconds to a .gif or .png (see `render`).

    fps / joint_set / frame default to the store's meta/info.json (fps from the sequence's
    `store_fps` row when the manifest has none, e.g. for decimated stores).
    """
    import pyarrow.compute as pc

    store = open_store(store_path)
    info = store.info
    joint_set = joint_set or info.joint_set
    frame = frame or info.frame
    if fps is None:
        seqs = store.sequences()
        hit = seqs.filter(pc.equal(seqs[schema.SEQ.seq_id], seq_id))
        fps = float(hit[schema.SEQ.store_fps][0].as_py()) if hit.num_rows else info.fps
    cols = [schema.JOINTS] + schema.CONTACT_COLUMNS[:4]
    table = store.read_sequence_frames(seq_id, columns=cols)
    # no rate anywhere (no manifest fps, no sequence row): draw at the default store rate
    return render(table, out, start=start, end=end, fps=float(fps or MotionConfig.fps), joint_set=joint_set, frame=frame,
                  title=seq_id)
