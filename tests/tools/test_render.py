"""Render: a GIF and a PNG strip of a processed synthetic walk, of the documented size, with contact dots."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from amass_arrow.config import MotionConfig
from amass_arrow.motion.pipeline import process
from amass_arrow.tools.render import GIF_PX, PANEL_PX, STRIP_POSES, joint_set_parents, render

pytest.importorskip("matplotlib")


def _red(img: Image.Image) -> int:
    a = np.asarray(img.convert("RGB")).astype(int)
    return int(np.sum((a[..., 0] > 190) & (a[..., 1] < 80) & (a[..., 2] < 80)))


@pytest.fixture(scope="module")
def walk_frames(synthetic_root):
    from amass_arrow.motion.bodymodel import BodyModelRegistry
    from amass_arrow.source.sequence import Sequence
    from amass_arrow.tools.synthetic.motion import make_motion

    model = BodyModelRegistry(synthetic_root.body_models).get("smplh", "male")
    betas = np.zeros(16, np.float32)
    m = make_motion("walk", model, betas, fps=60.0, seconds=2.0, seed=1)
    T = m.num_frames
    seq = Sequence(
        seq_id="SYN/s/walk", dataset="SYN", subject="s", name="walk", source_path="SYN/s/walk_poses.npz",
        surface_model="smplh", gender="male", betas=betas, fps=60.0, fps_key="mocap_framerate",
        root_orient=m.root_orient, pose_body=m.pose_body, trans=m.trans, pose_hand=np.zeros((T, 90), np.float32),
    )
    return process(seq, model, MotionConfig(fps=30.0), "body22").frames


def test_joint_set_parents():
    p = joint_set_parents("body22")
    assert p[0] == -1 and p[7] == 4 and p[10] == 7 and p[20] == 18
    p = joint_set_parents("smplx55")
    assert p[22] == 15 and p[25] == 20  # jaw -> head, left_index1 -> left_wrist


def test_png_strip(walk_frames, tmp_path):
    out = render(walk_frames, tmp_path / "walk.png", fps=30.0, joint_set="body22", title="walk")
    img = Image.open(out)
    assert img.size == (STRIP_POSES * PANEL_PX[0], PANEL_PX[1])
    assert _red(img) > 20  # planted feet are marked


def test_gif_red_dots_only_with_contacts(walk_frames, tmp_path):
    out = render(walk_frames, tmp_path / "walk.gif", start=0.0, end=1.0, fps=30.0, joint_set="body22")
    img = Image.open(out)
    assert img.size == GIF_PX and img.n_frames == 31
    img.seek(0)
    assert _red(img) > 5
    # with every contact flag cleared no frame has red pixels
    joints = walk_frames["joints"].combine_chunks().values.to_numpy().reshape(-1, 22, 3)[:5]
    out = render({"joints": joints, "contacts": np.zeros((5, 4), bool)}, tmp_path / "none.gif", fps=30.0, joint_set="body22")
    img = Image.open(out)
    assert _red(img) == 0


def test_rejects_unknown_suffix(walk_frames, tmp_path):
    from amass_arrow.errors import ConfigError

    with pytest.raises(ConfigError, match=r"writes \.gif .* or \.png"):  # a one-line CLI error, not a traceback
        render(walk_frames, tmp_path / "x.mp4", fps=30.0, joint_set="body22")
    assert not (tmp_path / "x.mp4").exists()
