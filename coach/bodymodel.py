"""The model performer: a procedural body that does each exercise with textbook form.

No recorded person ships with Form Coach. The built-in references are generated here: a 3-D
kinematic skeleton with standard anthropometric proportions is posed frame by frame (joint angles,
with the feet or hands held where the exercise plants them), then filmed by a virtual camera and
turned into MediaPipe-like landmarks: all 33 points, pixel coordinates, depth `z` relative to the
mid-hip scaled like `x`, MediaPipe-like visibility and a little seeded jitter.

World frame (metres): x = the performer's forward direction, y = up (floor at y = 0), z = the
performer's right (right-handed). Left/right are always the performer's own sides.

Views: "side" films the performer's right side, so the performer faces image-right (nose x >
mid-hip x; a bench presser lies with the head towards -x, on the image left); "front" films the
performer facing the camera (their left shoulder on image right; the bench press from the feet).

`python -m coach.bodymodel build [--out references/]` regenerates the built-in library.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from coach.exercises import EXERCISE_IDS
from coach.pose import PoseSequence
from coach.schema import N_LANDMARKS, L

log = logging.getLogger(__name__)


def brentq(f: Callable[[float], float], a: float, b: float, **kw) -> float:
    """scipy's root finder, imported on first use: scipy.optimize takes ~0.3 s to import and only
    building or fitting a model performer needs it (not every `coach.analysis` import)."""
    from scipy.optimize import brentq as _brentq

    return float(_brentq(f, a, b, **kw))


MODEL_VERSION = 1
GENERATOR = "coach.bodymodel"
#: Camera views the generator can film.
GENERATOR_VIEWS: tuple[str, ...] = ("side", "front")

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
_RIGHT, _LEFT = +1, -1  # sign of the lateral (z) axis on each side
_SIDES = {_LEFT: "LEFT_", _RIGHT: "RIGHT_"}


# --- proportions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyProportions:
    """Segment lengths of the model performer as fractions of standing height (dimensionless),
    and the standing height in metres.

    Defaults: Drillis & Contini (1966) as tabulated in Winter, *Biomechanics and Motor Control of
    Human Movement* (fig. 4.1): shoulder height 0.818 H, hip (greater trochanter) 0.530 H,
    knee 0.285 H, ankle 0.039 H, so thigh 0.245 H, shank 0.246 H, trunk (mid-hip to mid-shoulder)
    0.288 H; upper arm 0.186 H, forearm 0.146 H, hand 0.108 H; shoulder width 0.259 H, hip width
    0.191 H (used as the spacing of the two hip landmarks); foot length 0.152 H.
    """

    height_m: float = 1.75  # standing height, metres
    thigh: float = 0.245  # hip joint to knee joint
    shank: float = 0.246  # knee joint to ankle joint
    ankle_height: float = 0.039  # ankle joint above the floor, standing
    foot_length: float = 0.152  # heel to toe tip
    trunk: float = 0.288  # mid-hip to mid-shoulder
    head: float = 0.182  # shoulder line to the top of the head
    upper_arm: float = 0.186  # shoulder joint to elbow
    forearm: float = 0.146  # elbow to wrist
    hand: float = 0.108  # wrist to middle fingertip
    shoulder_width: float = 0.259  # between the shoulder joints
    hip_width: float = 0.191  # between the hip landmarks

    def __post_init__(self) -> None:
        if not (math.isfinite(self.height_m) and 0.5 <= self.height_m <= 2.5):
            raise ValueError(f"height_m must be between 0.5 and 2.5 metres, got {self.height_m!r}")
        for f in dataclasses.fields(self):
            if f.name == "height_m":
                continue
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 < v < 0.6):
                raise ValueError(f"{f.name} must be a fraction of height in (0, 0.6), got {v!r}")

    def m(self, name: str) -> float:
        """A segment length in metres."""
        return float(getattr(self, name)) * self.height_m

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


#: Face landmarks relative to the mid-shoulder point of an upright head, as (forward, up, right)
#: fractions of standing height (a 1.75 m adult: nose 10.5 cm forward and 16.5 cm up).
_FACE: Mapping[int, tuple[float, float, float]] = MappingProxyType(
    {
        L.NOSE: (0.060, 0.094, 0.0),
        L.LEFT_EYE_INNER: (0.051, 0.113, -0.010),
        L.LEFT_EYE: (0.049, 0.114, -0.018),
        L.LEFT_EYE_OUTER: (0.041, 0.114, -0.027),
        L.RIGHT_EYE_INNER: (0.051, 0.113, 0.010),
        L.RIGHT_EYE: (0.049, 0.114, 0.018),
        L.RIGHT_EYE_OUTER: (0.041, 0.114, 0.027),
        L.LEFT_EAR: (-0.004, 0.104, -0.043),
        L.RIGHT_EAR: (-0.004, 0.104, 0.043),
        L.MOUTH_LEFT: (0.049, 0.072, -0.014),
        L.MOUTH_RIGHT: (0.049, 0.072, 0.014),
    }
)
_HEAD_REF = 0.182  # the head size the face table was measured for

# Foot (fractions of foot length along the sole, of height across it) and hand (fractions of hand
# length: distal, radial) landmark geometry. MediaPipe's hand points are knuckles, not fingertips.
_TOE_FWD, _HEEL_BACK = 0.78, 0.22
_TOE_ABOVE_FLOOR, _HEEL_ABOVE_FLOOR = 0.006, 0.012
_HAND_POINTS = {"INDEX": (0.45, 0.10), "PINKY": (0.40, -0.16), "THUMB": (0.24, 0.24)}

#: Segment mass fractions (Winter) for the centre of mass: (mass, proximal, distal, fraction).
_MASS = (
    (0.081, "head", None, 0.0),
    (0.497, "mid_hip", "mid_shoulder", 0.5),
    (0.028, "SHOULDER", "ELBOW", 0.436),
    (0.022, "ELBOW", "WRIST", 0.682),
    (0.100, "HIP", "KNEE", 0.433),
    (0.0465, "KNEE", "ANKLE", 0.433),
    (0.0145, "HEEL", "FOOT_INDEX", 0.5),
)


# --- geometry helpers -------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n < 1e-12:
        raise ValueError("zero-length direction")
    return v / n


def _perp(v: np.ndarray, axis: np.ndarray, fallback: np.ndarray = _X) -> np.ndarray:
    """Unit component of v orthogonal to the unit vector axis."""
    w = v - np.dot(v, axis) * axis
    if np.linalg.norm(w) < 1e-9:
        w = fallback - np.dot(fallback, axis) * axis
    return _unit(w)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _clip01(t: float) -> float:
    return min(max(t, 0.0), 1.0)


def min_jerk(t: float | np.ndarray) -> float | np.ndarray:
    """Minimum-jerk easing 10t³ − 15t⁴ + 6t⁵ on [0, 1]: zero velocity and acceleration at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return t**3 * (10.0 - 15.0 * t + 6.0 * t * t)


def _ease(t: float) -> float:
    return float(min_jerk(_clip01(t)))


@dataclass(frozen=True)
class _Frame:
    """Body axes: f forward (chest), u up (mid-hip to mid-shoulder), r the performer's right."""

    f: np.ndarray
    u: np.ndarray
    r: np.ndarray


def _frame(lean_deg: float) -> _Frame:
    """Trunk axes pitched forward by lean_deg from upright (negative leans back)."""
    a = math.radians(lean_deg)
    return _Frame(
        f=np.array([math.cos(a), -math.sin(a), 0.0]),
        u=np.array([math.sin(a), math.cos(a), 0.0]),
        r=_Z.copy(),
    )


