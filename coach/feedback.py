"""Feedback a person can act on: at most five ranked cues, each tied to a body part, a rep and a
time, plus camera-setup warnings."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from coach.compare import ANGLE_PART, Comparison
from coach.exercises import ExerciseDef, RuleFinding
from coach.kinematics import joint_name as _joint
from coach.schema import MIRROR, Landmark

MAX_CUES = 5

# (exercise, joint, sign of user - reference) -> what to do. Sign +1: the user's angle is larger
# (joint straighter / torso more upright ... for trunk_lean: leaning more).
_ADVICE: dict[tuple[str, str, int], str] = {
    ("squat", "knee", +1): "squat deeper",
    ("squat", "knee", -1): "deeper than the reference: fine while your heels stay down and your back stays neutral",
    ("squat", "hip", +1): "sit back and down further",
    ("squat", "trunk_lean", +1): "keep your chest up",
    ("squat", "trunk_lean", -1): "let your torso hinge forward a little more",
    ("squat", "ankle", +1): "let your knees travel forward over your toes",
    ("lunge", "knee", +1): "drop lower into the lunge",
    ("lunge", "trunk_lean", +1): "keep your torso upright",
    ("push_up", "elbow", +1): "lower your chest further",
    ("push_up", "body_line", -1): "keep a straight line from shoulders to ankles",
    ("push_up", "shoulder", +1): "keep your elbows closer to your body",
    ("push_up", "neck", -1): "keep your head in line with your back, eyes on the floor just ahead of your hands",
    ("bicep_curl", "elbow", +1): "curl the weight higher",
    ("bicep_curl", "elbow", -1): "lower the weight all the way down",
    ("bicep_curl", "shoulder", +1): "keep your elbows pinned at your sides",
    ("bicep_curl", "trunk_lean", +1): "stop swinging your torso",
    ("shoulder_press", "elbow", -1): "press all the way to straight arms",
    ("shoulder_press", "shoulder", -1): "press the weight fully overhead",
    ("shoulder_press", "trunk_lean", +1): "don't lean back",
    ("front_raise", "shoulder", -1): "raise your arms to shoulder height",
    ("front_raise", "shoulder", +1): "stop at shoulder height",
    ("front_raise", "elbow", -1): "keep your arms nearly straight, only a soft bend at the elbows",
    ("front_raise", "elbow", +1): "keep a soft bend in your elbows instead of locking them",
    ("front_raise", "trunk_lean", +1): "stand still, don't swing the weight up",
    ("jumping_jack", "shoulder", -1): "raise your arms all the way overhead",
    ("jumping_jack", "hip", +1): "jump your feet wider",
    ("deadlift", "hip", -1): "finish the lift by driving your hips forward",
    ("deadlift", "knee", -1): "hinge at the hips instead of squatting the bar up",
    ("deadlift", "trunk_lean", +1): "stand fully upright at the top",
    ("pull_up", "elbow", +1): "pull higher, chin over the bar",
    ("pull_up", "elbow", -1): "lower to straight arms between reps",
    ("bench_press", "elbow", +1): "lower the bar all the way to your chest",
    ("bench_press", "elbow", -1): "press to straight arms at the top",
    ("bench_press", "shoulder", +1): "tuck your elbows a little closer to your body",
    ("bench_press", "shoulder", -1): "let your elbows come out a little further from your sides",
    ("squat", "ankle", -1): "sit your hips back so your weight stays over mid-foot",
    ("squat", "hip", -1): "keep your chest up; don't fold forward at the hips",
    ("push_up", "elbow", -1): "straighten your arms fully at the top of each rep",
    ("push_up", "shoulder", -1): "place your hands under your shoulders, not down by your ribs",
    ("lunge", "hip", +1): "sink your hips straight down",
    ("lunge", "hip", -1): "keep your torso tall; don't fold forward over the front leg",
    ("lunge", "knee", -1): "take a slightly longer step so the front knee stays over the ankle",
    ("bicep_curl", "shoulder", -1): "keep your upper arms still, elbows by your sides",
    ("shoulder_press", "elbow", +1): "lower the weight to shoulder height between reps",
    ("shoulder_press", "shoulder", +1): "lower the weight to shoulder height between reps",
    ("jumping_jack", "elbow", +1): "keep a relaxed, slight bend in your elbows",
    ("jumping_jack", "elbow", -1): "keep your arms long as they swing up",
    ("jumping_jack", "hip", -1): "land with your feet just outside shoulder width",
    ("jumping_jack", "shoulder", +1): "bring your arms all the way down to your sides between jacks",
    ("deadlift", "hip", +1): "stand tall at the top without leaning back",
    ("deadlift", "knee", +1): "start with a little more knee bend so your legs drive the bar off the floor",
    ("deadlift", "trunk_lean", -1): "hinge forward more at the start, shoulders over the bar",
    ("pull_up", "shoulder", +1): "pull your elbows down towards your ribs",
    ("pull_up", "shoulder", -1): "let your arms reach fully overhead at the bottom",
    ("shrug", "elbow", -1): "keep your arms straight and let the shoulders do the lifting",
    ("shrug", "elbow", +1): "keep your arms long but relaxed, elbows not locked hard",
    ("shrug", "shoulder", +1): "let your arms hang straight down by your sides",
    ("shrug", "shoulder", -1): "let the weights hang just outside your thighs, not pressed against them",
    ("shrug", "trunk_lean", +1): "stand tall and still; lift straight up without leaning or rolling",
}

# Advice that is about one end of the rep. Shown for a deviation at the other end it says the
# wrong thing ("reach fully overhead at the bottom" about the top of a pull-up), so there the cue
# asks to match the reference instead (`_advice`). At the working extreme (peak):
_PEAK_ADVICE: frozenset[tuple[str, str, int]] = frozenset({
    ("squat", "knee", +1), ("squat", "hip", +1), ("lunge", "knee", +1), ("push_up", "elbow", +1),
    ("bicep_curl", "elbow", +1), ("shoulder_press", "elbow", -1), ("shoulder_press", "shoulder", -1),
    ("front_raise", "shoulder", -1), ("front_raise", "shoulder", +1), ("jumping_jack", "shoulder", -1),
    ("deadlift", "hip", +1), ("deadlift", "hip", -1), ("deadlift", "trunk_lean", +1),
    ("pull_up", "elbow", +1), ("pull_up", "shoulder", +1), ("bench_press", "elbow", +1),
})
# ... and at the start and end of the rep (rest):
_REST_ADVICE: frozenset[tuple[str, str, int]] = frozenset({
    ("push_up", "elbow", -1), ("bicep_curl", "elbow", -1), ("shoulder_press", "elbow", +1),
    ("shoulder_press", "shoulder", +1), ("jumping_jack", "shoulder", +1), ("deadlift", "knee", +1),
    ("deadlift", "trunk_lean", -1), ("pull_up", "elbow", -1), ("pull_up", "shoulder", -1),
    ("bench_press", "elbow", -1),
})
#: Share of a rep's duration at each end that counts as its start or end position for `_advice`.
REST_SHARE = 0.15
MATCH_ADVICE = "match the reference's position at this point of the rep"


def _advice(exercise_id: str, joint: str, sign: int, *, at_peak: bool, at_rest: bool) -> str | None:
    """What to do about a deviation (`_ADVICE`), unless that advice is about the other end of the rep."""
    key = (exercise_id, joint, sign)
    if (key in _PEAK_ADVICE and at_rest) or (key in _REST_ADVICE and at_peak):
        return MATCH_ADVICE
    return _ADVICE.get(key)


@dataclass(frozen=True)
class Cue:
    """One ranked piece of feedback. severity: deviation over tolerance (1 = at tolerance)."""

    text: str
    body_part: str
    rep: int | None
    time_s: float | None
    severity: float
    source: str  # "reference" (compared with the performer) or "rule" (textbook form rule)


def _side_word(name: str, mirrored: bool) -> str:
    """Angle name -> the user's own side (undo the mirroring used for comparison)."""
    if mirrored:
        if name.startswith("left_"):
            name = "right_" + name[5:]
        elif name.startswith("right_"):
            name = "left_" + name[6:]
    return name.replace("_", " ")


