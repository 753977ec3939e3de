"""Paper metrics on generated motion and on the store's ground truth (`amass-arrow metrics`).

    from amass_arrow.metrics import skating_ratio, jerk
    skating_ratio(joints)          # (B,) joints (B, T, 22, 3): Y-up metres at 20 fps, GMD's definition
    jerk(joints, lengths)          # (B, T - 3): FlowMDM's per-frame jerk

The definitions live in `motion.paper_metrics` (the build's `skating_ratio_gmd` column uses the same one);
this package scores groups of motions (`sources`: HumanML3D folders, folders of joint files, store splits)
and summarizes them per split (mean and 95% interval over clips, FlowMDM's PeakJerk and AUJ).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amass_arrow.motion.paper_metrics import (
    GT_JERK,
    area_under_jerk,
    jerk,
    peak_jerk,
    skating_ratio,
)

__all__ = ["GT_JERK", "Group", "Summary", "area_under_jerk", "format_table", "jerk", "peak_jerk", "score",
           "skating_ratio"]


@dataclass
class Group:
    """One split's motions: (T, 22, 3) Y-up metre joints at 20 fps each, with the valid length of each."""

    name: str
    ids: list[str] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)


@dataclass
class Summary:
    split: str
    clips: int
    frames: int
    skating_ratio: float
    skating_ratio_ci: float
    jerk: float
    jerk_ci: float
    peak_jerk: float
    auj: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95% interval (1.96 standard errors, as the T2M evaluation reports); nan if empty."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    return float(x.mean()), float(1.96 * x.std() / np.sqrt(x.size)) if x.size > 1 else 0.0


def score(group: Group, auj_reference: float = GT_JERK["humanml3d"]) -> Summary:
    """The group's metrics: skating ratio per clip (over all its frames, as GMD counts padding) and jerk
    (FlowMDM: per-frame, zeroed past each valid length; clips padded with zeros to the longest)."""
    ratios, per_clip_jerk, rows = [], [], []
    width = max((j.shape[0] for j in group.joints), default=0) - 3
    for j, n in zip(group.joints, group.lengths):
        j = np.asarray(j)
        ratios.append(skating_ratio(j[None])[0] if j.shape[0] >= 2 else np.nan)
        if j.shape[0] >= 4:
            pf = jerk(j[None], [n])[0]
            valid = pf[: max(0, min(n, j.shape[0]) - 3)]
            per_clip_jerk.append(valid.mean() if valid.size else np.nan)
            rows.append(np.pad(pf, (0, width - pf.shape[0])))
        else:
            per_clip_jerk.append(np.nan)
    sr, sr_ci = _mean_ci(ratios)
    jm, j_ci = _mean_ci(per_clip_jerk)
    table = np.stack(rows) if rows else np.zeros((0, 0))
    pj = peak_jerk(table) if table.size else float("nan")
    auj = area_under_jerk(table, auj_reference) if table.size else float("nan")
    return Summary(group.name, len(group.joints), int(sum(group.lengths)), sr, sr_ci, jm, j_ci, pj, auj)


def format_table(summaries: list[Summary], source: str) -> str:
    """The printed table: one row per split."""
    head = (f"{'split':<12}{'clips':>7}{'frames':>10}  {'skating ratio (GMD)':>22}  {'jerk (FlowMDM)':>20}"
            f"  {'PeakJerk':>9}  {'AUJ':>9}")
    lines = [f"metrics of {source}", head, "-" * len(head)]
    for s in summaries:
        lines.append(f"{s.split:<12}{s.clips:>7}{s.frames:>10}  {s.skating_ratio:>12.4f} ± {s.skating_ratio_ci:<7.4f}"
                     f"  {s.jerk:>10.5f} ± {s.jerk_ci:<7.5f}  {s.peak_jerk:>9.5f}  {s.auj:>9.4f}")
    lines.append("mean ± 95% interval over clips (1.96 standard errors); joints Y-up, metres, 20 fps; "
                 f"AUJ against FlowMDM's HumanML3D ground-truth jerk {GT_JERK['humanml3d']}")
    return "\n".join(lines)
