"""Exercise knowledge: the main rep signal, key joints and form rules of each exercise.

A main signal is a 1-D function of the pose over time, in torso lengths, oriented so that the
rep's working extreme (bottom of a squat, top of a curl, lockout of a press) is a *peak*.
Signals use vertical distances or joint distances that change in any camera view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from coach.kinematics import joint_angles, joint_name, trunk_lean_deg
from coach.normalize import MID_HIP, MID_SHOULDER, midpoint
from coach.schema import L, Landmark
from coach.settings import RepSettings

VIEWS: tuple[str, ...] = ("side", "front")


def _nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both = np.stack([a, b])
    cnt = np.isfinite(both).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(cnt > 0, np.nansum(both, axis=0) / np.maximum(cnt, 1), np.nan)


def _nanmax2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, np.maximum(a, b)))


def _y(xy: np.ndarray, lm: Landmark) -> np.ndarray:
    return xy[:, lm, 1]


def _ankles_y(xy: np.ndarray) -> np.ndarray:
    return _nanmean2(_y(xy, L.LEFT_ANKLE), _y(xy, L.RIGHT_ANKLE))


def _wrists_y(xy: np.ndarray) -> np.ndarray:
    return _nanmean2(_y(xy, L.LEFT_WRIST), _y(xy, L.RIGHT_WRIST))


# Each signal takes (T, 33, 2) coordinates in torso lengths (image axes, y down, not centred).
def _hip_drop(xy: np.ndarray) -> np.ndarray:
    """Squat / lunge: the hips going down towards the feet (peak at the bottom)."""
    return -(_ankles_y(xy) - midpoint(xy, MID_HIP)[:, 1])


def _shoulders_to_hands_drop(xy: np.ndarray) -> np.ndarray:
    """Push-up: shoulders going down towards the hands on the floor (peak at the bottom)."""
    return -(_wrists_y(xy) - midpoint(xy, MID_SHOULDER)[:, 1])


def _curl(xy: np.ndarray) -> np.ndarray:
    """Curl: a hand coming up to its shoulder (peak at the top); the busier arm counts."""
    d_l = np.linalg.norm(xy[:, L.LEFT_WRIST] - xy[:, L.LEFT_SHOULDER], axis=-1)
    d_r = np.linalg.norm(xy[:, L.RIGHT_WRIST] - xy[:, L.RIGHT_SHOULDER], axis=-1)
    return _nanmax2(-d_l, -d_r)


def _hands_up(xy: np.ndarray) -> np.ndarray:
    """Press / jumping jack: hands rising above the shoulders (peak at lockout / overhead)."""
    return midpoint(xy, MID_SHOULDER)[:, 1] - _wrists_y(xy)


def _stand_up(xy: np.ndarray) -> np.ndarray:
    """Deadlift: shoulders rising away from the feet (peak at lockout)."""
    return _ankles_y(xy) - midpoint(xy, MID_SHOULDER)[:, 1]


def _pull_up(xy: np.ndarray) -> np.ndarray:
    """Pull-up: shoulders rising towards the hands on the bar (peak at the top)."""
    return -(midpoint(xy, MID_SHOULDER)[:, 1] - _wrists_y(xy))


def _bar_down(xy: np.ndarray) -> np.ndarray:
    """Bench press: hands coming down towards the shoulders of a lifter lying face up (peak with the
    bar on the chest)."""
    return _wrists_y(xy) - midpoint(xy, MID_SHOULDER)[:, 1]


def _ear_gap(xy: np.ndarray) -> np.ndarray:
    """Shoulders below the ears (torso lengths), mean of the seen sides; smaller when shrugged."""
    return _nanmean2(_y(xy, L.LEFT_SHOULDER), _y(xy, L.RIGHT_SHOULDER)) - _nanmean2(
        _y(xy, L.LEFT_EAR), _y(xy, L.RIGHT_EAR)
    )


def _shoulders_up(xy: np.ndarray) -> np.ndarray:
    """Shrug: the shoulders rising towards the ears (peak at the top). Against the ears, not the
    hips: the hips stay put, but a lifter who also rises on the toes or sways would move them."""
    return -_ear_gap(xy)


# --- form rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleFinding:
    """A form rule broken in one rep: which rule, which body part, by how much, and the cue."""

    rule: str
    body_part: str
    value: float
    limit: float
    unit: str
    cue: str
    severity: float  # how far past the limit, in units of the rule's scale (1 = clearly)


@dataclass(frozen=True)
class FormRule:
    """A check on one rep's pose at its working extreme ("peak") or over the whole rep ("range").

    measure(peak_xy (33, 2) torso lengths, rep_xy (T, 33, 2)) -> value or NaN; the rule fails when
    value is above `limit` (direction +1) or below it (direction -1); scale sets the severity.
    valid_below: a value at or over it no body makes in this exercise (a squatter's torso past
    horizontal): the landmarks are wrong there, so the rule does not judge the rep."""

    name: str
    body_part: str
    views: tuple[str, ...]
    measure: Callable[[np.ndarray, np.ndarray], float]
    limit: float
    direction: int
    scale: float
    unit: str
    cue: str  # formatted with value= and limit=
    valid_below: float = float("inf")

    def check(self, peak_xy: np.ndarray, rep_xy: np.ndarray, view: str) -> RuleFinding | None:
        """view: "side", "front", or "oblique" (a camera at an angle: only rules that hold in
        both views apply)."""
        if view not in self.views and not (view == "oblique" and {"side", "front"} <= set(self.views)):
            return None
        value = float(self.measure(peak_xy, rep_xy))
        if not np.isfinite(value) or value >= self.valid_below:
            return None
        excess = (value - self.limit) * self.direction
        if excess <= 0:
            return None
        return RuleFinding(
            rule=self.name,
            body_part=self.body_part,
            value=round(value, 1),
            limit=self.limit,
            unit=self.unit,
            cue=self.cue.format(value=value, limit=self.limit),
            severity=round(float(excess / self.scale), 2),
        )


def _angle(name: str, reducer: str = "min") -> Callable[[np.ndarray, np.ndarray], float]:
    """The best-seen side of a paired angle at the peak frame (min: most bent)."""

    def f(peak: np.ndarray, _rep: np.ndarray) -> float:
        a = joint_angles(peak)
        vals = [a.get(name, np.nan)] if name in a else [a.get(f"left_{name}"), a.get(f"right_{name}")]
        vals = [float(v) for v in vals if v is not None and np.isfinite(v)]
        if not vals:
            return float("nan")
        return min(vals) if reducer == "min" else max(vals)

    return f


def _rep_range(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def f(_peak: np.ndarray, rep: np.ndarray) -> float:
        a = joint_angles(rep)[name]
        a = a[np.isfinite(a)]
        return float(np.percentile(a, 95) - np.percentile(a, 5)) if a.size >= 3 else float("nan")

    return f


def _rep_high(name: str, q: float = 95.0) -> Callable[[np.ndarray, np.ndarray], float]:
    """The q-th percentile of an angle over the rep (its highest value, robust to a glitch)."""

    def f(_peak: np.ndarray, rep: np.ndarray) -> float:
        a = joint_angles(rep)[name]
        a = a[np.isfinite(a)]
        return float(np.percentile(a, q)) if a.size >= 3 else float("nan")

    return f


def _rep_low_pair(name: str, q: float = 10.0) -> Callable[[np.ndarray, np.ndarray], float]:
    """The q-th percentile over the rep of a paired angle, the more bent side: how far the joint
    bent during the rep, not only in the few frames at the peak (where a glitch of the hidden
    arm's landmarks can read a bent elbow as straight)."""

    def f(_peak: np.ndarray, rep: np.ndarray) -> float:
        a = joint_angles(rep)
        vals = []
        for side in ("left", "right"):
            v = np.asarray(a[f"{side}_{name}"])
            v = v[np.isfinite(v)]
            if v.size >= 3:
                vals.append(float(np.percentile(v, q)))
        return min(vals) if vals else float("nan")

    return f


def _knee_valgus(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Knee width over ankle width at the bottom (front view); < ~0.8 means knees caving in."""
    knees = abs(peak[L.LEFT_KNEE, 0] - peak[L.RIGHT_KNEE, 0])
    ankles = abs(peak[L.LEFT_ANKLE, 0] - peak[L.RIGHT_ANKLE, 0])
    return float(knees / ankles) if ankles > 0.1 else float("nan")


def _hip_sag(peak: np.ndarray, rep: np.ndarray) -> float:
    """Push-up: how far (torso lengths) the mid-hip hangs below the shoulder-ankle line, median
    over the rep (positive = sag, negative = pike); the shoulder-knee line in frames where the
    ankles are out of view (as the body line angle, `kinematics.JOINT_ANGLES`)."""
    sh = midpoint(rep, MID_SHOULDER)
    hp = midpoint(rep, MID_HIP)
    an = _nanmean_pts(rep[:, L.LEFT_ANKLE], rep[:, L.RIGHT_ANKLE])
    kn = _nanmean_pts(rep[:, L.LEFT_KNEE], rep[:, L.RIGHT_KNEE])
    an = np.where(np.isfinite(an[:, :1]), an, kn)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (hp[:, 0] - sh[:, 0]) / (an[:, 0] - sh[:, 0])
        line_y = sh[:, 1] + t * (an[:, 1] - sh[:, 1])
    d = hp[:, 1] - line_y
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def _legs_straight(_peak: np.ndarray, rep: np.ndarray) -> float:
    """Push-up: the straighter knee per frame (the far knee of a side view is a guess), median over
    the rep, degrees. ~175 with straight legs; a push-up from the knees reads ~90-140."""
    a = joint_angles(rep)
    k = _nanmax2(a["left_knee"], a["right_knee"])
    k = k[np.isfinite(k)]
    return float(np.median(k)) if k.size else float("nan")


def _nanmean_pts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([_nanmean2(a[:, 0], b[:, 0]), _nanmean2(a[:, 1], b[:, 1])], axis=-1)


def _elbow_drift(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Curl: upper-arm angle from the torso at the top (degrees); the elbow should stay by the side."""
    return _angle("shoulder", "max")(peak, _rep)


def _hands_over_head(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Hands above the nose at the peak, torso lengths (negative = below)."""
    return float(peak[L.NOSE, 1] - np.nanmean(peak[[L.LEFT_WRIST, L.RIGHT_WRIST], 1]))


def _wrists_below_shoulders(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Front raise: how far the hands stay below shoulder height at the top, torso lengths (0 =
    level, negative = above). Reads the same from the side and from the front, where the raised
    arm points at the camera and its angle cannot be seen."""
    return float(np.nanmean(peak[[L.LEFT_WRIST, L.RIGHT_WRIST], 1]) - np.nanmean(peak[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1]))


def _feet_width(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Ankle spread over hip width at the peak."""
    ankles = abs(peak[L.LEFT_ANKLE, 0] - peak[L.RIGHT_ANKLE, 0])
    hips = abs(peak[L.LEFT_HIP, 0] - peak[L.RIGHT_HIP, 0])
    return float(ankles / hips) if hips > 0.05 else float("nan")


def _knee_past_toes(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Lunge, side view: how far (torso lengths) the front knee is ahead of the front foot's toes
    at the bottom (positive = past them). Forward is where the toes point from the heels; the
    front leg is the one whose ankle is further forward. NaN when the feet do not show a direction."""
    pointing = [peak[toe, 0] - peak[heel, 0] for toe, heel in
                ((L.LEFT_FOOT_INDEX, L.LEFT_HEEL), (L.RIGHT_FOOT_INDEX, L.RIGHT_HEEL))]
    pointing = [d for d in pointing if np.isfinite(d)]
    if not pointing or abs(float(np.mean(pointing))) < 0.05:
        return float("nan")
    fwd = float(np.sign(np.mean(pointing)))
    legs = [(knee, toe, fwd * peak[ankle, 0]) for knee, ankle, toe in
            ((L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_FOOT_INDEX), (L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX))
            if np.isfinite(peak[ankle, 0])]
    if not legs:
        return float("nan")
    knee, toe, _ahead = max(legs, key=lambda leg: leg[2])
    return float(fwd * (peak[knee, 0] - peak[toe, 0]))


def _shrug_height(_peak: np.ndarray, rep: np.ndarray) -> float:
    """Shrug: how far the shoulders rise towards the ears during the rep, torso lengths (95th minus
    5th percentile of the ear gap, robust to a glitch)."""
    g = _ear_gap(rep)
    g = g[np.isfinite(g)]
    return float(np.percentile(g, 95) - np.percentile(g, 5)) if g.size >= 3 else float("nan")


def _chin_over_bar(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Pull-up: nose height above the hands at the top, torso lengths (negative = below the bar)."""
    return float(np.nanmean(peak[[L.LEFT_WRIST, L.RIGHT_WRIST], 1]) - peak[L.NOSE, 1])


def _straighter(joint: str, q: float) -> Callable[[np.ndarray, np.ndarray], float]:
    """The q-th percentile over the rep of the straighter side of a paired angle per frame
    (degrees): the best-seen side, so a hidden limb's guessed landmarks cannot decide it."""

    def f(_peak: np.ndarray, rep: np.ndarray) -> float:
        a = joint_angles(rep)
        both = np.fmax(a[f"left_{joint}"], a[f"right_{joint}"])
        both = both[np.isfinite(both)]
        return float(np.percentile(both, q)) if both.size >= 3 else float("nan")

    return f


#: The straightest elbow of the rep (95th percentile against outliers): a lockout.
_rep_max_elbow = _straighter("elbow", 95.0)
#: Elbows that stay straight all rep (10th percentile): low only when both arms bend.
_arms_straight = _straighter("elbow", 10.0)


def _forearm_tilt(peak: np.ndarray, _rep: np.ndarray) -> float:
    """Bench press: forearm angle from vertical at the bottom (degrees), the less tilted side; the
    wrists should stack over the elbows."""
    vals = []
    for el, wr in ((L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_WRIST)):
        d = peak[wr] - peak[el]
        if np.isfinite(d).all() and np.hypot(*d) > 0.05:
            vals.append(float(np.degrees(np.arctan2(abs(d[0]), abs(d[1])))))
    return min(vals) if vals else float("nan")


def _trunk(peak: np.ndarray, rep: np.ndarray) -> float:
    return float(joint_angles(peak)["trunk_lean"])


#: Degrees from vertical past which an upright exercise's torso lean is a tracking error: past
#: horizontal the shoulders would hang below the hips (seen: a squat "leaning 162°" where MediaPipe
#: put the skeleton upside down beside a lifter half out of frame).
TRUNK_PAST_HORIZONTAL = 100.0
#: ... as long as such frames are few: past this share of the frames with a torso, the clip is not
#: of an upright exercise at all (a push-up filmed from in front of the head: shoulders below the
#: hips throughout).
UPRIGHT_MAX_PAST_HORIZONTAL = 0.25


def past_horizontal(xy: np.ndarray) -> np.ndarray:
    """(T,) bool: frames of (T, 33, 2) coordinates whose torso leans `TRUNK_PAST_HORIZONTAL` or
    more from vertical (False where the torso is not seen)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(trunk_lean_deg(xy) >= TRUNK_PAST_HORIZONTAL)


def past_horizontal_share(xy: np.ndarray) -> float:
    """Share of the frames with a seen torso that are `past_horizontal` (0 when none is seen)."""
    lean = trunk_lean_deg(xy)
    seen = np.isfinite(lean)
    return float(np.mean(lean[seen] >= TRUNK_PAST_HORIZONTAL)) if seen.any() else 0.0


# --- definitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseDef:
    """id, label; signal(xy torso lengths) -> (T,) with the rep's working extreme as a peak;
    peak_name: what the peak is called in feedback; key_angles: angles compared and charted;
    key_landmarks: landmarks that carry the movement (weighted in DTW and cosine); views: camera
    views the rules are written for; rules: form checks; down_to_peak: the body (or the weight)
    goes down to the peak (a squat's bottom) rather than up (a curl's top), for "on the way
    down/up" in feedback; upright: the torso stays within 90° of vertical throughout (not so for
    a push-up or a bench press), so a skeleton with the shoulders below the hips is a tracking
    error; min_amplitude: the least rise of the signal that is a rep, torso lengths, when the
    exercise moves less than `RepSettings.min_amplitude` assumes (a shrug lifts the shoulders
    ~0.16 torso lengths)."""

    id: str
    label: str
    signal: Callable[[np.ndarray], np.ndarray]
    peak_name: str
    start_name: str
    key_angles: tuple[str, ...]
    key_landmarks: tuple[Landmark, ...]
    views: tuple[str, ...]
    rules: tuple[FormRule, ...]
    down_to_peak: bool = False
    upright: bool = True
    min_amplitude: float | None = None

    def rep_settings(self, base: RepSettings) -> RepSettings:
        """`base` with this exercise's `min_amplitude` when it moves less than base assumes."""
        if self.min_amplitude is None or self.min_amplitude >= base.min_amplitude:
            return base
        return dataclasses.replace(base, min_amplitude=self.min_amplitude)

    def weight(self, angle_name: str) -> float:
        """How much an angle counts in the score (joint name without side; default 1)."""
        return ANGLE_WEIGHTS.get(self.id, {}).get(joint_name(angle_name), 1.0)

    def beyond_ok(self, angle_name: str) -> str | None:
        """How a deviation of this angle can be no fault (`BEYOND_OK`): "range", "upright" or None."""
        return BEYOND_OK.get(self.id, {}).get(joint_name(angle_name))


# Which joints carry each exercise's form (coaching knowledge, not fitted to data): the body line
# is what makes a push-up a push-up; hand placement (shoulder angle) varies between good lifters.
ANGLE_WEIGHTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "squat": {"knee": 1.0, "hip": 1.0, "trunk_lean": 1.5, "ankle": 0.5},
        "push_up": {"body_line": 3.0, "elbow": 1.0, "shoulder": 0.5, "neck": 1.0},
        "lunge": {"knee": 1.5, "hip": 1.0, "trunk_lean": 1.0},
        "bicep_curl": {"elbow": 1.5, "shoulder": 1.5, "trunk_lean": 1.0},
        "shoulder_press": {"elbow": 1.5, "shoulder": 1.0, "trunk_lean": 1.0},
        "front_raise": {"shoulder": 1.5, "elbow": 1.0, "trunk_lean": 1.0},
        "jumping_jack": {"shoulder": 1.5, "hip": 1.5, "elbow": 0.5},
        "deadlift": {"hip": 1.5, "knee": 1.0, "trunk_lean": 1.5},
        "pull_up": {"elbow": 1.5, "shoulder": 1.0},
        "bench_press": {"elbow": 1.5, "shoulder": 1.0},
        "shrug": {"elbow": 1.0, "shoulder": 1.0, "trunk_lean": 1.0},
    }
)


# Deviations that are no fault (coaching knowledge, not fitted to data). "range": going past the
# reference towards the rep's working extreme while at that extreme (a deeper squat, the chest lower
# in a push-up, the chin higher and the elbows further down in a pull-up, arms fully overhead);
# "upright": a torso more upright than the reference's where upright is the ideal. Not listed: more
# range is a fault there (a front raise above shoulder height, a deadlift leaning back at lockout,
# a bench press bar).
BEYOND_OK: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "squat": {"knee": "range"},
        "push_up": {"elbow": "range"},
        "lunge": {"knee": "range", "trunk_lean": "upright"},
        "bicep_curl": {"elbow": "range", "trunk_lean": "upright"},
        "shoulder_press": {"elbow": "range", "shoulder": "range", "trunk_lean": "upright"},
        "front_raise": {"trunk_lean": "upright"},
        "jumping_jack": {"shoulder": "range"},
        "pull_up": {"elbow": "range", "shoulder": "range"},
        "shrug": {"trunk_lean": "upright"},
    }
)


