"""The numba-compiled loops behind amass_arrow.motion.kernels (imported only when a kernel first runs).

Kept apart so that importing the package, the CLI or a numpy-only path never imports numba (~0.2 s)
and so the local pool's fork server can load them once for all its workers (kernels.warm).
Each loop mirrors a numpy reference named in kernels.py; see there for shapes and units.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SMALL = 1e-6  # radians: as kinematics._SMALL (sin(t)/t = 1 and (1 - cos t)/t^2 = 1/2 below it)


def _jit(fn):
    return numba.njit(cache=True, nogil=True)(fn)


@_jit
def fk_loop(pose, rest, parents, has_child, trans, select, out):  # pragma: no cover - compiled
    """out (T, len(select), 3) float64 <- posed positions of joints `select`: (relative + rest root) + trans.

    pose (T, J, 3) axis-angle; rest (J, 3) float64; parents (J,) int64 (parents[j] < j, -1 root);
    has_child (J,) bool: only joints with children need their rotation; trans (T, 3) float64, or (0, 3)
    for none; select (S,) int64 joint indices. Positions relative to the root are kept per frame only.
    """
    T, J = pose.shape[0], pose.shape[1]
    G = np.empty((J, 3, 3))
    R = np.empty((3, 3))
    P = np.empty((J, 3))
    placed = trans.shape[0] > 0
    for t in range(T):
        for j in range(J):
            p = parents[j]
            if p >= 0:
                o0 = rest[j, 0] - rest[p, 0]
                o1 = rest[j, 1] - rest[p, 1]
                o2 = rest[j, 2] - rest[p, 2]
                for r in range(3):
                    P[j, r] = P[p, r] + G[p, r, 0] * o0 + G[p, r, 1] * o1 + G[p, r, 2] * o2
            else:
                P[j, 0] = 0.0
                P[j, 1] = 0.0
                P[j, 2] = 0.0
            if not has_child[j]:
                continue
            x = np.float64(pose[t, j, 0])
            y = np.float64(pose[t, j, 1])
            z = np.float64(pose[t, j, 2])
            th = math.sqrt(x * x + y * y + z * z)
            if th < _SMALL:
                a, b, c = 1.0, 0.5, 1.0 - 2.0 * math.sin(0.5 * th) ** 2
            else:
                sh, ch = math.sin(0.5 * th), math.cos(0.5 * th)
                a = 2.0 * sh * ch / th
                b = 2.0 * sh * sh / (th * th)
                c = 1.0 - 2.0 * sh * sh
            R[0, 0] = c + b * x * x
            R[0, 1] = b * x * y - a * z
            R[0, 2] = b * x * z + a * y
            R[1, 0] = b * x * y + a * z
            R[1, 1] = c + b * y * y
            R[1, 2] = b * y * z - a * x
            R[2, 0] = b * x * z - a * y
            R[2, 1] = b * y * z + a * x
            R[2, 2] = c + b * z * z
            if p < 0:
                for r in range(3):
                    for k in range(3):
                        G[j, r, k] = R[r, k]
            else:
                for r in range(3):
                    for k in range(3):
                        G[j, r, k] = G[p, r, 0] * R[0, k] + G[p, r, 1] * R[1, k] + G[p, r, 2] * R[2, k]
        for m in range(select.shape[0]):
            j = select[m]
            for r in range(3):
                v = P[j, r] + rest[0, r]
                out[t, m, r] = v + trans[t, r] if placed else v


@_jit
def quat(x, y, z):  # pragma: no cover - compiled
    """Axis-angle -> (w, x, y, z), as resample.aa_to_quat."""
    th = math.sqrt(x * x + y * y + z * z)
    half = 0.5 * th
    if th < 1e-6:
        s = 0.5 - th * th / 48.0
    else:
        s = math.sin(half) / th
    return math.cos(half), x * s, y * s, z * s


@_jit
def slerp_loop(aa, i, w, rows, out):  # pragma: no cover - compiled
    """out[rows[n]] <- slerp of aa[i[n]] and aa[i[n] + 1] at weight w[n]; aa, out (T, 3K). As resample._slerp_rows."""
    K = aa.shape[1] // 3
    two_pi = 2.0 * math.pi
    for n in range(rows.shape[0]):
        i0 = i[n]
        wk = w[n]
        for k in range(K):
            a0x, a0y, a0z = np.float64(aa[i0, 3 * k]), np.float64(aa[i0, 3 * k + 1]), np.float64(aa[i0, 3 * k + 2])
            a1x, a1y, a1z = (np.float64(aa[i0 + 1, 3 * k]), np.float64(aa[i0 + 1, 3 * k + 1]),
                             np.float64(aa[i0 + 1, 3 * k + 2]))
            q0w, q0x, q0y, q0z = quat(a0x, a0y, a0z)
            q1w, q1x, q1y, q1z = quat(a1x, a1y, a1z)
            dot = q0w * q1w + q0x * q1x + q0y * q1y + q0z * q1z
            if dot < 0:  # shortest arc
                q1w, q1x, q1y, q1z = -q1w, -q1x, -q1y, -q1z
                dot = -dot
            omega = math.acos(min(dot, 1.0))
            so = math.sin(omega)
            if so < 1e-6:
                c0, c1 = 1.0 - wk, wk
            else:
                c0 = math.sin((1.0 - wk) * omega) / so
                c1 = math.sin(wk * omega) / so
            qw, qx, qy, qz = c0 * q0w + c1 * q1w, c0 * q0x + c1 * q1x, c0 * q0y + c1 * q1y, c0 * q0z + c1 * q1z
            nrm = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
            qw, qx, qy, qz = qw / nrm, qx / nrm, qy / nrm, qz / nrm
            rx, ry, rz = (1.0 - wk) * a0x + wk * a1x, (1.0 - wk) * a0y + wk * a1y, (1.0 - wk) * a0z + wk * a1z
            # quaternion -> axis-angle nearest the reference (resample.quat_to_aa with `reference`)
            if qw < 0:
                qw, qx, qy, qz = -qw, -qx, -qy, -qz
            s = math.sqrt(qx * qx + qy * qy + qz * qz)
            theta = 2.0 * math.atan2(s, qw)
            small = s < 1e-8
            if small:
                ax, ay, az = qx, qy, qz
                rn = math.sqrt(rx * rx + ry * ry + rz * rz)
                if rn > 1e-8:
                    ax, ay, az = rx / rn, ry / rn, rz / rn
            else:
                ax, ay, az = qx / s, qy / s, qz / s
            proj = rx * ax + ry * ay + rz * az
            m = np.round((proj - theta) / two_pi)
            r = rows[n]
            if small and m == 0:
                out[r, 3 * k], out[r, 3 * k + 1], out[r, 3 * k + 2] = 2.0 * qx, 2.0 * qy, 2.0 * qz
            else:
                ang = theta + two_pi * m
                out[r, 3 * k], out[r, 3 * k + 1], out[r, 3 * k + 2] = ax * ang, ay * ang, az * ang


@_jit
def window_speed_loop(x, fps, half, out):  # pragma: no cover - compiled
    """out (T, F) <- |x(t + half) - x(t - half)| / window, positions interpolated, window cut at the ends."""
    T, F = x.shape[0], x.shape[1]
    last = T - 1.0
    for t in range(T):
        lo = max(t - half, 0.0)
        hi = min(t + half, last)
        dt = (hi - lo) / fps
        a0 = min(int(math.floor(lo)), T - 1)
        a1 = min(a0 + 1, T - 1)
        wa = lo - a0
        b0 = min(int(math.floor(hi)), T - 1)
        b1 = min(b0 + 1, T - 1)
        wb = hi - b0
        for f in range(F):
            d2 = 0.0
            for c in range(3):
                d = (x[b0, f, c] * (1 - wb) + x[b1, f, c] * wb) - (x[a0, f, c] * (1 - wa) + x[a1, f, c] * wa)
                d2 += d * d
            out[t, f] = math.sqrt(d2) / dt


@_jit
def peak_speed_loop(x, fps):  # pragma: no cover - compiled
    """max over t, j of |v| with v = np.gradient(x, 1/fps, axis=0) (central inside, one-sided at the ends); T >= 2."""
    T, J = x.shape[0], x.shape[1]
    best = 0.0
    for t in range(T):
        a, b = max(t - 1, 0), min(t + 1, T - 1)
        s = fps / (b - a)
        for j in range(J):
            d0 = (x[b, j, 0] - x[a, j, 0]) * s
            d1 = (x[b, j, 1] - x[a, j, 1]) * s
            d2 = (x[b, j, 2] - x[a, j, 2]) * s
            best = max(best, math.sqrt(d0 * d0 + d1 * d1 + d2 * d2))
    return best


@_jit
def mean_jerk_loop(x):  # pragma: no cover - compiled
    """mean over t, j of |x[t+3] - 3 x[t+2] + 3 x[t+1] - x[t]| (per frame^3); T >= 4."""
    T, J = x.shape[0], x.shape[1]
    total = 0.0
    for t in range(T - 3):
        for j in range(J):
            d2 = 0.0
            for c in range(3):
                d = x[t + 3, j, c] - 3.0 * x[t + 2, j, c] + 3.0 * x[t + 1, j, c] - x[t, j, c]
                d2 += d * d
            total += math.sqrt(d2)
    return total / ((T - 3) * J)




@_jit
def local_floor_loop(h, n, out):  # pragma: no cover - compiled
    """out[t, f] = max(min h[t : t + n, f], min h[t - n + 1 : t + 1, f]) (windows cut at the ends), 1 <= n <= T.

    Van Herk / Gil-Werman: per column a prefix minimum (g) and a suffix minimum (s) within blocks of n
    frames; a window of n frames spans at most two blocks, so its minimum is one of s and g or both.
    """
    T, F = h.shape
    g = np.empty(T)
    s = np.empty(T)
    for f in range(F):
        pos = 0  # t % n, kept by counting (no division in the loops)
        for t in range(T):
            v = h[t, f]
            g[t] = v if pos == 0 else min(g[t - 1], v)
            pos = 0 if pos == n - 1 else pos + 1
        pos = (T - 1) % n
        for t in range(T - 1, -1, -1):
            v = h[t, f]
            s[t] = v if (pos == n - 1 or t == T - 1) else min(s[t + 1], v)
            pos = n - 1 if pos == 0 else pos - 1
        pos = 0
        for t in range(T):
            e = min(t + n - 1, T - 1)  # ahead: [t, e], in t's block when pos + (e - t) < n
            ahead = s[t] if pos + (e - t) < n else min(s[t], g[e])
            b = max(t - n + 1, 0)  # behind: [b, t], in t's block when t - b <= pos
            behind = g[t] if t - b <= pos else min(s[b], g[t])
            out[t, f] = max(ahead, behind)
            pos = 0 if pos == n - 1 else pos + 1
