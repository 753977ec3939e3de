"""Scripted feet that fail like real mocap: heel strike, toe roll, push-off, jitter and drift, with ground truth.

The contact detectors' test world. A take is a list of stances per foot; each stance is a rigid foot
rolling over the floor in phases, and the swing between two stances is a C1 Hermite curve with a lift:

    heel strike  pivot on the heel, pitch from toe-up to flat         GT: ankle (heel) down
    toe strike   pivot on the ball, pitch from heel-up to flat        GT: toe down  (runs, landings)
    flat         the ball fixed; the foot may swivel about it         GT: ankle and toe down
    roll         pivot on the ball, heel rises (cubic ease-in)        GT: toe down
    push-off     the toes bend: the ball circles the toe tip          GT: toe down, toe joint at ~1-1.6 m/s
    swing        the foot in the air                                  GT: nothing down

Measurement errors are added on top of the clean joints, per take: white jitter per frame (1-3 mm,
so finite differences get noisier as the rate rises, as in real fits), soft-tissue wobble (6-12 Hz,
1-3 mm) and a slow drift of the whole body (1-2 cm, < 0.3 Hz). Ground truth is the design: a
per-joint contact flag and the height of the floor under each joint (stairs, platforms).

World frame: Z-up, metres, seconds; foot direction phi (rad) is the heading of the foot's forward
axis in the xy plane. Kinds: walk (0.8-1.8 m/s), run (2.5-5 m/s, flight phases), jump, turn (on the
spot), sit, stairs, platform. Every kind can be sampled at any rate: the design is continuous in
time, so the same seed gives the same motion at 60, 100, 120 and 250 fps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

KINDS = ("walk", "run", "jump", "turn", "sit", "stairs", "platform")
RATES = (60.0, 100.0, 120.0, 250.0)
#: joint order of `FootTake.joints` (the store's FOOT_JOINTS order)
JOINTS = ("left_ankle", "right_ankle", "left_toe", "right_toe")
# phase codes of a foot
SWING, HEEL_STRIKE, TOE_STRIKE, FLAT, ROLL, PUSH = range(6)
ANKLE_DOWN = (HEEL_STRIKE, FLAT)
TOE_DOWN = (TOE_STRIKE, FLAT, ROLL, PUSH)


@dataclass(frozen=True)
class FootGeometry:
    """A rigid foot (m): the ankle joint above the sole and the toe joint relative to the ankle.

    toe: (forward, left, up) of the toe joint from the ankle joint for the LEFT foot (the right is
    mirrored). The ball's sole point is under the toe joint; the heel point is `heel_back` behind and
    under the ankle; the toe tip is `tip_ahead` in front of the ball, on the sole.
    """

    ankle_height: float = 0.08
    toe: tuple[float, float, float] = (0.13, 0.01, -0.05)
    heel_back: float = 0.05
    tip_ahead: float = 0.06

    @classmethod
    def from_rest(cls, rest_joints: np.ndarray, sole_y: float, ankle: int, toe: int) -> FootGeometry:
        """From a body model's rest joints (J, 3) in its Y-up frame (x left, z forward) and its sole height."""
        a, t = np.asarray(rest_joints[ankle], float), np.asarray(rest_joints[toe], float)
        d = t - a
        return cls(ankle_height=float(a[1] - sole_y), toe=(float(d[2]), float(d[0]), float(d[1])))

    def local(self, side: int) -> dict[str, np.ndarray]:
        """Foot-local points (forward, left, up) from the ankle for side 0 (left) / 1 (right)."""
        f, lat, up = self.toe
        lat = lat if side == 0 else -lat
        toe = np.array([f, lat, up])
        ball = np.array([f, lat, -self.ankle_height])
        return {"toe": toe, "ball": ball, "tip": ball + [self.tip_ahead, 0.0, 0.0],
                "heel": np.array([-self.heel_back, 0.0, -self.ankle_height])}