def _part_word(part: str, mirrored: bool) -> str:
    return _side_word(part, mirrored)


def _describe(name: str, diff: float, mirrored: bool, *, line_to: str = "ankle") -> str:
    """name: an angle in the comparison's (possibly mirrored) sides; line_to: the landmark the body
    line ran to ("knee" with the feet out of view, `kinematics.JOINT_ANGLES`)."""
    joint = _joint(name)
    who = _side_word(name, mirrored)
    mag = abs(diff)
    if joint == "trunk_lean":
        return f"torso leans {mag:.0f}° {'more' if diff > 0 else 'less'} than the reference"
    if joint == "neck":
        return f"head {mag:.0f}° {'more in line with' if diff > 0 else 'further out of line with'} your back than the reference"
    if joint == "body_line":
        return f"{who.replace('body line', f'shoulder-hip-{line_to} line')} bent {mag:.0f}° {'less' if diff > 0 else 'more'} than the reference"
    return f"{who} bent {mag:.0f}° {'less' if diff > 0 else 'more'} than the reference"


#: Analysis frames (at CompareSettings.resample_fps, 15: 0.33 s) a deviation is judged over: a
#: landmark glitch of 2-3 video frames (0.1 s) does not outvote it.
CUE_WINDOW = 3


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Centred running median ignoring NaN (shrinking at the ends); NaN where the window has none."""
    h = width // 2
    padded = np.concatenate([np.full(h, np.nan), np.asarray(x, dtype=np.float64), np.full(h, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        return np.nanmedian(windows, axis=1)


def build_cues(
    comp: Comparison,
    exercise: ExerciseDef,
    rule_findings: list[tuple[int, float, RuleFinding]],
) -> list[Cue]:
    """Rank reference deviations (per rep, at the moment a joint deviates most) and textbook rule
    findings (rep, time, finding); keep the worst per body part, at most MAX_CUES."""
    cands: list[Cue] = []
    names = comp.angle_names
    for rs in comp.rep_scores:
        in_rep = (comp.times_s >= rs.start_s - 1e-6) & (comp.times_s <= rs.end_s + 1e-6)
        if not in_rep.any():
            continue
        idx = np.flatnonzero(in_rep)
        for k, name in enumerate(names):
            if name not in comp.judged_angles:
                continue
            # the worst moment of a deviation that lasts (median over ~0.33 s): a glitched
            # elbow for 0.1 s must not become "73 degrees off"
            zk = _running_median(comp.angle_z[idx, k], CUE_WINDOW)
            if not np.isfinite(zk).any():
                continue
            j = int(np.nanargmax(zk))
            i = idx[j]
            z = float(zk[j])
            if z < 1.0:
                continue
            # over the frames z was judged on (not those left out, e.g. a limb pointing at the camera)
            judged_diff = np.where(np.isfinite(comp.angle_z[idx, k]), comp.user_angles[idx, k] - comp.ref_angles[idx, k],
                                   np.nan)
            diffs = _running_median(judged_diff, CUE_WINDOW)
            diff = float(diffs[j])
            before = comp.times_s[i] < rs.peak_s
            phase = exercise.peak_name if abs(comp.times_s[i] - rs.peak_s) <= 0.25 * max(rs.end_s - rs.start_s, 0.1) else (
                "on the way down" if before == exercise.down_to_peak else "on the way up"
            )
            t = comp.times_s[i]
            at_peak = phase == exercise.peak_name
            # a one-rep clip can end at its peak (a deadlift set down after the video stops): the peak wins
            at_rest = not at_peak and min(t - rs.start_s, rs.end_s - t) <= REST_SHARE * (rs.end_s - rs.start_s)
            advice = _advice(exercise.id, _joint(name), int(np.sign(diff)), at_peak=at_peak, at_rest=at_rest)
            where = f"rep {rs.index}, {phase}" if rs.index else phase
            # the feet out of view for the clip: the body line ran to the knee (kinematics.JOINT_ANGLES)
            line_to = "knee" if f"{name.split('_', 1)[0]}_ankle" in comp.excluded else "ankle"
            text = f"{where} ({comp.times_s[i]:.1f} s): {_describe(name, diff, comp.mirrored, line_to=line_to)}"
            if advice:
                text += f" — {advice}"
            cands.append(Cue(text, _part_word(ANGLE_PART[name], comp.mirrored), rs.index or None,
                             round(float(comp.times_s[i]), 2), round(z, 2), "reference"))
    # a rule broken in several reps: its cue (the worst rep's) says in how many, so a fault of the
    # whole set does not read as one rep's slip
    reps_of: dict[str, set[int]] = {}
    for rep, _t, f in rule_findings:
        reps_of.setdefault(f.rule, set()).add(rep)
    n_reps = sum(1 for rs in comp.rep_scores if rs.index)
    for rep, t, f in rule_findings:
        part = f.body_part
        where = f"rep {rep}" if rep else "whole set"
        k = len(reps_of[f.rule])
        when = f"{t:.1f} s; {k} of {n_reps} reps" if rep and k > 1 else f"{t:.1f} s"
        cands.append(Cue(f"{where} ({when}): {f.cue}", part, rep or None, round(t, 2),
                         round(1.0 + f.severity, 2), "rule"))
    # the worst per body part (a person fixes one thing at a time), then by severity
    cands.sort(key=lambda c: -c.severity)
    seen: set[str] = set()
    out: list[Cue] = []
    for c in cands:
        key = c.body_part + ("/rule" if c.source == "rule" else "")
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
        if len(out) == MAX_CUES:
            break
    return out


def _other_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


#: Frames a second under which a clip is warned about: analysed at 15 fps, the shared clips
#: measured rep MAE 0.139 against 0.043 at 25-30 fps (docs/measurements.md).
LOW_FRAME_RATE = 20.0


def camera_warnings(
    *,
    person_frames: float,
    coverage: np.ndarray,
    key_landmarks: tuple[int, ...],
    out_of_frame: float,
    view: str,
    exercise: ExerciseDef,
    view_confidence: float,
    identity_jumps: int,
    long_gaps_s: float,
    excluded: tuple[str, ...],
    oblique: bool = False,
    others_seen: tuple[int, int] = (0, 0),
    frame_rate: float | None = None,
) -> list[str]:
    """Plain-language warnings about how the clip was filmed (oblique: a side view from an angle,
    `normalize.ViewEstimate`; others_seen: (checks that found another person, checks made),
    `pose.others_in_view`; frame_rate: frames a second the pose model saw, None = not known)."""
    w: list[str] = []
    if frame_rate is not None and 0 < frame_rate < LOW_FRAME_RATE:
        w.append(f"filmed at {frame_rate:.0f} frames a second: below {LOW_FRAME_RATE:.0f} the pose model loses fast "
                 "moves more often, so reps and scores are less reliable — record at 25–30 fps")
    if person_frames < 0.8:
        w.append(f"no person detected in {100 * (1 - person_frames):.0f}% of the frames — keep your whole body in view")
    if out_of_frame > 0.1:
        w.append(f"body partly out of frame in {100 * out_of_frame:.0f}% of the frames — step back or lower the camera")
    # in a side view the far side is hidden by nature: only a joint hidden on both sides matters
    hidden = [
        int(j) for j in key_landmarks
        if coverage[j] < 0.5 and (view == "front" or coverage[MIRROR[Landmark(j)]] < 0.5)
    ]
    if hidden:
        w.append(f"{len(hidden)} key joints were hidden most of the time; they are not scored")
    if view in ("side", "front") and view not in exercise.views:
        better = " or ".join(exercise.views)
        w.append(f"filmed from the {view}: {exercise.label.lower()} form is best judged from the {better}")
    if view_confidence < 0.3:
        w.append("camera angle is in between front and side — film square to the side or the front")
    profile_only = [r for r in exercise.rules if r.views == ("side",)]
    if oblique and view == "side" and profile_only:
        parts = ", ".join(dict.fromkeys(r.body_part for r in profile_only))
        w.append(f"filmed from the side at an angle: the checks that need a true side view ({parts}) were skipped "
                 "and bent joints are judged more loosely — film square to the side")
    hits, checks = others_seen
    # two looks at least: a single one also finds a half-masked limb of the person now and then
    if hits >= 2 and 2 * hits >= checks:
        w.append(f"another person is in view ({hits} of {checks} frames checked) — the skeleton, reps and score "
                 "may follow the wrong person; film one person at a time")
    elif identity_jumps > 0:
        w.append("the tracked body jumped between frames — several people in view? film one person at a time")
    if long_gaps_s > 1.0:
        w.append(f"joints were lost for {long_gaps_s:.1f} s in total (occlusion or motion blur)")
    names = {e.split(" ")[0] for e in excluded}
    unsteady = [e.split(" ")[0] for e in excluded if e.endswith("(unsteady tracking)")]
    unseen = [
        e for e in excluded
        if not e.endswith(("(far side)", "(unsteady tracking)")) and not (view == "side" and _other_side(e) not in names)
    ]
    if unseen:
        w.append("not judged (not visible enough): " + ", ".join(e.replace("_", " ") for e in unseen))
    if unsteady:
        w.append("not judged (the pose model lost track and its guesses jump from frame to frame): "
                 + ", ".join(e.replace("_", " ") for e in unsteady))
    return w
