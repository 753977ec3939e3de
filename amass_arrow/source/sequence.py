"""The normalized in-memory sequence every reader produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amass_arrow.schema import FRM, duration_seconds


@dataclass
class Sequence:
    """One AMASS motion, whatever file variant it came from (AMASS Z-up, metres, radians).

    Pose blocks are float32 axis-angle arrays of shape (T, width); blocks a surface model does
    not have are None. `fps` is the rate used downstream (after any override); `fps_in_file`
    is what the file said and `fps_key` the npz key it came from.
    """

    seq_id: str  # e.g. "CMU/01/01_01"
    dataset: str
    subject: str
    name: str
    source_path: str  # relative to the AMASS root, '/'-separated
    surface_model: str  # smpl | smplh | smplx
    gender: str  # male | female | neutral
    betas: np.ndarray  # (B,) float32, B in {10, 16, 300, 400, ...}
    fps: float
    fps_key: str  # mocap_framerate | mocap_frame_rate
    root_orient: np.ndarray  # (T, 3)
    pose_body: np.ndarray  # (T, 63)
    trans: np.ndarray  # (T, 3) metres
    pose_hand: np.ndarray | None = None  # (T, 90) smplh/smplx
    pose_jaw: np.ndarray | None = None  # (T, 3) smplx
    pose_eye: np.ndarray | None = None  # (T, 6) smplx
    pose_smpl_hands: np.ndarray | None = None  # (T, 6) smpl joints 22-23
    dmpls: np.ndarray | None = None  # (T, 8)
    fps_in_file: float | None = None
    fps_override_reason: str | None = None
    content_hash: str = ""
    file_size: int = 0
    quality_flags: list[str] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.root_orient.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames: num_frames / fps (schema.duration_seconds)."""
        return duration_seconds(self.num_frames, self.fps)

    def pose_blocks(self) -> dict[str, np.ndarray | None]:
        """Column name -> (T, width) array or None, in schema order."""
        return {
            FRM.root_orient: self.root_orient,
            FRM.pose_body: self.pose_body,
            FRM.pose_hand: self.pose_hand,
            FRM.pose_jaw: self.pose_jaw,
            FRM.pose_eye: self.pose_eye,
            FRM.pose_smpl_hands: self.pose_smpl_hands,
            FRM.trans: self.trans,
        }

    def joint_pose(self, joints: list[int], rows: slice = slice(None)) -> np.ndarray:
        """(T, len(joints), 3) axis-angle of the given skeleton joints (indices into full_pose's joints).

        Gathers only those joints' columns (the feet chains at the source rate need 9 of 52 joints),
        in the blocks' dtype; equals `full_pose(rows)[:, joints]`.
        """
        T = len(range(*rows.indices(self.num_frames)))
        blocks = [(self.root_orient, 1), (self.pose_body, 21)]
        if self.surface_model == "smpl":
            blocks.append((self.pose_smpl_hands, 2))
        elif self.surface_model == "smplh":
            blocks.append((self.pose_hand, 30))
        else:
            blocks += [(self.pose_jaw, 1), (self.pose_eye, 2), (self.pose_hand, 30)]
        where, first = {}, 0
        for b, (_a, n) in enumerate(blocks):
            for k in range(n):
                where[first + k] = (b, k)
            first += n
        dtype = np.result_type(*[a.dtype for a, _ in blocks if a is not None])
        out = np.zeros((T, len(joints), 3), dtype)
        for m, j in enumerate(joints):
            a = blocks[where[j][0]][0]
            if a is not None:
                k = where[j][1]
                out[:, m] = a[rows, 3 * k:3 * k + 3]
        return out

    def full_pose(self, rows: slice = slice(None)) -> np.ndarray:
        """(T, J, 3) axis-angle for every joint of the surface model's skeleton, in tree order.

        `rows` selects frames before concatenating, so long sequences can be posed in chunks.
        """
        T = len(range(*rows.indices(self.num_frames)))

        def block(a, width):
            return a[rows] if a is not None else np.zeros((T, width), np.float32)

        blocks = [self.root_orient[rows], self.pose_body[rows]]
        if self.surface_model == "smpl":
            blocks.append(block(self.pose_smpl_hands, 6))
        elif self.surface_model == "smplh":
            blocks.append(block(self.pose_hand, 90))
        else:
            blocks += [block(self.pose_jaw, 3), block(self.pose_eye, 6), block(self.pose_hand, 90)]
        return np.concatenate(blocks, axis=1).reshape(T, -1, 3)
