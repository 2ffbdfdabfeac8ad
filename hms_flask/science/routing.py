"""Flow routing of a boundary inflow through a chain of river segments.

Units are SI (m, s, m³/s) unless a Manning constant ``k`` = 1.49 is passed for
US customary units (ft, cfs), as in the textbook checks.

Methods
-------
constant volume
    Each segment's volume stays fixed, so its outflow equals its inflow at every
    step (HMS/WASP "net flow" routing): every segment carries the boundary flow.
changing volume
    Each segment is a nonlinear reservoir: storage ``V = L·A(h)`` with a
    trapezoidal (``z`` = 0: rectangular) cross-section, outflow from Manning's
    equation at the segment depth ``Q = (k/n) A R^(2/3) S^(1/2)``.
kinematic wave
    Chow, Maidment & Mays (1988), *Applied Hydrology*, §9.6: ``A = α Q^β`` with
    ``β = 0.6`` and ``α = (n P^(2/3) / (k √S))^0.6``, P taken as the channel width
    (wide-channel form of Example 9.6.1), solved with the nonlinear
    backward-difference scheme of that section on ``subreaches`` reaches per
    segment.

Both changing-volume and kinematic-wave updates are fully implicit (backward
Euler in time, upwind in space): for every reach
``Δx·A(x)ⁿ⁺¹ + Δt·Q(x)ⁿ⁺¹ = Δx·Aⁿ + Δt·Q_inⁿ⁺¹``, solved per reach by Newton's
method. The scheme is unconditionally stable (no Courant limit; the Courant
number is reported because a large one means more numerical diffusion), keeps
depths non-negative, and conserves mass: each reach's outflow is taken from its
own volume balance, so inflow − outflow = change in storage to round-off.
Reaches are solved along anti-diagonals of the (time, reach) plane: all reaches
on one diagonal are independent, so each diagonal is one vectorised numpy step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["K_SI", "K_US", "BETA", "NotConverged", "flow_area", "manning_flow", "normal_depth",
           "kinematic_alpha", "ManningReach", "KinematicReach", "route", "constant_volume"]

K_SI = 1.0    # Manning constant, SI units
K_US = 1.49   # Manning constant, US customary units (ft, cfs)
BETA = 0.6    # kinematic-wave exponent from Manning's equation
_TOL = 1e-13
_MAX_ITER = 60        # Newton from the previous step's state converges in a handful
_ACCEPT = 1e-8        # relative change accepted when the cap is reached (round-off stall)


class NotConverged(ArithmeticError):
    """Newton's method found no finite solution: inputs outside a physical range."""


def _converged(x_new: np.ndarray, x: np.ndarray, tol: float) -> bool:
    if not np.all(np.isfinite(x_new)):
        raise NotConverged("the routing solver produced a non-finite state; check that flows, "
                           "widths, slopes and roughness are physically meaningful")
    return bool(np.all(np.abs(x_new - x) <= tol * np.maximum(x_new, 1e-300)))


def flow_area(h: Any, width: Any, z: Any = 0.0) -> np.ndarray:
    """Trapezoid flow area for depth ``h``, bottom width and side slope z (H:V)."""
    h = np.asarray(h, float)
    return h * (width + z * h)


def manning_flow(h: Any, width: Any, z: Any, n: Any, slope: Any, k: float = K_SI) -> np.ndarray:
    """Manning's equation for a trapezoidal channel at depth ``h``."""
    area = flow_area(h, width, z)
    perim = width + 2.0 * np.asarray(h, float) * np.sqrt(1.0 + np.square(z))
    return (k / np.asarray(n, float)) * np.sqrt(slope) * area ** (5.0 / 3.0) / perim ** (2.0 / 3.0)