_LEGS = (L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE)
_ARMS = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST)
_TRUNK = (L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP)

EXERCISES: Mapping[str, ExerciseDef] = MappingProxyType(
    {
        "squat": ExerciseDef(
            "squat", "Squat", _hip_drop, "bottom", "standing",
            ("left_knee", "right_knee", "left_hip", "right_hip", "trunk_lean", "left_ankle", "right_ankle"),
            (*_TRUNK, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE),
            ("side", "front"),
            (
                FormRule("squat_depth", "legs", ("side",), _angle("knee"), 105.0, +1, 15.0, "°",
                         "knees only bend to {value:.0f}° at the bottom — squat deeper (aim for about 90° or less)"),
                FormRule("squat_trunk_lean", "torso", ("side",), _trunk, 50.0, +1, 10.0, "°",
                         "torso leans {value:.0f}° forward at the bottom — keep your chest up",
                         valid_below=TRUNK_PAST_HORIZONTAL),
                FormRule("knee_valgus", "legs", ("front",), _knee_valgus, 0.8, -1, 0.15, "×",
                         "knees cave in (knee width {value:.2f}× ankle width) — push your knees out over your toes"),
            ),
            down_to_peak=True,
        ),
        "push_up": ExerciseDef(
            "push_up", "Push-up", _shoulders_to_hands_drop, "bottom", "top",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder", "left_body_line", "right_body_line",
             "left_neck", "right_neck"),
            (*_TRUNK, *_ARMS[2:], L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE),
            ("side", "front"),
            (
                FormRule("push_up_depth", "arms", ("side",), _rep_low_pair("elbow"), 110.0, +1, 15.0, "°",
                         "elbows only bend to {value:.0f}° — lower your chest until the elbows reach about 90°"),
                # upper arm against the torso at the bottom: ~90° at the top (arms vertical), near 0° at
                # a full bottom with the hands under the shoulders; past half way (45°) the chest stayed
                # high or the hands are too far forward. Both arms (the far one of a side view is a guess).
                # Past 135° the elbows would point ahead of the head with the hands on the floor: the
                # landmarks are wrong there (arms folded over the face by the tracker), not the push-up
                FormRule("push_up_arm_angle", "arms", ("side",), _angle("shoulder", "min"), 45.0, +1, 15.0, "°",
                         "upper arms still {value:.0f}° from your body at the bottom — hands under your shoulders, "
                         "lower your chest between them", valid_below=135.0),
                # ear-shoulder-hip, 180° with the head in line with the back: under 150° for most of the
                # rep (median; a glance down is no fault) the head hangs or cranes over 30° off the line
                FormRule("push_up_head", "head", ("side",), _straighter("neck", 50.0), 150.0, -1, 15.0, "°",
                         "head held at {value:.0f}° to your back through the rep (180° = in line) — keep it in "
                         "line, eyes on the floor just ahead of your hands"),
                FormRule("hip_sag", "hips", ("side",), _hip_sag, 0.15, +1, 0.1, " torso",
                         "hips sag below the shoulder-ankle line — brace your core and squeeze your glutes"),
                FormRule("hip_pike", "hips", ("side",), lambda p, r: -_hip_sag(p, r), 0.25, +1, 0.1, " torso",
                         "hips pike up — lower them into one straight line from shoulders to ankles"),
                # side view only: an oblique camera foreshortens straight legs to ~145°
                FormRule("knees_bent", "legs", ("side",), _legs_straight, 150.0, -1, 15.0, "°",
                         "knees bend to {value:.0f}° — straighten your legs so your body is one line from head to heels"),
            ),
            down_to_peak=True,
            upright=False,
        ),
        "lunge": ExerciseDef(
            "lunge", "Lunge", _hip_drop, "bottom", "standing",
            ("left_knee", "right_knee", "left_hip", "right_hip", "trunk_lean"),
            (*_TRUNK, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE),
            ("side", "front"),
            (
                FormRule("lunge_depth", "legs", ("side",), _angle("knee"), 110.0, +1, 15.0, "°",
                         "front knee only bends to {value:.0f}° — step longer and drop the back knee towards the floor"),
                FormRule("lunge_trunk_lean", "torso", ("side", "front"), _trunk, 25.0, +1, 10.0, "°",
                         "torso leans {value:.0f}° — keep it upright over the hips",
                         valid_below=TRUNK_PAST_HORIZONTAL),
                # side only: from the front, knee and toes lie on one line of sight
                FormRule("lunge_knee_over_toe", "legs", ("side",), _knee_past_toes, 0.0, +1, 0.1, " torso",
                         "front knee travels {value:.2f} torso lengths past your toes — take a longer step so the knee stays over the ankle"),
            ),
            down_to_peak=True,
        ),
        "bicep_curl": ExerciseDef(
            "bicep_curl", "Bicep curl", _curl, "top", "arms down",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder", "trunk_lean"),
            (*_ARMS, L.LEFT_HIP, L.RIGHT_HIP, L.NOSE),
            ("side", "front"),
            (
                FormRule("curl_range", "arms", ("side", "front"), _angle("elbow"), 70.0, +1, 15.0, "°",
                         "elbows only close to {value:.0f}° at the top — curl all the way up"),
                FormRule("curl_elbow_drift", "arms", ("side",), _elbow_drift, 30.0, +1, 10.0, "°",
                         "upper arm swings {value:.0f}° forward — pin your elbows to your sides"),
                FormRule("curl_swing", "torso", ("side",), _rep_range("trunk_lean"), 10.0, +1, 5.0, "°",
                         "torso swings {value:.0f}° during the rep — stand still and let the arms work"),
            ),
        ),
        "shoulder_press": ExerciseDef(
            "shoulder_press", "Shoulder press", _hands_up, "lockout", "rack",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder", "trunk_lean"),
            (*_ARMS, L.LEFT_HIP, L.RIGHT_HIP, L.NOSE),
            ("front", "side"),
            (
                # over the whole rep, as the bench press: at the peak frame alone a lifter who
                # locked out and then softened the elbows while holding the weight overhead failed
                FormRule("press_lockout", "arms", ("front", "side"), _rep_max_elbow, 155.0, -1, 15.0, "°",
                         "elbows only straighten to {value:.0f}° — press all the way to lockout overhead"),
                # over the whole rep: lifters lean back most while the bar passes the face, not at lockout
                FormRule("press_back_lean", "torso", ("side",), _rep_high("trunk_lean"), 15.0, +1, 8.0, "°",
                         "leaning back {value:.0f}° — squeeze glutes and keep ribs down"),
            ),
        ),
        "front_raise": ExerciseDef(
            "front_raise", "Front raise", _hands_up, "top", "arms down",
            ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "trunk_lean"),
            (*_ARMS, L.LEFT_HIP, L.RIGHT_HIP, L.NOSE),
            ("side", "front"),
            (
                # shoulder height: the wrists within ~0.25 torso of the shoulders (upper arm ~75 deg up)
                FormRule("raise_height", "arms", ("side", "front"), _wrists_below_shoulders, 0.25, +1, 0.15,
                         " torso", "hands stop {value:.2f} torso lengths below your shoulders — raise them to shoulder height"),
                FormRule("raise_swing", "torso", ("side",), _rep_range("trunk_lean"), 10.0, +1, 5.0, "°",
                         "torso swings {value:.0f}° during the rep — stand still and lift with the shoulders"),
                # side only: from the front the forward arm is foreshortened and its elbow reads ~90 deg
                FormRule("raise_elbows", "arms", ("side",), _angle("elbow"), 140.0, -1, 15.0, "°",
                         "elbows bend to {value:.0f}° — keep only a soft bend, the arms nearly straight"),
            ),
        ),
        "jumping_jack": ExerciseDef(
            "jumping_jack", "Jumping jack", _hands_up, "arms overhead", "arms down",
            ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow", "right_elbow"),
            (*_ARMS, *_LEGS),
            ("front",),
            (
                FormRule("jack_arms", "arms", ("front",), _hands_over_head, 0.0, -1, 0.2, " torso",
                         "hands stay below head height — bring them all the way overhead"),
                FormRule("jack_feet", "legs", ("front",), _feet_width, 1.6, -1, 0.4, "×",
                         "feet only open to {value:.1f}× hip width — jump them wider"),
            ),
        ),
        "deadlift": ExerciseDef(
            "deadlift", "Deadlift", _stand_up, "lockout", "bar on the floor",
            ("left_hip", "right_hip", "left_knee", "right_knee", "trunk_lean"),
            (*_TRUNK, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_WRIST, L.RIGHT_WRIST),
            ("side",),
            (
                FormRule("deadlift_lockout", "hips", ("side",), _angle("hip", "max"), 160.0, -1, 10.0, "°",
                         "hips only open to {value:.0f}° at the top — stand tall and squeeze your glutes at lockout"),
                FormRule("deadlift_lean_back", "torso", ("side",), _trunk, 20.0, +1, 8.0, "°",
                         "torso is {value:.0f}° off vertical at lockout — finish upright without leaning back",
                         valid_below=TRUNK_PAST_HORIZONTAL),
            ),
        ),
        "pull_up": ExerciseDef(
            "pull_up", "Pull-up", _pull_up, "top", "dead hang",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder"),
            (*_ARMS, L.NOSE, L.LEFT_HIP, L.RIGHT_HIP),
            ("front", "side"),
            (
                FormRule("pull_up_height", "arms", ("front", "side"), _chin_over_bar, 0.0, -1, 0.15, " torso",
                         "chin stays below the bar — pull until your chin clears your hands"),
            ),
        ),
        "bench_press": ExerciseDef(
            "bench_press", "Bench press", _bar_down, "bottom", "lockout",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder"),
            (*_ARMS, L.NOSE, L.LEFT_HIP, L.RIGHT_HIP),
            ("side", "front"),
            (
                FormRule("bench_depth", "arms", ("side",), _angle("elbow"), 105.0, +1, 15.0, "°",
                         "elbows only bend to {value:.0f}° — lower the bar until it touches your chest"),
                FormRule("bench_lockout", "arms", ("side", "front"), _rep_max_elbow, 155.0, -1, 10.0, "°",
                         "elbows only straighten to {value:.0f}° — press all the way to lockout"),
                FormRule("bench_forearms", "arms", ("side",), _forearm_tilt, 25.0, +1, 10.0, "°",
                         "forearms tilt {value:.0f}° at the bottom — keep your wrists stacked over your elbows"),
            ),
            down_to_peak=True,
            upright=False,
        ),
        "shrug": ExerciseDef(
            "shrug", "Shrug", _shoulders_up, "top", "shoulders down",
            ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder", "trunk_lean"),
            (*_ARMS, L.LEFT_EAR, L.RIGHT_EAR, L.NOSE, L.LEFT_HIP, L.RIGHT_HIP),
            ("front", "side"),
            (
                # a full shrug lifts the shoulders ~8 cm, ~0.16 of a 50 cm torso; half of it is a
                # shrug that stopped early (anatomy, not fitted to any clip)
                FormRule("shrug_height", "shoulders", ("front", "side"), _shrug_height, 0.08, -1, 0.04, " torso",
                         "shoulders only rise {value:.2f} torso lengths — lift them straight up towards your ears"),
                # ~30 degrees of bend turns a shrug into an upright row or a curl. From the front an
                # elbow bending forward is foreshortened and reads straighter: missed, not a false alarm
                FormRule("shrug_arms_bent", "arms", ("front", "side"), _arms_straight, 150.0, -1, 15.0, "°",
                         "elbows bend to {value:.0f}° — keep your arms straight and let the shoulders lift"),
            ),
            # a quarter of a full shrug (~2 cm): a shrug that stopped early is still a rep, one
            # that the height rule can then judge, not "no movement"
            min_amplitude=0.04,
        ),
    }
)

EXERCISE_IDS: tuple[str, ...] = tuple(EXERCISES)


def get_exercise(exercise_id: str) -> ExerciseDef:
    if exercise_id not in EXERCISES:
        raise ValueError(f"expected an exercise in {list(EXERCISES)}, got {exercise_id!r}")
    return EXERCISES[exercise_id]