def _two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray):
    """Analytic two-bone IK: (middle joint, end) with the end as close to target as the bones
    allow and the middle joint bent towards pole. Bone lengths are exact."""
    d_vec = target - root
    d = float(np.linalg.norm(d_vec))
    n = d_vec / d
    d = min(max(d, abs(l1 - l2) + 1e-6), (l1 + l2) * (1.0 - 1e-9))
    x = (l1 * l1 - l2 * l2 + d * d) / (2.0 * d)
    h = math.sqrt(max(l1 * l1 - x * x, 0.0))
    mid = root + x * n + h * _perp(pole, n)
    return mid, root + d * n


def _reach(l1: float, l2: float, interior_deg: float) -> float:
    """Root-to-end distance of a two-bone limb whose middle joint is at interior_deg."""
    c = math.cos(math.radians(interior_deg))
    return math.sqrt(l1 * l1 + l2 * l2 - 2.0 * l1 * l2 * c)


def _interior(l1: float, l2: float, d: float) -> float:
    c = (l1 * l1 + l2 * l2 - d * d) / (2.0 * l1 * l2)
    return math.degrees(math.acos(min(max(c, -1.0), 1.0)))


def _flat_foot(yaw_deg: float, side: int, pitch_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(sole forward, sole up) of a foot turned out by yaw_deg; pitch_deg > 0 raises the heel."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    h = np.array([math.cos(y), 0.0, side * math.sin(y)])
    return math.cos(p) * h - math.sin(p) * _Y, math.sin(p) * h + math.cos(p) * _Y


# --- the skeleton -----------------------------------------------------------------------------


class _Body:
    """One frame's 33 landmarks in world metres, filled segment by segment."""

    def __init__(self, prop: BodyProportions) -> None:
        self.prop = prop
        self.p = np.full((N_LANDMARKS, 3), np.nan)
        self.frame = _frame(0.0)

    def _set(self, side: int, name: str, point: np.ndarray) -> None:
        self.p[L[_SIDES[side] + name]] = point

    def get(self, side: int, name: str) -> np.ndarray:
        return self.p[L[_SIDES[side] + name]]

    def hip(self, side: int) -> np.ndarray:
        return self.get(side, "HIP")

    def shoulder(self, side: int) -> np.ndarray:
        return self.get(side, "SHOULDER")

    def torso(self, mid_hip: np.ndarray, lean_deg: float, head_flex_deg: float = 0.0) -> _Frame:
        """Pelvis, shoulders and face. head_flex_deg > 0 nods the chin down (relative to the trunk)."""
        pr = self.prop
        fr = _frame(lean_deg)
        self.frame = fr
        mid_sh = mid_hip + pr.m("trunk") * fr.u
        for s in (_LEFT, _RIGHT):
            self._set(s, "HIP", mid_hip + s * 0.5 * pr.m("hip_width") * fr.r)
            self._set(s, "SHOULDER", mid_sh + s * 0.5 * pr.m("shoulder_width") * fr.r)
        hf = _frame(lean_deg + head_flex_deg)
        k = pr.height_m * pr.head / _HEAD_REF
        for lm, (fw, up, rt) in _FACE.items():
            self.p[lm] = mid_sh + k * (fw * hf.f + up * hf.u + rt * hf.r)
        return fr

    def leg(self, side: int, knee: np.ndarray, ankle: np.ndarray, sole_fwd: np.ndarray, sole_up: np.ndarray):
        pr = self.prop
        self._set(side, "KNEE", knee)
        self._set(side, "ANKLE", ankle)
        down = pr.m("ankle_height")
        self._set(side, "FOOT_INDEX",
                  ankle + _TOE_FWD * pr.m("foot_length") * sole_fwd - (down - _TOE_ABOVE_FLOOR * pr.height_m) * sole_up)
        self._set(side, "HEEL",
                  ankle - _HEEL_BACK * pr.m("foot_length") * sole_fwd - (down - _HEEL_ABOVE_FLOOR * pr.height_m) * sole_up)

    def leg_ik(self, side: int, ankle: np.ndarray, knee_pole: np.ndarray, sole_fwd: np.ndarray, sole_up: np.ndarray):
        """Knee from the hip and a planted ankle (the knee bends towards knee_pole)."""
        pr = self.prop
        knee, ank = _two_bone(self.hip(side), ankle, pr.m("thigh"), pr.m("shank"), knee_pole)
        self.leg(side, knee, ank, sole_fwd, sole_up)

    def leg_fk(self, side: int, hip_flex: float, hip_abd: float, knee_flex: float, ankle_dorsi: float,
               toe_out: float = 0.0):
        """Leg from joint angles (degrees) relative to the trunk: hip flexion (thigh forward), hip
        abduction (outward), knee flexion (shank backward), ankle dorsiflexion (toes up; the
        neutral foot is at 90° to the shank), toe-out (foot turned outward about the shank)."""
        pr, fr = self.prop, self.frame
        out = side * fr.r
        hf, ha, kf, ad, to = (math.radians(a) for a in (hip_flex, hip_abd, knee_flex, ankle_dorsi, toe_out))
        thigh = math.cos(ha) * (math.cos(hf) * -fr.u + math.sin(hf) * fr.f) + math.sin(ha) * out
        knee = self.hip(side) + pr.m("thigh") * thigh
        fwd = _perp(fr.f, thigh)
        shank = math.cos(kf) * thigh - math.sin(kf) * fwd
        ankle = knee + pr.m("shank") * shank
        kfs = _perp(fr.f, shank)
        kfs = _unit(math.cos(to) * kfs + math.sin(to) * _perp(out, shank))
        sole_fwd = math.cos(ad) * kfs - math.sin(ad) * shank
        sole_up = -math.cos(ad) * shank - math.sin(ad) * kfs
        self.leg(side, knee, ankle, sole_fwd, sole_up)

    def arm(self, side: int, elbow: np.ndarray, wrist: np.ndarray, hand_dir: np.ndarray, thumb_dir: np.ndarray):
        h = self.prop.m("hand")
        hd = _unit(hand_dir)
        td = _perp(thumb_dir, hd, fallback=self.frame.f)
        self._set(side, "ELBOW", elbow)
        self._set(side, "WRIST", wrist)
        for name, (dist, rad) in _HAND_POINTS.items():
            self._set(side, name, wrist + h * (dist * hd + rad * td))

    def arm_fk(self, side: int, flex: float, abd: float, elbow_flex: float, bend_hint: np.ndarray,
               thumb_hint: np.ndarray):
        """Arm from angles (degrees) relative to the trunk: shoulder flexion (forward raise),
        abduction (sideways raise), elbow flexion (forearm towards bend_hint)."""
        pr, fr = self.prop, self.frame
        out = side * fr.r
        f, a, e = (math.radians(x) for x in (flex, abd, elbow_flex))
        upper = math.cos(a) * (math.cos(f) * -fr.u + math.sin(f) * fr.f) + math.sin(a) * out
        elbow = self.shoulder(side) + pr.m("upper_arm") * upper
        fore = math.cos(e) * upper + math.sin(e) * _perp(bend_hint, upper, fallback=fr.f)
        wrist = elbow + pr.m("forearm") * fore
        self.arm(side, elbow, wrist, fore, thumb_hint)

    def arm_ik(self, side: int, wrist: np.ndarray, elbow_pole: np.ndarray, hand_dir: np.ndarray,
               thumb_dir: np.ndarray):
        pr = self.prop
        elbow, wr = _two_bone(self.shoulder(side), wrist, pr.m("upper_arm"), pr.m("forearm"), elbow_pole)
        self.arm(side, elbow, wr, hand_dir, thumb_dir)

    def com(self) -> np.ndarray:
        """Whole-body centre of mass (Winter's segment masses), metres."""
        p = self.p
        named = {
            "head": (p[L.LEFT_EAR] + p[L.RIGHT_EAR]) / 2,
            "mid_hip": (p[L.LEFT_HIP] + p[L.RIGHT_HIP]) / 2,
            "mid_shoulder": (p[L.LEFT_SHOULDER] + p[L.RIGHT_SHOULDER]) / 2,
        }
        total = np.zeros(3)
        for mass, a, b, frac in _MASS:
            if a in named:
                pa = named[a]
                pb = named[b] if b else pa
                total += mass * (pa + frac * (pb - pa))
            else:
                for s in (_LEFT, _RIGHT):
                    pa, pb = self.get(s, a), self.get(s, b)
                    total += mass * (pa + frac * (pb - pa))
        return total


# --- exercises --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepVariation:
    """Natural rep-to-rep differences, each in [-1, 1]: depth scales the main joint's extreme
    (about ±3°), lean the secondary angles (about ±1.5°)."""

    depth: float = 0.0
    lean: float = 0.0


@dataclass(frozen=True)
class Tempo:
    """Seconds per phase of one rep: from the start pose to the working extreme, held there, back
    to the start pose, and resting in the start pose before the next rep."""

    to_peak_s: float
    hold_s: float
    back_s: float
    rest_s: float

    @property
    def rep_s(self) -> float:
        return self.to_peak_s + self.hold_s + self.back_s


PoseFn = Callable[[BodyProportions, float, RepVariation], np.ndarray]


@dataclass(frozen=True)
class _ExerciseModel:
    pose: PoseFn  # (proportions, phase 0..1 from start pose to working extreme, variation) -> (33, 3)
    tempo: Tempo
    floor: bool  # lying on the floor (landscape frame, low camera)
    targets: Mapping[str, float]  # nominal joint angles (degrees), as designed
    notes: str


def _standing_hips(pr: BodyProportions, ankle_z: float, knee_interior: float, hip_x: float = 0.0) -> np.ndarray:
    """Mid-hip position over ankles at x = 0, height from the knee angle (feet flat)."""
    dz = abs(ankle_z) - 0.5 * pr.m("hip_width")
    d = _reach(pr.m("thigh"), pr.m("shank"), knee_interior)
    return np.array([hip_x, pr.m("ankle_height") + math.sqrt(d * d - hip_x * hip_x - dz * dz), 0.0])


def _stand_legs(b: _Body, ankle_z: float, toe_out: float, ankle_x: float = 0.0) -> None:
    pr = b.prop
    for s in (_LEFT, _RIGHT):
        sole_fwd, sole_up = _flat_foot(toe_out, s)
        ankle = np.array([ankle_x, pr.m("ankle_height"), s * ankle_z])
        b.leg_ik(s, ankle, sole_fwd, sole_fwd, sole_up)


_SQUAT_STANCE = 0.142  # ankle half-spacing, fraction of height (slightly wider than the shoulders)
_SQUAT_TOE_OUT = 15.0


def _squat_body(pr: BodyProportions, hip_x: float, knee_interior: float, lean: float, arm_pitch: float) -> _Body:
    b = _Body(pr)
    mid_hip = _standing_hips(pr, _SQUAT_STANCE * pr.height_m, knee_interior, hip_x)
    b.torso(mid_hip, lean, head_flex_deg=-0.45 * lean)
    _stand_legs(b, _SQUAT_STANCE * pr.height_m, _SQUAT_TOE_OUT)
    for s in (_LEFT, _RIGHT):
        # arms rise forward as a counterweight; arm_pitch is from hanging, in world terms
        b.arm_fk(s, flex=arm_pitch + lean, abd=4.0, elbow_flex=10.0, bend_hint=b.frame.u,
                 thumb_hint=b.frame.f - s * b.frame.r)
    return b


def _mid_foot_x(b: _Body) -> float:
    p = b.p
    return float(np.mean(p[[L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 0]))


def _pose_squat(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    knee = _lerp(176.0, 66.0 - 3.0 * v.depth, p)  # thighs about parallel (hip and knee joint centres)
    lean = _lerp(3.0, 43.0 + 1.5 * v.lean, p)
    arms = _lerp(4.0, 80.0, p)

    def imbalance(hx: float) -> float:
        b = _squat_body(pr, hx, knee, lean, arms)
        return float(b.com()[0] - (_mid_foot_x(b) - 0.01 * pr.height_m))

    dz = (_SQUAT_STANCE - 0.5 * pr.hip_width) * pr.height_m
    d = _reach(pr.m("thigh"), pr.m("shank"), knee)
    lim = 0.98 * math.sqrt(d * d - dz * dz)  # the hips can only go as far as the legs reach
    hx = brentq(imbalance, -lim, min(0.1 * pr.height_m, lim), xtol=1e-6)
    return _squat_body(pr, hx, knee, lean, arms).p


def _deadlift_body(pr: BodyProportions, p: float, v: RepVariation) -> _Body:
    """p = 0: bar at mid-shin (start); p = 1: lockout. The bar rises close to vertical over the
    mid-foot; knees extend early, the hips late (the bar passes the knees before the hips open)."""
    h = pr.height_m
    pk = 1.0 - (1.0 - p) ** 2
    ph = p**1.4
    knee = _lerp(128.0 + 3.0 * v.depth, 177.0, pk)
    lean = _lerp(66.0 + 1.5 * v.lean, 0.0, ph)
    bar_x = _lerp(0.05, 0.075, p) * h  # the bar over mid-foot, ending against the thighs
    ahead = _lerp(0.05, -0.07, p) * h  # shoulders just ahead of the bar at the start, behind it at lockout
    hip_x = bar_x + ahead - pr.m("trunk") * math.sin(math.radians(lean))
    stance = 0.1 * h
    b = _Body(pr)
    b.torso(_standing_hips(pr, stance, knee, hip_x), lean, head_flex_deg=_lerp(-18.0, 0.0, ph))
    for s in (_LEFT, _RIGHT):
        sole_fwd, sole_up = _flat_foot(8.0, s)
        ankle = np.array([0.0, pr.m("ankle_height"), s * stance])
        b.leg_ik(s, ankle, sole_fwd, sole_fwd, sole_up)
        sh = b.shoulder(s)
        arm = _reach(pr.m("upper_arm"), pr.m("forearm"), 176.0)
        grip_z = s * 0.135 * h
        dx, dz = sh[0] - bar_x, sh[2] - grip_z
        wrist = np.array([bar_x, sh[1] - math.sqrt(arm * arm - dx * dx - dz * dz), grip_z])
        b.arm_ik(s, wrist, -_X, hand_dir=-_Y + 0.1 * _X, thumb_dir=-s * _Z)
    return b


def _pose_deadlift(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    return _deadlift_body(pr, p, v).p


def _pose_standing_arms(pr: BodyProportions, arm: Callable[[_Body, int], None], lean: float = 1.0,
                        shrug_m: float = 0.0) -> np.ndarray:
    """Standing, feet under the hips; shrug_m lifts both shoulders (the arms hang from them) along
    the trunk while the head stays."""
    h = pr.height_m
    stance = 0.1 * h
    b = _Body(pr)
    fr = b.torso(_standing_hips(pr, stance, 176.0, -0.005 * h), lean)
    for s in (_LEFT, _RIGHT):
        b._set(s, "SHOULDER", b.shoulder(s) + shrug_m * fr.u)
    _stand_legs(b, stance, 8.0)
    for s in (_LEFT, _RIGHT):
        arm(b, s)
    return b.p


def _pose_curl(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    elbow = _lerp(15.0, 140.0 + 3.0 * v.depth, p)  # flexion: interior 165° -> 40°
    flex = _lerp(0.0, 8.0 + 1.5 * v.lean, p)  # the elbow stays by the torso

    def arm(b: _Body, s: int) -> None:
        b.arm_fk(s, flex=flex, abd=6.0, elbow_flex=elbow, bend_hint=b.frame.f, thumb_hint=s * b.frame.r)

    return _pose_standing_arms(pr, arm, lean=_lerp(1.0, -1.5, p))


def _pose_press(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    abd = _lerp(72.0, 168.0 + 1.5 * v.lean, p)
    flex = _lerp(18.0, 6.0, p)
    elbow = _lerp(100.0, 6.0 + 1.5 * (v.depth + 1.0), p)  # interior 80° (rack) -> ~173° (lockout)

    def arm(b: _Body, s: int) -> None:
        b.arm_fk(s, flex=flex, abd=abd, elbow_flex=elbow, bend_hint=b.frame.u, thumb_hint=-s * b.frame.r)

    return _pose_standing_arms(pr, arm, lean=_lerp(1.0, -2.0, p))


def _pose_front_raise(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    flex = _lerp(4.0, 90.0 + 3.0 * v.depth, p)  # arms from the thighs to shoulder height
    abd = _lerp(8.0, 6.0 + v.lean, p)

    def arm(b: _Body, s: int) -> None:
        # a soft elbow (~15 deg) bent towards the floor, palms down
        b.arm_fk(s, flex=flex, abd=abd, elbow_flex=15.0, bend_hint=-b.frame.u, thumb_hint=-s * b.frame.r)

    return _pose_standing_arms(pr, arm, lean=1.0)


#: Shoulder lift of a full shrug, fraction of the trunk (~8 cm on a 1.75 m performer).
_SHRUG_RISE = 0.16


def _pose_shrug(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    rise = _lerp(0.0, (_SHRUG_RISE + 0.01 * v.depth) * pr.m("trunk"), p)

    def arm(b: _Body, s: int) -> None:
        # arms hang straight by the thighs holding the dumbbells, palms in
        b.arm_fk(s, flex=2.0, abd=6.0 + 0.5 * v.lean, elbow_flex=8.0, bend_hint=b.frame.f, thumb_hint=b.frame.f)

    return _pose_standing_arms(pr, arm, lean=1.0, shrug_m=rise)


def _pose_jack(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    h = pr.height_m
    air = math.sin(math.pi * p)  # the jump: feet leave the floor half-way through each transition
    lift = 0.035 * h * air
    ankle_z = _lerp(0.06, 0.22 + 0.008 * v.depth, p) * h
    toe_out = _lerp(5.0, 15.0, p)
    heel_up = 25.0 * air
    knee = 176.0 - _lerp(0.0, 10.0, p) - 12.0 * air
    b = _Body(pr)
    dz = ankle_z - 0.5 * pr.m("hip_width")
    d = _reach(pr.m("thigh"), pr.m("shank"), knee)
    mid_hip = np.array([-0.005 * h, pr.m("ankle_height") + lift + math.sqrt(d * d - dz * dz), 0.0])
    b.torso(mid_hip, 1.0)
    for s in (_LEFT, _RIGHT):
        sole_fwd, sole_up = _flat_foot(toe_out, s, heel_up)
        ankle = np.array([0.0, pr.m("ankle_height") + lift, s * ankle_z])
        b.leg_ik(s, ankle, _flat_foot(toe_out, s)[0], sole_fwd, sole_up)
        b.arm_fk(s, flex=_lerp(0.0, 5.0, p), abd=_lerp(8.0, 166.0 + 2.0 * v.lean, p),
                 elbow_flex=_lerp(8.0, 20.0, p), bend_hint=b.frame.u - s * b.frame.r, thumb_hint=b.frame.f)
    return b.p


# Lunge: a forward step with the right leg (the near leg in the side view), down until both knees
# are near 90° and the back knee almost touches the floor, then a push back to standing.
_LUNGE_STEP = 0.62  # front ankle travel, fraction of height
_LUNGE_HIP_FWD = 0.38  # mid-hip travel at the bottom
_LUNGE_HIP_LOW = 0.285  # mid-hip height above the floor at the bottom (back knee ~9 cm up)
_LUNGE_HALF = 0.095  # ankle half-spacing


def _pose_lunge(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    h = pr.height_m
    th, sh = pr.m("thigh"), pr.m("shank")
    max_leg = _reach(th, sh, 172.0)
    half = _LUNGE_HALF * h
    hip_half = 0.5 * pr.m("hip_width")
    ah = pr.m("ankle_height")
    s_step = _ease(p / 0.7)
    front = np.array([_LUNGE_STEP * h * s_step, ah + 0.05 * h * math.sin(math.pi * s_step), half])
    mid_x = _LUNGE_HIP_FWD * h * _ease(p / 0.8)
    stand_y = _standing_hips(pr, half, 176.0)[1]
    low = (_LUNGE_HIP_LOW - 0.004 * v.depth) * h
    want_y = _lerp(stand_y, low, _ease((p - 0.15) / 0.85))
    # the front foot must stay within reach of its hip
    dx, dz = front[0] - mid_x, front[2] - hip_half
    y = min(want_y, front[1] + math.sqrt(max(max_leg**2 - dx * dx - dz * dz, 0.0)))
    lean = _lerp(2.0, 6.0 + 1.5 * v.lean, p)
    b = _Body(pr)
    b.torso(np.array([mid_x, y, 0.0]), lean, head_flex_deg=3.0)
    # back (left) foot: toe tip fixed, the heel rises as far as the back leg needs
    ff, fu = _flat_foot(6.0, _LEFT)
    toe = np.array([0.0, 0.0, -half]) + _TOE_FWD * pr.m("foot_length") * ff + _TOE_ABOVE_FLOOR * h * _Y

    def back_ankle(pitch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sf, su = _flat_foot(6.0, _LEFT, pitch)
        ank = toe - _TOE_FWD * pr.m("foot_length") * sf + (ah - _TOE_ABOVE_FLOOR * h) * su
        return ank, sf, su

    hip_b = b.hip(_LEFT)
    pitch = 55.0 * _ease(p / 0.9)
    if np.linalg.norm(hip_b - back_ankle(pitch)[0]) > max_leg:
        pitch = brentq(lambda a: np.linalg.norm(hip_b - back_ankle(a)[0]) - max_leg, pitch, 85.0, xtol=1e-6)
    ank, sf, su = back_ankle(pitch)
    b.leg_ik(_LEFT, ank, np.array([1.0, -0.35, 0.0]), sf, su)
    ff, fu = _flat_foot(6.0, _RIGHT)
    b.leg_ik(_RIGHT, front, ff, ff, fu)
    for s in (_LEFT, _RIGHT):
        b.arm_fk(s, flex=4.0, abd=7.0, elbow_flex=12.0, bend_hint=b.frame.f, thumb_hint=b.frame.f)
    return b.p


# Push-up: hands under the shoulders, body a rigid plank pivoting about the toe tips.
_PUSH_HAND_HALF = 0.17  # wrist half-spacing, fraction of height (a little wider than the shoulders)
_PUSH_WRIST_Y = 0.03


def _plank(pr: BodyProportions, angle_deg: float) -> _Body:
    """A straight plank at angle_deg above horizontal, toe tips at x = 0 on the floor."""
    b = _Body(pr)
    b.torso(np.zeros(3), 90.0 - angle_deg, head_flex_deg=-12.0)
    for s in (_LEFT, _RIGHT):
        b.leg_fk(s, hip_flex=0.0, hip_abd=0.0, knee_flex=2.0, ankle_dorsi=-10.0)
    toes = (b.p[L.LEFT_FOOT_INDEX] + b.p[L.RIGHT_FOOT_INDEX]) / 2
    b.p -= np.array([toes[0], toes[1] - _TOE_ABOVE_FLOOR * pr.height_m, 0.0])
    return b


def _push_geometry(pr: BodyProportions) -> tuple[float, np.ndarray]:
    """(plank angle at the top, right wrist position): arms vertical under the shoulders."""
    h = pr.height_m
    dz = (_PUSH_HAND_HALF - 0.5 * pr.shoulder_width) * h
    top = _reach(pr.m("upper_arm"), pr.m("forearm"), 172.0)
    want = _PUSH_WRIST_Y * h + math.sqrt(top * top - dz * dz)
    ang = brentq(lambda a: _plank(pr, a).shoulder(_RIGHT)[1] - want, 0.0, 45.0, xtol=1e-8)
    sh = _plank(pr, ang).shoulder(_RIGHT)
    return ang, np.array([sh[0], _PUSH_WRIST_Y * h, _PUSH_HAND_HALF * h])


def _pose_push_up(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    top_angle, wrist_r = _push_geometry(pr)
    elbow = _lerp(172.0, 76.0 - 3.0 * v.depth, p)
    d = _reach(pr.m("upper_arm"), pr.m("forearm"), elbow)
    ang = brentq(lambda a: np.linalg.norm(_plank(pr, a).shoulder(_RIGHT) - wrist_r) - d,
                 -5.0, top_angle + 1.0, xtol=1e-8)
    b = _plank(pr, ang)
    for s in (_LEFT, _RIGHT):
        wrist = wrist_r * np.array([1.0, 1.0, s])
        pole = np.array([-1.0, 0.6, 0.5 * s])  # elbows back and ~30° out from the body
        b.arm_ik(s, wrist, pole, hand_dir=np.array([1.0, -0.25, 0.12 * s]), thumb_dir=-s * _Z)
    return b.p


# Bench press: lying face up on a flat bench (pad 43 cm high), feet flat on the floor, bar from
# lockout over the shoulders down to the lower chest and back.
_BENCH_PAD_Y = 0.245  # bench pad top, fraction of height (43 cm for 1.75 m)
_BENCH_BODY_ABOVE_PAD = 0.05  # hip and shoulder joints above the pad, fraction of height
_BENCH_GRIP_HALF = 0.2  # wrist half-spacing (~1.5x the shoulder width)
_BENCH_BAR_OVER_CHEST = 0.11  # wrists above the shoulder joints at the bottom (bar on the arched chest)
_BENCH_BAR_TO_HIPS = 0.06  # the bar touches the lower chest: towards the hips from the shoulders


def _pose_bench_press(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    """Lockout at p = 0 (wrists straight over the shoulders), bar on the lower chest at p = 1.
    The trunk points to -x (head end), chest up; the performer's right is +z as everywhere."""
    h = pr.height_m
    b = _Body(pr)
    mid_hip = np.array([0.0, (_BENCH_PAD_Y + _BENCH_BODY_ABOVE_PAD) * h, 0.0])
    b.torso(mid_hip, -90.0, head_flex_deg=8.0)
    for s in (_LEFT, _RIGHT):
        hip = b.hip(s)
        ankle = np.array([hip[0] + 0.25 * h, pr.m("ankle_height"), s * 0.17 * h])
        ff, fu = _flat_foot(8.0, s)
        b.leg_ik(s, ankle, np.array([0.3, 1.0, 0.2 * s]), ff, fu)
    top = _reach(pr.m("upper_arm"), pr.m("forearm"), 174.0)
    dz = (_BENCH_GRIP_HALF - 0.5 * pr.shoulder_width) * h
    lock_up = math.sqrt(top * top - dz * dz)
    bottom_up = (_BENCH_BAR_OVER_CHEST - 0.004 * v.depth) * h
    q = p  # the timeline already eases the phase
    for s in (_LEFT, _RIGHT):
        sh = b.shoulder(s)
        wrist = np.array([
            sh[0] + _lerp(0.0, _BENCH_BAR_TO_HIPS * h, q),
            sh[1] + _lerp(lock_up, bottom_up, q),
            s * _BENCH_GRIP_HALF * h,
        ])
        pole = np.array([0.55, -1.0, 0.9 * s])  # elbows under the bar, ~55° from the trunk
        b.arm_ik(s, wrist, pole, hand_dir=_Y + 0.1 * _X, thumb_dir=-s * _Z)
    return b.p


# Pull-up: overhand grip a little wider than the shoulders, from a dead hang to chin over the bar.
_PULL_GRIP_HALF = 0.2
_PULL_WRIST_BELOW_BAR = 0.035
_PULL_NOSE_OVER_WRIST = 0.05  # at the top, nose above the wrists (chin over the bar)


def _hang_body(pr: BodyProportions, mid_sh: np.ndarray, lean: float, p: float, wrist_y: float) -> _Body:
    h = pr.height_m
    b = _Body(pr)
    fr = _frame(lean)
    b.torso(mid_sh - pr.m("trunk") * fr.u, lean, head_flex_deg=_lerp(0.0, -14.0, p))
    for s in (_LEFT, _RIGHT):
        b.leg_fk(s, hip_flex=_lerp(5.0, 16.0, p), hip_abd=2.0, knee_flex=_lerp(8.0, 18.0, p),
                 ankle_dorsi=-32.0)
        wrist = np.array([0.0, wrist_y, s * _PULL_GRIP_HALF * h])
        b.arm_ik(s, wrist, np.array([0.25, -0.6, 1.0 * s]), hand_dir=_Y + 0.15 * _X, thumb_dir=-s * _Z)
    return b


def _pull_geometry(pr: BodyProportions) -> tuple[float, float, float]:
    """(wrist height, mid-shoulder height at the dead hang, at the top) in metres."""
    h = pr.height_m
    dz = (_PULL_GRIP_HALF - 0.5 * pr.shoulder_width) * h
    arm = _reach(pr.m("upper_arm"), pr.m("forearm"), 170.0)
    hang_drop = math.sqrt(arm * arm - dz * dz - (0.01 * h) ** 2)
    probe = _hang_body(pr, np.array([-0.01 * h, 0.0, 0.0]), -3.0, 0.0, hang_drop)
    wrist_y = -float(np.min(probe.p[:, 1])) + 0.09 * h + hang_drop  # toes ~16 cm off the floor
    want = wrist_y + _PULL_NOSE_OVER_WRIST * h

    def nose_gap(y: float) -> float:
        b = _hang_body(pr, np.array([-0.045 * h, y, 0.0]), -12.0, 1.0, wrist_y)
        return float(b.p[L.NOSE, 1] - want)

    top = brentq(nose_gap, wrist_y - 0.3 * h, wrist_y, xtol=1e-8)
    return wrist_y, wrist_y - hang_drop, top


def _pose_pull_up(pr: BodyProportions, p: float, v: RepVariation) -> np.ndarray:
    h = pr.height_m
    wrist_y, hang_y, top_y = _pull_geometry(pr)
    top_y += 0.008 * h * v.depth
    mid_sh = np.array([_lerp(-0.01, -0.045, p) * h, _lerp(hang_y, top_y, p), 0.0])
    lean = _lerp(-3.0, -12.0 - 1.5 * v.lean, p)
    return _hang_body(pr, mid_sh, lean, p, wrist_y).p


_EXERCISES: Mapping[str, _ExerciseModel] = MappingProxyType(
    {
        "squat": _ExerciseModel(
            _pose_squat, Tempo(1.4, 0.2, 1.0, 0.4), False,
            {"knee_bottom_deg": 66.0, "trunk_lean_bottom_deg": 43.0, "toe_out_deg": _SQUAT_TOE_OUT},
            "bodyweight squat, feet slightly wider than the shoulders, toes out 15°, heels down, knees "
            "over the toes, arms rising forward as a counterweight; the hips are placed so the centre "
            "of mass stays over the mid-foot",
        ),
        "push_up": _ExerciseModel(
            _pose_push_up, Tempo(1.2, 0.15, 0.9, 0.35), True,
            {"elbow_top_deg": 172.0, "elbow_bottom_deg": 82.0, "body_line_deg": 180.0},
            "hands under the shoulders a little wider than them, elbows ~45° out, body a straight plank "
            "pivoting about the toes",
        ),
        "lunge": _ExerciseModel(
            _pose_lunge, Tempo(1.9, 0.25, 1.8, 0.5), False,
            {"front_knee_bottom_deg": 90.0, "back_knee_bottom_deg": 90.0, "trunk_lean_bottom_deg": 6.0},
            "forward lunge with the right leg, torso upright, back heel rising, back knee just above "
            "the floor at the bottom, then a push back to standing",
        ),
        "bicep_curl": _ExerciseModel(
            _pose_curl, Tempo(1.0, 0.3, 1.6, 0.4), False,
            {"elbow_bottom_deg": 165.0, "elbow_top_deg": 40.0, "upper_arm_max_deg": 8.0},
            "standing two-arm curl, palms forward, upper arms by the torso, no swing",
        ),
        "shoulder_press": _ExerciseModel(
            _pose_press, Tempo(1.0, 0.3, 1.4, 0.4), False,
            {"elbow_rack_deg": 80.0, "elbow_lockout_deg": 173.0, "shoulder_abduction_lockout_deg": 168.0},
            "standing press from hands at shoulder height (forearms vertical) to arms straight "
            "overhead, no back lean",
        ),
        "front_raise": _ExerciseModel(
            _pose_front_raise, Tempo(1.0, 0.3, 1.5, 0.4), False,
            {"shoulder_flexion_top_deg": 90.0, "elbow_bend_deg": 15.0, "trunk_lean_deg": 1.0},
            "standing dumbbell front raise, palms down, a soft bend in the elbows, arms from the thighs "
            "to shoulder height and back under control, torso still",
        ),
        "jumping_jack": _ExerciseModel(
            _pose_jack, Tempo(0.45, 0.08, 0.45, 0.15), False,
            {"shoulder_abduction_open_deg": 166.0, "ankle_spread_open_frac_height": 0.44},
            "arms from the sides to overhead while the feet jump from together to about 2.3× hip width",
        ),
        "deadlift": _ExerciseModel(
            _pose_deadlift, Tempo(1.2, 0.5, 1.5, 0.5), False,
            {"knee_start_deg": 128.0, "trunk_lean_start_deg": 66.0, "hip_lockout_deg": 178.0},
            "conventional deadlift from the bar at mid-shin (the rep's start) to lockout and back, flat "
            "back, bar close to the legs over the mid-foot; the rep peak is the lockout",
        ),
        "bench_press": _ExerciseModel(
            _pose_bench_press, Tempo(1.3, 0.2, 1.0, 0.4), True,
            {"elbow_lockout_deg": 174.0, "elbow_bottom_deg": 80.0, "bench_pad_m": _BENCH_PAD_Y * 1.75},
            "flat barbell bench press: feet flat, grip ~1.5x shoulder width, bar lowered under control to "
            "the lower chest with the forearms vertical and the elbows ~55° from the trunk, pressed to lockout",
        ),
        "pull_up": _ExerciseModel(
            _pose_pull_up, Tempo(1.1, 0.3, 1.5, 0.4), False,
            {"elbow_hang_deg": 170.0, "nose_over_wrists_frac_height": _PULL_NOSE_OVER_WRIST},
            "overhand pull-up from a dead hang to chin over the bar, slight lean back at the top, legs "
            "together with soft knees",
        ),
        "shrug": _ExerciseModel(
            _pose_shrug, Tempo(0.8, 0.5, 1.0, 0.4), False,
            {"shoulder_rise_frac_trunk": _SHRUG_RISE, "elbow_deg": 172.0},
            "standing dumbbell shrug: arms straight by the sides, shoulders lifted straight up towards "
            "the ears, held, and lowered under control; head and torso still",
        ),
    }
)
assert set(_EXERCISES) == set(EXERCISE_IDS), "every exercise needs a body model"


# --- timeline ---------------------------------------------------------------------------------

_LEAD_S = 0.5  # start pose held before the first rep and after the last
_TEMPO_SPREAD = 0.08  # ± share of each rep's duration
_REST_S_MIN = 0.05


def _timeline(tempo: Tempo, reps: int, fps: float, rng: np.random.Generator):
    """Phase p(t) (0 start pose .. 1 working extreme), the rep index active at each frame, the
    per-rep variations and the rep bounds (start, middle of the hold at the extreme, end)."""
    factors = 1.0 + rng.uniform(-_TEMPO_SPREAD, _TEMPO_SPREAD, size=reps)
    variations = [RepVariation(float(d), float(e)) for d, e in rng.uniform(-1.0, 1.0, size=(reps, 2))]
    segments: list[tuple[float, float, str, int]] = []
    bounds = []
    t = _LEAD_S
    for i, c in enumerate(factors):
        down, hold, up = tempo.to_peak_s * c, tempo.hold_s * c, tempo.back_s * c
        segments += [(t, t + down, "down", i), (t + down, t + down + hold, "hold", i),
                     (t + down + hold, t + down + hold + up, "up", i)]
        bounds.append((t, t + down + hold / 2, t + down + hold + up))
        t += down + hold + up
        if i < reps - 1:
            t += max(tempo.rest_s * c, _REST_S_MIN)
    total = t + _LEAD_S
    n = math.floor(total * fps) + 1
    times = np.arange(n) / fps
    phase = np.zeros(n)
    rep_of = np.zeros(n, dtype=int)
    for t0, t1, kind, i in segments:
        sel = (times >= t0) & (times < t1)
        u = (times[sel] - t0) / (t1 - t0)
        phase[sel] = {"down": min_jerk(u), "hold": np.ones_like(u), "up": 1.0 - min_jerk(u)}[kind]
        rep_of[sel] = i
    return times, phase, rep_of, variations, tuple(tuple(round(x, 4) for x in b) for b in bounds)


# --- camera -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraSetup:
    """A tripod camera: distance from the performer (m), lens height (m), frame (width, height) px,
    and the share of the frame height the whole performance fills."""

    distance_m: float
    height_m: float
    frame_size: tuple[int, int]
    fill: float = 0.65


#: Where the camera stands: "standard" (a tripod at a sensible height), "floor" (a phone propped
#: on the floor close in front, the usual way people film their own push-ups) or "oblique" (a
#: side view taken from the front quarter, half way between side and front, from about hip
#: height of a standing person: a side view "at an angle").
CAMERAS: tuple[str, ...] = ("standard", "floor", "oblique")
#: Degrees the "oblique" camera stands from the side view towards the front.
OBLIQUE_AZIMUTH_DEG = 45.0


def _camera_setup(exercise: str, view: str, camera: str = "standard") -> CameraSetup:
    if camera == "floor":
        return CameraSetup(1.6, 0.25, (1280, 720), 0.6)
    if camera == "oblique":
        return CameraSetup(3.0, 0.9, (1280, 720), 0.6)
    if exercise == "bench_press":  # a tripod beside the bench, or behind the feet looking over the knees
        return CameraSetup(2.6 if view == "front" else 3.0, 1.5 if view == "front" else 0.9, (1280, 720), 0.6)
    if _EXERCISES[exercise].floor:
        return CameraSetup(2.6 if view == "front" else 3.2, 0.55 if view == "front" else 0.45, (1280, 720), 0.6)
    if exercise == "pull_up":
        return CameraSetup(4.0, 1.5, (720, 1280))
    return CameraSetup(3.5, 1.0, (720, 1280))


@dataclass(frozen=True)
class _Projection:
    xyz: np.ndarray  # (T, 33, 3) pixels, z relative to the mid-hip
    eye: np.ndarray
    px_per_m: float  # at the mid-hip distance (median over the clip)


def _project(world: np.ndarray, view: str, cam: CameraSetup, azimuth_deg: float = 0.0) -> _Projection:
    """Film the world landmarks. azimuth_deg turns the camera about the vertical from where `view`
    puts it towards the other view (a side camera towards the front), at the same distance."""
    pts = world.reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    target = np.array([(lo[0] + hi[0]) / 2, cam.height_m, (lo[2] + hi[2]) / 2])
    if view == "side":  # camera on the performer's right (+z), looking at -z
        away = np.array([0.0, 0.0, cam.distance_m + hi[2] - target[2]])
    else:  # camera in front (+x), looking at -x
        away = np.array([cam.distance_m + hi[0] - target[0], 0.0, 0.0])
    if azimuth_deg:
        a = math.radians(azimuth_deg)
        dist = float(np.linalg.norm(away))
        toward = np.array([1.0, 0.0, 0.0]) if view == "side" else np.array([0.0, 0.0, 1.0])
        away = dist * (math.cos(a) * away / dist + math.sin(a) * toward)
    eye = target + away
    fwd = _unit(target - eye)
    right = _unit(np.cross(fwd, _Y))
    down = np.cross(fwd, right)
    rel = world - eye
    xc, yc, zc = rel @ right, rel @ down, rel @ fwd
    u, v = xc / zc, yc / zc
    w, hgt = cam.frame_size
    scale = min(cam.fill * hgt / (v.max() - v.min()), 0.85 * w / (u.max() - u.min()))
    ox = w / 2 - scale * (u.max() + u.min()) / 2
    oy = hgt / 2 - scale * (v.max() + v.min()) / 2
    z_hip = (zc[:, L.LEFT_HIP] + zc[:, L.RIGHT_HIP])[:, None] / 2
    out = np.stack([scale * u + ox, scale * v + oy, scale * (zc - z_hip) / z_hip], axis=-1)
    return _Projection(out, eye, float(scale / np.median(z_hip)))


# --- MediaPipe-like visibility and noise -----------------------------------------------------

_FACE_IDS = frozenset(int(i) for i in _FACE)
_EXTREMITY = frozenset(
    int(L[s + n]) for s in ("LEFT_", "RIGHT_") for n in ("WRIST", "PINKY", "INDEX", "THUMB", "HEEL", "FOOT_INDEX", "ANKLE")
)


def _side_of(lm: int) -> int:
    name = L(lm).name
    if name.startswith("LEFT_") or name == "MOUTH_LEFT":
        return _LEFT
    if name.startswith("RIGHT_") or name == "MOUTH_RIGHT":
        return _RIGHT
    return 0


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], rho: float = 0.6) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 0 (landmark estimates wobble over a few frames)."""
    e = rng.standard_normal(shape)
    out = np.empty(shape)
    out[0] = e[0]
    k = math.sqrt(1.0 - rho * rho)
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + k * e[t]
    return out


def _visibility(world: np.ndarray, eye: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Near-side limbs ~0.97, far-side limbs in a side view ~0.55-0.75, the far side of the face
    a little lower than the near side; points far behind the hips (seen past the body) lower."""
    t = world.shape[0]
    mid_hip = (world[:, L.LEFT_HIP] + world[:, L.RIGHT_HIP]) / 2
    right_axis = world[:, L.RIGHT_HIP] - world[:, L.LEFT_HIP]
    right_axis /= np.linalg.norm(right_axis, axis=-1, keepdims=True)
    to_cam = eye - mid_hip
    to_cam /= np.linalg.norm(to_cam, axis=-1, keepdims=True)
    facing_right = np.sum(right_axis * to_cam, axis=-1)  # +1: right side towards the camera
    vis = np.empty((t, N_LANDMARKS))
    depth = (world - mid_hip[:, None, :]) @ (-to_cam.mean(axis=0))
    body = float(np.linalg.norm(world[0, L.NOSE] - world[0, L.LEFT_ANKLE]))
    for lm in range(N_LANDMARKS):
        side = _side_of(lm)
        far = np.clip(-side * facing_right, 0.0, 1.0) if side else np.zeros(t)
        if lm in _FACE_IDS:
            base, drop = 0.995, 0.22
        elif lm in _EXTREMITY:
            base, drop = 0.95, 0.38
        else:
            base, drop = 0.985, 0.3
        behind = np.clip((depth[:, lm] - 0.35 * body) / (0.6 * body), 0.0, 1.0)
        vis[:, lm] = base - drop * far - 0.15 * behind
    vis += 0.012 * _smooth_noise(rng, vis.shape, rho=0.85)
    return np.clip(vis, 0.0, 0.999)


# --- generation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedPerformance:
    """A procedural performance.

    poses: MediaPipe-like landmarks (pixels; see coach.schema). world_xyz: (T, 33, 3) the same
    landmarks in metres before projection and jitter (x forward, y up, z performer's right).
    rep_bounds_s: per rep (start, working extreme, end) in seconds. joint_angle_targets: nominal
    angles the model was posed with (degrees, 180 = straight; not measured from the landmarks)."""

    exercise: str
    view: str
    facing: str
    poses: PoseSequence
    world_xyz: np.ndarray
    rep_bounds_s: tuple[tuple[float, float, float], ...]
    proportions: BodyProportions
    seed: int
    joint_angle_targets: Mapping[str, float] = field(default_factory=dict)
    notes: str = ""

    @property
    def reps(self) -> int:
        return len(self.rep_bounds_s)


def pose_at(exercise: str, phase: float, *, proportions: BodyProportions | None = None,
            variation: RepVariation = RepVariation()) -> np.ndarray:
    """(33, 3) world landmarks (metres) of one exercise at phase 0 (start pose) .. 1 (working extreme)."""
    _check_exercise(exercise)
    if not (0.0 <= phase <= 1.0):
        raise ValueError(f"expected a phase in [0, 1], got {phase!r}")
    return _EXERCISES[exercise].pose(proportions or BodyProportions(), float(phase), variation)


def _check_exercise(exercise: str) -> None:
    if exercise not in _EXERCISES:
        raise ValueError(f"expected one of {list(EXERCISE_IDS)}, got {exercise!r}")


def generate(
    exercise: str,
    view: str,
    *,
    reps: int = 3,
    fps: float = 30.0,
    seed: int = 0,
    proportions: BodyProportions | None = None,
    jitter_frac: float = 0.003,
    camera: str = "standard",
) -> GeneratedPerformance:
    """Film the model performer doing `reps` reps of `exercise` from `view` ("side" or "front"),
    with the camera placed as `camera` says (`CAMERAS`).

    fps: frames per second (5-240). seed: makes rep-to-rep variation (depth about ±3°, tempo ±8%),
    visibility wobble and jitter reproducible; the motion depends on seed only, not on the view, so
    one seed filmed from two views is one performance. jitter_frac: standard deviation of the 2-D
    landmark jitter as a share of the performer's height in pixels (0 = none; z gets 3×)."""
    _check_exercise(exercise)
    if view not in GENERATOR_VIEWS:
        raise ValueError(f"expected one of {list(GENERATOR_VIEWS)}, got {view!r}")
    if camera not in CAMERAS:
        raise ValueError(f"expected a camera in {list(CAMERAS)}, got {camera!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or not 1 <= reps <= 50:
        raise ValueError(f"expected reps between 1 and 50, got {reps!r}")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 5.0 <= fps <= 240.0):
        raise ValueError(f"expected fps between 5 and 240, got {fps!r}")
    if not (isinstance(jitter_frac, (int, float)) and 0.0 <= jitter_frac <= 0.05):
        raise ValueError(f"expected jitter_frac between 0 and 0.05, got {jitter_frac!r}")
    prop = proportions or BodyProportions()
    model = _EXERCISES[exercise]
    motion_rng, view_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if view == "front":  # independent noise per view, same motion
        view_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    times, phase, rep_of, variations, bounds = _timeline(model.tempo, int(reps), float(fps), motion_rng)
    cache: dict[tuple[float, int], np.ndarray] = {}
    world = np.empty((len(times), N_LANDMARKS, 3))
    for k, (pk, ri) in enumerate(zip(phase, rep_of, strict=True)):
        key = (round(float(pk), 9), int(ri) if pk > 0 else -1)
        if key not in cache:
            cache[key] = model.pose(prop, float(pk), variations[ri] if pk > 0 else RepVariation())
        world[k] = cache[key]
    cam = _camera_setup(exercise, view, camera)
    proj = _project(world, view, cam, OBLIQUE_AZIMUTH_DEG if camera == "oblique" else 0.0)
    xyz = proj.xyz.copy()
    if jitter_frac > 0:
        sigma = jitter_frac * prop.height_m * proj.px_per_m
        # far-side landmarks of a side view are guessed by the model: noisier
        gain = np.array([1.6 if view == "side" and _side_of(lm) == _LEFT else 1.0 for lm in range(N_LANDMARKS)])
        noise = _smooth_noise(view_rng, xyz.shape) * sigma
        noise[..., 2] *= 3.0
        xyz += noise * gain[None, :, None]
    vis = _visibility(world, proj.eye, view_rng)
    facing = "right" if view == "side" else "camera"
    poses = PoseSequence(
        xyz=xyz,
        visibility=vis,
        timestamps_s=times,
        fps=float(fps),
        frame_size=cam.frame_size,
        meta={
            "generator": GENERATOR,
            "model_version": MODEL_VERSION,
            "exercise": exercise,
            "view": view,
            "facing": facing,
            "seed": int(seed),
            "procedural": True,
            **({"camera": camera} if camera != "standard" else {}),
        },
    )
    return GeneratedPerformance(
        exercise=exercise,
        view=view,
        facing=facing,
        poses=poses,
        world_xyz=world,
        rep_bounds_s=bounds,
        proportions=prop,
        seed=int(seed),
        joint_angle_targets=MappingProxyType(dict(model.targets)),
        notes=model.notes if camera == "standard" else f"{model.notes}; {_CAMERA_NOTES[camera]}",
    )


# --- the built-in library ---------------------------------------------------------------------

#: (exercise, view) pairs shipped in references/.
BUILTIN_SET: tuple[tuple[str, str], ...] = (
    ("squat", "side"), ("squat", "front"),
    ("push_up", "side"), ("push_up", "front"),
    ("lunge", "side"), ("lunge", "front"),
    ("deadlift", "side"), ("deadlift", "front"),
    ("bicep_curl", "side"), ("bicep_curl", "front"),
    ("shoulder_press", "side"), ("shoulder_press", "front"),
    ("front_raise", "side"), ("front_raise", "front"),
    ("jumping_jack", "front"), ("jumping_jack", "side"),
    ("pull_up", "side"), ("pull_up", "front"),
    ("bench_press", "side"), ("bench_press", "front"),
    ("shrug", "front"), ("shrug", "side"),
)
#: Extra built-ins filmed from another camera place: (exercise, view, camera). The engine compares
#: a clip with the one of its view whose posture statistics are nearest (`analysis.choose_reference`).
BUILTIN_VARIANTS: tuple[tuple[str, str, str], ...] = (("push_up", "front", "floor"), ("push_up", "side", "oblique"))
_CAMERA_NOTES = {
    "floor": "filmed by a camera on the floor 1.6 m in front, lens 25 cm up",
    "oblique": f"filmed from the front quarter ({OBLIQUE_AZIMUTH_DEG:.0f}° from the side towards the head), "
               "3 m away, lens 90 cm up",
}
_BUILTIN_REPS = {"jumping_jack": 5}
_LABELS = {
    "squat": "Squat", "push_up": "Push-up", "lunge": "Lunge", "bicep_curl": "Bicep curl",
    "shoulder_press": "Shoulder press", "front_raise": "Front raise", "jumping_jack": "Jumping jack",
    "deadlift": "Deadlift",
    "pull_up": "Pull-up", "bench_press": "Bench press", "shrug": "Shrug",
}


def builtin_id(exercise: str, view: str, camera: str = "standard") -> str:
    suffix = "" if camera == "standard" else f"-{camera}"
    return f"model-{exercise.replace('_', '-')}-{view}{suffix}"


def builtin_entries() -> tuple[tuple[str, str, str], ...]:
    """Every built-in reference as (exercise, view, camera), in library order."""
    return tuple((e, v, "standard") for e, v in BUILTIN_SET) + BUILTIN_VARIANTS


def build_library(out_dir: str | Path, *, fps: float = 30.0, seed: int = 0) -> list:
    """Generate every built-in reference into out_dir (created if needed); returns their
    ReferenceMeta. Files are replaced atomically; unchanged keypoints keep their `created` date."""
    from coach.references import write_reference

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metas = []
    for exercise, view, camera in builtin_entries():
        perf = generate(exercise, view, reps=_BUILTIN_REPS.get(exercise, 3), fps=fps, seed=seed, camera=camera)
        h = perf.proportions.height_m
        where = {"standard": "", "floor": ", camera on the floor", "oblique": ", at an angle"}[camera]
        meta = write_reference(
            out,
            perf.poses,
            ref_id=builtin_id(exercise, view, camera),
            name=f"{_LABELS[exercise]} — {view} view{where} (model performer)",
            performer=f"Form Coach model performer (procedural, {h:.2f} m)",
            exercise=exercise,
            view=view,
            facing=perf.facing,
            reps=perf.reps,
            rep_bounds_s=perf.rep_bounds_s,
            source=f"procedural: {GENERATOR} model v{MODEL_VERSION}, seed {seed} (no recorded person)",
            licence="generated, CC0-1.0",
            procedural=True,
            proportions=perf.proportions.as_dict(),
            notes=perf.notes,
            overwrite=True,
        )
        metas.append(meta)
        log.info("wrote %s (%d frames)", meta.id, meta.n_frames)
    return metas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coach.bodymodel", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="regenerate the built-in reference library")
    b.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "references"),
                   help="output folder (default: the repository's references/)")
    b.add_argument("--fps", type=float, default=30.0)
    b.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    metas = build_library(args.out, fps=args.fps, seed=args.seed)
    for m in metas:
        print(f"{m.id:<28} {m.exercise:<15} {m.view:<6} reps {m.reps}  frames {m.n_frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