def foot_rotation(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(..., 3, 3) world rotation of a foot: columns = pitched forward, left, pitched up axes.

    phi: heading (rad) of the forward axis; theta: pitch (rad), > 0 lowers the toes / raises the heel.
    """
    phi, theta = np.broadcast_arrays(np.asarray(phi, float), np.asarray(theta, float))
    cp, sp, ct, st = np.cos(phi), np.sin(phi), np.cos(theta), np.sin(theta)
    z = np.zeros_like(phi)
    fwd = np.stack([cp * ct, sp * ct, -st], -1)
    left = np.stack([-sp, cp, z], -1)
    up = np.stack([cp * st, sp * st, ct], -1)
    return np.stack([fwd, left, up], -1)


@dataclass
class Stance:
    """One foot on the floor from t0 (first sole contact) to t1 (toe off); ankle = flat ankle position."""

    t0: float
    t1: float
    ankle: np.ndarray  # (3,) flat ankle position at the start of the flat phase (world, m)
    phi: float  # foot heading while flat (rad)
    strike: str = "heel"  # heel | toe | flat
    strike_s: float = 0.1  # duration of the strike phase (s)
    strike_pitch: float = 0.3  # |pitch| at first contact (rad)
    roll_s: float = 0.2
    roll_pitch: float = 0.6
    push_s: float = 0.05
    push_angle: float = 0.6  # toe bend at toe off (rad)
    swivel: float = 0.0  # heading change about the ball during the flat phase (rad)
    approach: tuple[float, float] = (0.6, 0.3)  # foot velocity (forward, down) m/s just before touch-down


def _ease_out(u):
    return 1.0 - (1.0 - u) ** 2


def _stance_pose(st: Stance, t: np.ndarray, loc: dict[str, np.ndarray]):
    """Ankle (n, 3), pitch (n,), heading (n,), phase (n,) of a foot during stance `st` at times t (s)."""
    t = np.asarray(t, float)
    n = t.shape[0]
    R0 = foot_rotation(st.phi, 0.0)
    ball = st.ankle + R0 @ loc["ball"]
    flat0 = st.t0 + (st.strike_s if st.strike != "flat" else 0.0)
    roll0 = st.t1 - st.push_s - st.roll_s
    push0 = st.t1 - st.push_s
    A = np.empty((n, 3))
    theta = np.zeros(n)
    phi = np.full(n, st.phi)
    phase = np.full(n, FLAT)
    # strike
    m = t < flat0
    if m.any():
        u = np.clip((t[m] - st.t0) / st.strike_s, 0, 1)
        if st.strike == "heel":
            theta[m] = -st.strike_pitch * (1 - _ease_out(u))
            pivot, p = st.ankle + R0 @ loc["heel"], loc["heel"]
            phase[m] = HEEL_STRIKE
        else:
            theta[m] = st.strike_pitch * (1 - _ease_out(u))
            pivot, p = ball, loc["ball"]
            phase[m] = TOE_STRIKE
        A[m] = pivot - foot_rotation(phi[m], theta[m]) @ p
    # flat, with an optional swivel about the ball
    m = (t >= flat0) & (t < roll0)
    if m.any():
        u = np.clip((t[m] - flat0) / max(roll0 - flat0, 1e-9), 0, 1)
        phi[m] = st.phi + st.swivel * (3 * u**2 - 2 * u**3)
        A[m] = ball - foot_rotation(phi[m], 0.0) @ loc["ball"]
    phi1 = st.phi + st.swivel
    # roll: heel rises about the ball
    m = (t >= roll0) & (t < push0)
    if m.any():
        u = np.clip((t[m] - roll0) / st.roll_s, 0, 1)
        theta[m] = st.roll_pitch * u**3
        phi[m] = phi1
        A[m] = ball - foot_rotation(phi1, theta[m]) @ loc["ball"]
        phase[m] = ROLL
    # push-off: the toes bend, the ball circles the toe tip, the foot keeps pitching
    m = t >= push0
    if m.any():
        u = np.clip((t[m] - push0) / st.push_s, 0, 1)
        alpha = st.push_angle * u**2
        theta[m] = st.roll_pitch + alpha
        phi[m] = phi1
        R1 = foot_rotation(phi1, 0.0)
        tip = ball + R1 @ (loc["tip"] - loc["ball"])
        r = loc["tip"][0] - loc["ball"][0]
        ball_t = tip + (np.stack([-r * np.cos(alpha), np.zeros_like(alpha), r * np.sin(alpha)], -1) @ R1.T)
        A[m] = ball_t - foot_rotation(phi1, theta[m]) @ loc["ball"]
        phase[m] = PUSH
    return A, theta, phi, phase


def _hermite(p0, v0, p1, v1, D, u):
    """Cubic Hermite (n, k) from p0 (velocity v0) to p1 (velocity v1) over D seconds at fractions u (n,)."""
    u = u[:, None]
    h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
    return h00 * p0 + h10 * D * v0 + h01 * p1 + h11 * D * v1


def foot_track(stances: list[Stance], t: np.ndarray, geom: FootGeometry, side: int, lift: float | list[float]):
    """Ankle (T, 3), pitch (T,), heading (T,), phase (T,) of one foot over times t, stances in time order.

    lift: extra height (m) at mid-swing (one value, or one per swing).
    """
    loc = geom.local(side)
    T = t.shape[0]
    A, theta, phi, phase = np.empty((T, 3)), np.zeros(T), np.zeros(T), np.full(T, SWING)
    eps = 1e-4

    def state(st, tt):
        a, th, ph, _ = _stance_pose(st, np.array([tt]), loc)
        return np.concatenate([a[0], th, ph])

    for k, st in enumerate(stances):
        m = (t >= st.t0) & (t < st.t1)
        if k == 0:
            m |= t < st.t0
        if k == len(stances) - 1:
            m |= t >= st.t1
        if m.any():
            tm = np.clip(t[m], st.t0, st.t1 - 1e-9)
            A[m], theta[m], phi[m], phase[m] = _stance_pose(st, tm, loc)
            if k == 0:
                phase[m & (t < st.t0)] = FLAT if st.strike == "flat" else phase[m & (t < st.t0)]
            if k == len(stances) - 1:
                phase[m & (t >= st.t1)] = SWING
        if k + 1 < len(stances):
            nx = stances[k + 1]
            s0, s1 = state(st, st.t1 - 1e-9), state(nx, nx.t0)
            v0 = (s0 - state(st, st.t1 - 1e-9 - eps)) / eps
            v1 = (state(nx, nx.t0 + eps) - s1) / eps
            v1[:3] += nx.approach[0] * _dir(nx.phi) - [0.0, 0.0, nx.approach[1]]  # impact: speed drops at touch-down
            s1[4] = s0[4] + np.angle(np.exp(1j * (s1[4] - s0[4])))  # unwrap heading
            D = nx.t0 - st.t1
            m = (t >= st.t1) & (t < nx.t0)
            if m.any():
                u = (t[m] - st.t1) / D
                s = _hermite(s0, v0, s1, v1, D, u)
                h = lift[k] if isinstance(lift, (list, tuple, np.ndarray)) else lift
                s[:, 2] += h * np.sin(np.pi * u) ** 2
                A[m], theta[m], phi[m] = s[:, :3], s[:, 3], s[:, 4]
    toe = A + np.einsum("tij,j->ti", foot_rotation(phi, theta), loc["toe"])
    return A, toe, theta, phi, phase


@dataclass
class FootTake:
    """One scripted take of feet at `fps`. Joints in JOINTS order, Z-up metres.

    joints: (T, 4, 3) as measured (clean + jitter + wobble + drift); clean: (T, 4, 3) without errors;
    contact: (T, 4) bool ground truth per joint; floor: (T, 4) floor height (m) under each joint;
    pitch, heading: (T, 2) per foot (left, right), rad; pelvis: (T, 3) a pelvis path for the body (m);
    drift: (T, 3) the whole-body drift that was added (m).
    """

    kind: str
    fps: float
    seed: int
    joints: np.ndarray
    clean: np.ndarray
    contact: np.ndarray
    floor: np.ndarray
    pitch: np.ndarray
    heading: np.ndarray
    phase: np.ndarray  # (T, 2) phase codes per foot
    pelvis_drop: np.ndarray  # (T,) how far below standing height the pelvis sits (m): sitting, crouches
    drift: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def foot_contact(self) -> np.ndarray:
        """(T, 2) ground truth per foot (left, right): any part of the sole down."""
        return self.phase != SWING


# ------------------------------------------------------------------ plans (stances per foot)
@dataclass
class _Plan:
    duration: float
    stances: tuple[list[Stance], list[Stance]]
    floor: Callable[[np.ndarray], np.ndarray]  # (n, 2) xy -> (n,) floor height
    lift: tuple[list[float], list[float]] | float
    pelvis_drop: Callable[[np.ndarray], np.ndarray] = lambda t: np.zeros_like(t)
    info: dict = field(default_factory=dict)


def _flat_floor(xy):
    return np.zeros(len(xy))


def _dir(phi):
    return np.array([np.cos(phi), np.sin(phi), 0.0])


def _left(phi):
    return np.array([-np.sin(phi), np.cos(phi), 0.0])


def _gait(rng, geom, *, speed, step_hz, duty, seconds, turn_rate=0.0, run=False, floor=_flat_floor,
          place=None, stance_kw=None):
    """Alternating stances along a path from the origin; `place(k, s)` may move footfall k (arc length s)."""
    period = 2.0 / step_hz
    stance_s = duty * period
    phi0 = rng.uniform(-np.pi, np.pi)
    half_width = rng.uniform(0.07, 0.10)
    n_steps = int(np.ceil(seconds * step_hz)) + 3
    out: tuple[list[Stance], list[Stance]] = ([], [])
    lifts: tuple[list[float], list[float]] = ([], [])
    t_first = -rng.uniform(0.0, 0.3) * period
    for k in range(n_steps):
        side = k % 2
        t0 = t_first + k / step_hz
        tm = t0 + 0.45 * stance_s  # the body passes over the foot near mid-stance
        phi = phi0 + turn_rate * tm
        # arc length along a path of constant curvature
        s = speed * tm
        if abs(turn_rate) > 1e-9:
            R = speed / turn_rate
            c = np.array([0.0, 0.0, 0.0]) + R * _left(phi0)
            pos = c - R * _left(phi)
        else:
            pos = s * _dir(phi0)
        if place is not None:
            pos, phi = place(k, s, pos, phi)
        lat = half_width if side == 0 else -half_width
        ankle = pos + lat * _left(phi) - 0.04 * _dir(phi)
        ankle[2] = float(floor(ankle[None, :2])[0]) + geom.ankle_height
        kw = dict(stance_kw(rng) if stance_kw else {})
        st = Stance(t0=t0, t1=t0 + stance_s, ankle=ankle, phi=phi, **kw)
        out[side].append(st)
    for side in (0, 1):
        for a, b in zip(out[side][:-1], out[side][1:]):
            rise = max(0.0, b.ankle[2] - a.ankle[2])
            lifts[side].append((rng.uniform(0.10, 0.16) if run else rng.uniform(0.05, 0.09)) + rise)
    return out, lifts, phi0


def _walk_kw(rng):
    return dict(strike="heel", strike_s=rng.uniform(0.07, 0.11), strike_pitch=rng.uniform(0.2, 0.35),
                approach=(rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.4)),
                roll_s=rng.uniform(0.15, 0.22), roll_pitch=rng.uniform(0.5, 0.75),
                push_s=rng.uniform(0.04, 0.06), push_angle=rng.uniform(0.45, 0.7))


def _run_kw(rng):
    heel = rng.uniform() < 0.5
    return dict(strike="heel" if heel else "toe", strike_s=rng.uniform(0.03, 0.05),
                approach=(rng.uniform(0.8, 1.6), rng.uniform(0.5, 1.0)),
                strike_pitch=rng.uniform(0.15, 0.3), roll_s=rng.uniform(0.07, 0.10),
                roll_pitch=rng.uniform(0.5, 0.8), push_s=rng.uniform(0.03, 0.04), push_angle=rng.uniform(0.4, 0.6))


def _plan(kind: str, rng: np.random.Generator, geom: FootGeometry, seconds: float) -> _Plan:
    if kind in ("walk", "stairs", "platform"):
        speed = rng.uniform(0.8, 1.8) if kind == "walk" else rng.uniform(0.6, 1.0)
        step_hz = 1.45 + 0.35 * speed + rng.uniform(-0.05, 0.05)
        duty = rng.uniform(0.58, 0.64)
        turn = rng.choice([0.0, rng.uniform(-0.5, 0.5)]) if kind == "walk" else 0.0
        floor, place, info = _flat_floor, None, {"speed": speed}
        if kind in ("stairs", "platform"):
            # footfall k lands with its ankle ~ k * step along a straight line; a level change sits
            # between two footfalls (0.11 m behind the next heel), so no foot straddles an edge
            box: dict = {}
            if kind == "stairs":
                rise, step = rng.uniform(0.15, 0.18), rng.uniform(0.27, 0.32)
                up = bool(rng.uniform() < 0.5)
                n_levels = int(rng.integers(6, 10))
                first = 2  # footfalls 0, 1 on the floor; footfall k >= 2 on stair k - 1
                levels = [rise * (j if up else n_levels - j) for j in range(n_levels + 1)]
                bounds = [(first + j) * step - 0.11 for j in range(n_levels)]
                info = {"speed": speed, "rise": rise, "tread": step, "up": up, "stairs": n_levels}
            else:
                height = rng.uniform(0.12, 0.35)
                step = speed / step_hz
                k1 = int(rng.integers(2, 4))
                k2 = k1 + int(rng.integers(3, 5))
                levels = [0.0, height, 0.0]
                bounds = [k1 * step - 0.11, k2 * step - 0.11]
                info = {"speed": speed, "platform": height}
            step_hz = speed / step

            def place(k, s, pos, phi, box=box, step=step):
                box.setdefault("phi0", phi)
                return k * step * _dir(box["phi0"]), box["phi0"]

            levels_a, bounds_a = np.array(levels), np.array(bounds)

            def floor(xy, box=box, levels=levels_a, bounds=bounds_a):
                s = np.asarray(xy) @ _dir(box.get("phi0", 0.0))[:2]
                return levels[np.searchsorted(bounds, s, side="right")]
        st, lifts, phi0 = _gait(rng, geom, speed=speed, step_hz=step_hz, duty=duty, seconds=seconds,
                                turn_rate=turn, floor=floor, place=place, stance_kw=_walk_kw)
        info["turn_rate"] = float(turn)
        return _Plan(seconds, st, floor, lifts, info=info)
    if kind == "run":
        speed = rng.uniform(2.5, 5.0)
        step_hz = 2.55 + 0.12 * speed + rng.uniform(-0.05, 0.05)
        stance_s = rng.uniform(0.19, 0.25) * (4.0 / (speed + 1.0)) ** 0.3
        duty = stance_s * step_hz / 2
        st, lifts, _ = _gait(rng, geom, speed=speed, step_hz=step_hz, duty=duty, seconds=seconds, run=True,
                             stance_kw=_run_kw)
        return _Plan(seconds, st, _flat_floor, lifts, info={"speed": speed, "stance_s": stance_s})
    if kind == "jump":
        phi = rng.uniform(-np.pi, np.pi)
        t = rng.uniform(0.5, 0.9)
        out: tuple[list[Stance], list[Stance]] = ([], [])
        lifts: tuple[list[float], list[float]] = ([], [])
        x = np.zeros(3)
        width = rng.uniform(0.08, 0.12)
        drops = []
        while t < seconds + 1.0:
            flight = rng.uniform(0.3, 0.5)
            crouch = rng.uniform(0.5, 0.8)
            hop = rng.uniform(0.0, 0.5)  # forward distance (m)
            t_off = t + crouch
            for side in (0, 1):
                lat = width if side == 0 else -width
                ankle = x + lat * _left(phi)
                ankle[2] = geom.ankle_height
                kw = dict(roll_s=rng.uniform(0.10, 0.14), roll_pitch=rng.uniform(0.6, 0.9),
                          push_s=rng.uniform(0.03, 0.05), push_angle=rng.uniform(0.4, 0.6))
                if not out[side]:
                    out[side].append(Stance(t0=-1.0, t1=t_off, ankle=ankle, phi=phi, strike="flat", **kw))
                else:
                    out[side][-1].t1 = t_off
                    out[side][-1].roll_s, out[side][-1].roll_pitch = kw["roll_s"], kw["roll_pitch"]
                    out[side][-1].push_s, out[side][-1].push_angle = kw["push_s"], kw["push_angle"]
            drops.append((t, t_off, crouch))
            land = t_off + flight
            x = x + hop * _dir(phi)
            for side in (0, 1):
                lat = width if side == 0 else -width
                ankle = x + lat * _left(phi)
                ankle[2] = geom.ankle_height
                out[side].append(Stance(t0=land, t1=land + 10.0, ankle=ankle, phi=phi, strike="toe",
                                        approach=(hop / flight, 0.5 * 9.81 * flight * 0.8),
                                        strike_s=rng.uniform(0.05, 0.08), strike_pitch=rng.uniform(0.3, 0.5)))
                lifts[side].append(9.81 * flight**2 / 8)  # ballistic apex of the body
            t = land + rng.uniform(0.8, 1.3)
        for side in (0, 1):
            out[side][-1].t1 = seconds + 10.0

        def drop(tt, drops=drops):
            d = np.zeros_like(tt)
            for t0, t1, _c in drops:
                u = np.clip((tt - t0) / (t1 - t0), 0, 1)
                d = np.maximum(d, 0.25 * np.sin(np.pi * u) ** 2 * (u < 0.999))
            return d
        return _Plan(seconds, out, _flat_floor, lifts, pelvis_drop=drop, info={"jumps": len(drops)})
    if kind == "turn":
        phi = rng.uniform(-np.pi, np.pi)
        rate = rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.2)  # rad/s
        step_s = rng.uniform(0.45, 0.6)  # one foot every step_s; each is in the air for `air`
        air = rng.uniform(0.22, 0.3)
        width = rng.uniform(0.08, 0.11)
        out = ([], [])
        t = -0.2
        k = 0
        while t < seconds + 1.0:
            side = k % 2
            heading = phi + rate * (t + air)
            lat = width if side == 0 else -width
            ankle = lat * _left(heading) - 0.04 * _dir(heading)
            ankle[2] = geom.ankle_height
            if out[side]:
                out[side][-1].t1 = t
                out[side][-1].swivel = rng.uniform(0.0, 0.15) * np.sign(rate)
            out[side].append(Stance(t0=t + air, t1=t + air + 10.0, ankle=ankle, phi=heading, strike="heel",
                                    approach=(0.2, rng.uniform(0.2, 0.4)),
                                    strike_s=0.06, strike_pitch=rng.uniform(0.05, 0.15), roll_s=0.08,
                                    roll_pitch=rng.uniform(0.2, 0.35), push_s=0.03, push_angle=0.2))
            t += step_s
            k += 1
        for side in (0, 1):
            out[side][0].t0 = -5.0
            out[side][0].strike = "flat"
        return _Plan(seconds, out, _flat_floor, float(rng.uniform(0.06, 0.1)), info={"turn_rate": float(rate)})
    if kind == "sit":
        phi = rng.uniform(-np.pi, np.pi)
        width = rng.uniform(0.08, 0.12)
        t_down, t_up = rng.uniform(0.6, 1.0), seconds - rng.uniform(0.8, 1.2)
        out = ([], [])
        for side in (0, 1):
            lat = width if side == 0 else -width
            ankle = lat * _left(phi)
            ankle[2] = geom.ankle_height
            out[side].append(Stance(t0=-5.0, t1=seconds + 10.0, ankle=ankle, phi=phi, strike="flat",
                                    swivel=rng.uniform(-0.2, 0.2)))
        # while seated, one foot steps forward (lift and put down 0.2 m ahead)
        side = int(rng.integers(0, 2))
        t_lift = 0.5 * (t_down + t_up)
        first = out[side][0]
        first.t1 = t_lift
        first.roll_s, first.roll_pitch, first.push_s, first.push_angle = 0.15, 0.3, 0.04, 0.2
        ankle = first.ankle + 0.2 * _dir(phi)
        out[side].append(Stance(t0=t_lift + 0.35, t1=seconds + 10.0, ankle=ankle, phi=phi + first.swivel,
                                strike="heel", strike_s=0.1, strike_pitch=0.25))

        def drop(tt, a=t_down, b=t_up):
            down = np.clip((tt - a) / 0.8, 0, 1)
            up = np.clip((tt - b) / 0.8, 0, 1)
            return 0.42 * (3 * down**2 - 2 * down**3) * (1 - (3 * up**2 - 2 * up**3))
        return _Plan(seconds, out, _flat_floor, 0.06, pelvis_drop=drop, info={"seated": (t_down, t_up)})
    raise ValueError(f"unknown motion kind {kind!r}; use one of {KINDS}")


# ------------------------------------------------------------------ errors
@dataclass(frozen=True)
class Noise:
    """Measurement errors (m): white jitter per frame, soft-tissue wobble (6-12 Hz), slow drift (< 0.3 Hz)."""

    jitter: tuple[float, float] = (0.001, 0.003)
    wobble: tuple[float, float] = (0.001, 0.003)
    drift: tuple[float, float] = (0.01, 0.02)

    @classmethod
    def none(cls) -> Noise:
        return cls((0.0, 0.0), (0.0, 0.0), (0.0, 0.0))


def _errors(rng, t, n_joints, noise: Noise):
    T = t.shape[0]
    jit = rng.uniform(*noise.jitter) * rng.standard_normal((T, n_joints, 3))
    wob = np.zeros((T, n_joints, 3))
    amp = rng.uniform(*noise.wobble)
    for _ in range(3):
        f = rng.uniform(6.0, 12.0, (1, n_joints, 3))
        ph = rng.uniform(0, 2 * np.pi, (1, n_joints, 3))
        wob += amp / np.sqrt(3) * np.sin(2 * np.pi * f * t[:, None, None] + ph)
    drift = np.zeros((T, 3))
    for axis in range(3):
        a = rng.uniform(*noise.drift) * (0.5 if axis == 2 else 1.0)
        f = rng.uniform(0.05, 0.3)
        drift[:, axis] = a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return jit + wob, drift


# ------------------------------------------------------------------ the take
def make_take(kind: str, fps: float, *, seconds: float = 6.0, seed: int = 0, geom: FootGeometry | None = None,
              noise: Noise | None = None) -> FootTake:
    """Scripted feet of motion `kind` sampled at `fps` (Hz) for `seconds`; deterministic per (kind, seed).

    The design (stances, floor) depends on (kind, seed) only; the measurement errors also on fps.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown motion kind {kind!r}; use one of {KINDS}")
    geom = geom or FootGeometry()
    noise = Noise() if noise is None else noise
    plan = _plan(kind, np.random.default_rng([seed, KINDS.index(kind)]), geom, seconds)
    T = max(2, int(round(seconds * fps)))
    t = np.arange(T) / float(fps)
    ankles, toes, pitch, heading, phase = [], [], [], [], []
    for side in (0, 1):
        lift = plan.lift[side] if isinstance(plan.lift, tuple) else plan.lift
        a, toe, th, ph, code = foot_track(plan.stances[side], t, geom, side, lift)
        ankles.append(a)
        toes.append(toe)
        pitch.append(th)
        heading.append(ph)
        phase.append(code)
    clean = np.stack([ankles[0], ankles[1], toes[0], toes[1]], axis=1)  # (T, 4, 3)
    phase = np.stack(phase, 1)
    contact = np.stack([np.isin(phase[:, 0], ANKLE_DOWN), np.isin(phase[:, 1], ANKLE_DOWN),
                        np.isin(phase[:, 0], TOE_DOWN), np.isin(phase[:, 1], TOE_DOWN)], axis=1)
    floor = plan.floor(clean[..., :2].reshape(-1, 2)).reshape(T, 4)
    err, drift = _errors(np.random.default_rng([seed, KINDS.index(kind), int(round(fps * 1000))]), t, 4, noise)
    joints = clean + err + drift[:, None, :]
    return FootTake(kind=kind, fps=float(fps), seed=seed, joints=joints, clean=clean, contact=contact, floor=floor,
                    pitch=np.stack(pitch, 1), heading=np.stack(heading, 1), phase=phase,
                    pelvis_drop=plan.pelvis_drop(t), drift=drift, info=dict(plan.info))


def with_noise(take: FootTake, noise: Noise) -> FootTake:
    """The same take with other measurement errors (e.g. Noise.none())."""
    t = np.arange(take.num_frames) / take.fps
    err, drift = _errors(np.random.default_rng([take.seed, KINDS.index(take.kind), int(round(take.fps * 1000))]),
                         t, 4, noise)
    return replace(take, joints=take.clean + err + drift[:, None, :], drift=drift)