def normal_depth(q: Any, width: Any, z: Any, n: Any, slope: Any, k: float = K_SI) -> np.ndarray:
    """Depth at which Manning's equation carries ``q`` (vectorised Newton)."""
    q, width, z, n, slope = (np.atleast_1d(np.asarray(v, float)) for v in (q, width, z, n, slope))
    q, width, z, n, slope = np.broadcast_arrays(q, width, z, n, slope)
    depth = ManningReach(width, z, n, slope, k).state_for_flow(q)
    return depth if depth.size > 1 else depth[0]


def kinematic_alpha(n: Any, perimeter: Any, slope: Any, k: float = K_SI, beta: float = BETA) -> np.ndarray:
    """α of ``A = α Q^β`` from Manning's equation (Chow et al. 1988, section 9.6)."""
    return (np.asarray(n, float) * np.asarray(perimeter, float) ** (2.0 / 3.0)
            / (k * np.sqrt(slope))) ** beta


@dataclass
class ManningReach:
    """Reaches with a trapezoidal section; the state variable is the depth (m)."""
    width: np.ndarray
    z: np.ndarray
    n: np.ndarray
    slope: np.ndarray
    k: float = K_SI

    def evaluate(self, h: np.ndarray, s: slice) -> tuple[np.ndarray, ...]:
        """Area, dA/dh, flow, dQ/dh for the reaches in slice ``s``."""
        w, z = self.width[s], self.z[s]
        side = np.sqrt(1.0 + z * z)
        area = h * (w + z * h)
        top = w + 2.0 * z * h
        perim = w + 2.0 * side * h
        coef = (self.k / self.n[s]) * np.sqrt(self.slope[s])
        a23 = np.cbrt(area) ** 2
        p23 = np.cbrt(perim) ** 2
        q = coef * area * a23 / p23
        dq = coef * a23 / p23 * ((5.0 / 3.0) * top - (4.0 / 3.0) * side * area / perim)
        return area, top, q, dq

    def depth(self, h: np.ndarray, s: slice = slice(None)) -> np.ndarray:
        return h

    def state_for_flow(self, q: np.ndarray) -> np.ndarray:
        """Normal depth of each reach for flow ``q``."""
        s = slice(None)
        wide = np.where(q > 0, (self.n * q / (self.k * self.width * np.sqrt(self.slope))) ** 0.6, 0.0)
        h = wide * 1.0
        with np.errstate(all="ignore"):
            for _ in range(_MAX_ITER):
                _, _, f, df = self.evaluate(h, s)
                step = np.divide(f - q, df, out=np.zeros_like(h), where=df > 0)
                h_new = np.maximum(h - step, 0.5 * h)
                done = _converged(h_new, h, _TOL)
                h = h_new
                if done:
                    return h
        if _converged(h, h - step, _ACCEPT):
            return h
        raise NotConverged(f"normal depth did not converge in {_MAX_ITER} iterations")


@dataclass
class KinematicReach:
    """Reaches with ``A = α Q^β``; the state variable is the flow area (m²)."""
    alpha: np.ndarray
    width: np.ndarray
    beta: float = BETA

    def evaluate(self, a: np.ndarray, s: slice) -> tuple[np.ndarray, ...]:
        p = 1.0 / self.beta
        q = (a / self.alpha[s]) ** p
        dq = np.divide(p * q, a, out=np.zeros_like(a), where=a > 0)
        return a, np.ones_like(a), q, dq

    def depth(self, a: np.ndarray, s: slice = slice(None)) -> np.ndarray:
        return a / self.width[s]

    def state_for_flow(self, q: np.ndarray) -> np.ndarray:
        return self.alpha * np.asarray(q, float) ** self.beta


def _solve(reach: Any, x: np.ndarray, s: slice, dx: np.ndarray, rhs: np.ndarray, dt: float) -> np.ndarray:
    """Newton for dx·A(x) + dt·Q(x) = rhs (convex, increasing in x ≥ 0), at most
    ``_MAX_ITER`` iterations; raises :class:`NotConverged` rather than loop on."""
    with np.errstate(all="ignore"):
        for _ in range(_MAX_ITER):
            area, darea, q, dq = reach.evaluate(x, s)
            step = (dx * area + dt * q - rhs) / (dx * darea + dt * dq)
            x_new = np.maximum(x - step, 0.0)
            if _converged(x_new, x, _TOL):
                return x_new
            x, last = x_new, x
    if _converged(x, last, _ACCEPT):
        return x
    raise NotConverged(f"the implicit step did not converge in {_MAX_ITER} iterations")


def route(inflow: np.ndarray, dt: float, reach: Any, dx: np.ndarray, per_segment: int,
          initial_flow: float) -> dict[str, np.ndarray]:
    """Route the boundary ``inflow`` (values at t0..tT) through a chain of reaches.

    ``dx``: length of each computational reach (m); ``per_segment`` consecutive
    reaches make one segment. The state at t0 is steady uniform flow
    ``initial_flow``. Returns flow and depth at each segment outlet and the
    volume of each segment, shaped (T+1, segments), and the outlet states.
    """
    inflow = np.asarray(inflow, float)
    steps, nreach = inflow.size - 1, dx.size
    x = reach.state_for_flow(np.full(nreach, float(initial_flow)))
    area, _, q, _ = reach.evaluate(x, slice(None))
    vol = dx * area
    states, volumes, flows = (np.empty((steps + 1, nreach)) for _ in range(3))
    states[0], volumes[0], flows[0] = x, vol, q
    # Reach i at step n needs reach i-1 at step n and itself at step n-1: every
    # reach on the diagonal i + n = d is independent of the others.
    for d in range(1, steps + nreach):
        i0, i1 = max(0, d - steps), min(nreach - 1, d - 1)
        s, idx = slice(i0, i1 + 1), np.arange(i0, i1 + 1)
        q_in = q[i0 - 1:i1] if i0 > 0 else np.concatenate(([inflow[d]], q[0:i1]))
        x_new = _solve(reach, x[s], s, dx[s], vol[s] + dt * q_in, dt)
        v_new = dx[s] * reach.evaluate(x_new, s)[0]
        q_out = np.maximum(q_in + (vol[s] - v_new) / dt, 0.0)   # the reach's volume balance
        x[s], q[s], vol[s] = x_new, q_out, v_new
        n = d - idx
        states[n, idx], volumes[n, idx], flows[n, idx] = x_new, v_new, q_out
    outlets = slice(per_segment - 1, None, per_segment)
    nseg = nreach // per_segment
    return {"flow": flows[:, outlets], "depth": reach.depth(states[:, outlets], outlets),
            "volume": volumes.reshape(steps + 1, nseg, per_segment).sum(axis=2),
            "state": states[:, outlets]}


def courant(reach: Any, state: np.ndarray, dx: np.ndarray, dt: float, per_segment: int) -> float:
    """Largest kinematic Courant number c·Δt/Δx, c = dQ/dA, over the outlet reaches."""
    s = slice(per_segment - 1, None, per_segment)
    _, darea, _, dq = reach.evaluate(state, s)
    c = np.divide(dq, darea, out=np.zeros_like(dq), where=darea > 0)
    return float(np.max(c * dt / dx[s])) if c.size else 0.0


def mass_balance(inflow: np.ndarray, outflow: np.ndarray, volume: np.ndarray, dt: float) -> dict[str, float]:
    """Inflow and outflow volumes over the run against the change in storage (m³)."""
    v_in = float(dt * np.sum(inflow[1:]))
    v_out = float(dt * np.sum(outflow[1:]))
    change = float(np.sum(volume[-1]) - np.sum(volume[0]))
    scale = max(abs(v_in), abs(v_out), abs(change), 1e-300)
    return {"inflow volume": v_in, "outflow volume": v_out, "storage change": change,
            "relative error": abs(v_in - v_out - change) / scale}


def constant_volume(steps: int, segments: int, boundary_flow: float) -> np.ndarray:
    """Constant-volume routing: every segment carries the boundary flow."""
    return np.full((steps, segments), float(boundary_flow))
