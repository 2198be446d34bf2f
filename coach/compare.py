"""Compare a user's performance with a reference performance.

Both sequences are put in the body frame (centred on the mid-hip, in torso lengths), the user is
mirrored when facing the other way, and both are resampled to `CompareSettings.resample_fps`.

- Alignment: dependent multivariate DTW (dtaidistance `dtw_ndim`, one path for all features so
  every joint shares the same timing) between each user rep and the reference's template rep,
  with a Sakoe-Chiba window. Outside reps the user is matched to the reference's start pose.
  A rep the clip starts or ends inside is matched to the part of the template it shows
  (`align_rep`: open start / end, the best part by mean cost per path step).
- Per-keypoint DTW (SEEDS §3-4): independent DTW per landmark on its 2-D trajectory over the
  whole clip, reported as mean distance per path step (torso lengths). Independent on purpose:
  it says how far each keypoint's own motion is from the reference, whatever the others do.
- Cosine similarity per aligned frame pair over the exercise's key landmarks, weighted by the
  smaller of the two visibilities (SEEDS §4, with confidence as its author suggested).
- Deviation z = |user angle - reference angle| / tolerance, per key angle and aligned frame (0
  when a body line or neck is straighter than the reference's: straight is their ideal; 0 also
  for more range than the reference at the working extreme, such as a deeper squat, and for a
  more upright torso where upright is the ideal: `exercises.BEYOND_OK`, `forgive_beyond`).
  Tolerance per angle = sqrt(spread^2 + floor^2 + (k * ROM)^2): spread = the reference's own
  rep-to-rep spread (std of aligned differences between its reps), floor =
  CompareSettings.min_tolerance_deg (pose-model noise and anatomy; straight_tolerance_deg for an
  angle straight in any good performer, the body line), ROM = the reference's range of
  that angle (a joint sweeping 100 degrees shows large errors from small timing differences).
  Filmed from the side at an angle (`oblique`), each angle adds the RMS error a camera 25-65
  degrees off the side view makes of a joint bent as the reference's is (`projection_tolerance_deg`):
  0 for a straight line, up to ~19 degrees for a right angle.
- Rep score = 100 * exp(-E / (2 * softness)), E = (1 - p) * weighted mean over judged key angles
  of (the rep's mean z)^2 + p * the same for key-landmark positions (p = position_weight; angle
  weights say which joints carry the exercise's form, e.g. the body line of a push-up).
  With softness 2: E = 1 (deviation at tolerance) gives 78; E = 4 (twice the tolerance) gives 37.
- Textbook form rules (`exercises.FormRule`, e.g. hips sagging, knees bent in a push-up) judge a
  rep without the reference; each one broken adds (1 + min(severity, 1))^2 to that rep's E
  (`apply_rule_faults`), so a fault the cues name also lowers the score and the verdict. A rep
  done at over twice the reference's pace (`rushed_reps`, rep times measured alike by `rep_tempo`)
  counts as such a fault.
- Overall score = mean of the full reps' scores (whole-clip comparison when no rep was found).
  Verdict: pass when score >= pass_threshold.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from dtaidistance import dtw, dtw_ndim

from coach.exercises import (
    UPRIGHT_MAX_PAST_HORIZONTAL,
    ExerciseDef,
    RuleFinding,
    past_horizontal,
    past_horizontal_share,
)
from coach.kinematics import ANGLE_VERTEX, angle_matrix, foreshortened
from coach.normalize import body_frame, mirror, robust_scale_px
from coach.pose import PoseSequence
from coach.schema import LANDMARK_NAMES, N_LANDMARKS, PART_OF
from coach.settings import CompareSettings

if TYPE_CHECKING:
    from coach.reps import Rep

ANGLE_SCALE_DEG = 45.0  # one torso length of position ~ 45 degrees of angle in the DTW features


@dataclass(frozen=True)
class DtwResult:
    """distance: DTW distance (sqrt of summed squared differences along the path);
    path: (P, 2) int pairs (i in the first sequence, j in the second)."""

    distance: float
    path: np.ndarray


def _as_c(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _window(n: int, m: int, frac: float) -> int:
    # a band narrower than the length difference has no path at all (dtaidistance returns inf)
    return max(math.ceil(frac * max(n, m)), abs(n - m) + 2)


def dtw_align(a: np.ndarray, b: np.ndarray, *, window_frac: float = 0.25) -> DtwResult:
    """Dependent multivariate DTW of (n, d) and (m, d) feature arrays without NaN."""
    a2, b2 = _as_c(a.reshape(len(a), -1)), _as_c(b.reshape(len(b), -1))
    if not (np.isfinite(a2).all() and np.isfinite(b2).all()):
        raise ValueError("dtw_align: expected finite features, got NaN/inf (fill gaps first)")
    if len(a2) == 0 or len(b2) == 0:
        raise ValueError(f"dtw_align: expected non-empty sequences, got {len(a2)} and {len(b2)} frames")
    w = _window(len(a2), len(b2), window_frac)
    d, paths = dtw_ndim.warping_paths_fast(a2, b2, window=w, use_pruning=False)
    path = np.asarray(dtw.best_path(paths), dtype=np.intp)
    return DtwResult(float(d), path)


#: A rep starting or ending this close (seconds) to the clip's first or last frame may be cut by it.
EDGE_REP_S = 0.2
#: Candidate template parts `align_rep` tries at most (about; the grid is regular).
MAX_PARTS = 48


def align_rep(
    user: np.ndarray, template: np.ndarray, peak: int, *, open_start: bool, open_end: bool,
    window_frac: float = 0.5,
) -> tuple[DtwResult, int]:
    """DTW of one user rep (n, d) to a reference rep (m, d) whose working extreme is at `peak`.
    open_start / open_end: the user's rep may begin / end anywhere in the template's half before
    / after its peak (a clip that starts at the bottom of a push-up shows only its way up; closed
    ends would match that bottom to the template's top). The template part with the lowest mean
    squared cost per path step wins. Returns the alignment with the part and the part's first
    template index."""
    m = len(template)
    peak = int(np.clip(peak, 0, m - 1))
    # at most ~MAX_PARTS candidate parts (each a DTW): a 10 s template cut at both ends would
    # otherwise take 0.6 s
    n_starts = peak + 1 if open_start else 1
    n_ends = m - peak if open_end else 1
    step = max(1, math.ceil(math.sqrt(n_starts * n_ends / MAX_PARTS)))
    starts = range(0, peak + 1, step) if open_start else (0,)
    ends = range(m, peak, -step) if open_end else (m,)
    best: tuple[float, DtwResult, int] | None = None
    for a in starts:
        for b in ends:
            if b - a < 2:
                continue
            res = dtw_align(user, template[a:b], window_frac=window_frac)
            cost = res.distance**2 / len(res.path)
            if best is None or cost < best[0]:
                best = (cost, res, a)
    if best is None:  # a template of one or two frames: nothing to choose
        return dtw_align(user, template, window_frac=window_frac), 0
    return best[1], best[2]


def per_keypoint_dtw(
    user: np.ndarray, ref: np.ndarray, *, window_frac: float = 0.25, min_valid: float = 0.5
) -> dict[str, float | None]:
    """Independent DTW per landmark on (T, 33, 2) body-frame trajectories; mean distance per path
    step in torso lengths. None where the landmark is seen in less than min_valid of either."""
    w = _window(len(user), len(ref), window_frac)
    share_u, share_r = _valid_shares(user), _valid_shares(ref)
    # gaps filled once for all landmarks, landmark-major so each series is one contiguous block
    uf = np.ascontiguousarray(_fill_columns(user).transpose(1, 0, 2))
    rf = np.ascontiguousarray(_fill_columns(ref).transpose(1, 0, 2))
    out: dict[str, float | None] = {}
    for j, name in enumerate(LANDMARK_NAMES):
        if min(share_u[j], share_r[j]) < min_valid or min(share_u[j], share_r[j]) == 0:
            out[name] = None
            continue
        d = dtw_ndim.distance_fast(uf[j], rf[j], window=w, use_pruning=False)
        # sqrt(sum sq) over the path -> RMS per step, comparable across clip lengths
        out[name] = round(float(d) / math.sqrt(max(len(user), len(ref))), 4)
    return out


def _valid_shares(x: np.ndarray) -> np.ndarray:
    """(J,) share of frames where each landmark of (T, J, 2) is seen."""
    return np.isfinite(x).all(axis=-1).mean(axis=0) if len(x) else np.zeros(x.shape[1])


def _fill_columns(x: np.ndarray) -> np.ndarray:
    """Interpolate NaN along time per column (edges held), only in the columns with gaps; a
    column never seen stays NaN."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(len(x), -1)
    ok = np.isfinite(flat)
    t = np.arange(len(x))
    for c in np.flatnonzero(ok.any(axis=0) & ~ok.all(axis=0)):  # only the columns with gaps
        flat[:, c] = np.interp(t, t[ok[:, c]], flat[ok[:, c], c])
    return flat.reshape(x.shape)


def _fill(x: np.ndarray) -> np.ndarray | None:
    """Interpolate NaN along time per column (edges held); None if a column is never seen."""
    filled = _fill_columns(x)
    return filled if np.isfinite(filled).all() else None


def resample_indices(timestamps_s: np.ndarray, fps: float) -> np.ndarray:
    """Indices of the frames nearest to a regular clock at fps (no frame picked twice in a row
    unless the source is slower than fps)."""
    if len(timestamps_s) == 0:
        return np.zeros(0, dtype=np.intp)
    grid = np.arange(timestamps_s[0], timestamps_s[-1] + 1e-9, 1.0 / fps)
    idx = np.searchsorted(timestamps_s, grid).clip(0, len(timestamps_s) - 1)
    prev = (idx - 1).clip(0)
    closer_prev = np.abs(timestamps_s[prev] - grid) < np.abs(timestamps_s[idx] - grid)
    return np.where(closer_prev, prev, idx)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tempo:
    """Seconds of each phase of a rep: start->peak ("descent" for a squat), peak->end, and the
    pause at the peak (time within 5 % of the peak amplitude). NaN: a phase the clip cut off."""

    to_peak_s: float
    from_peak_s: float
    pause_s: float


@dataclass(frozen=True)
class RepScore:
    index: int
    score: float
    start_s: float
    peak_s: float
    end_s: float
    similarity: float  # mean cosine similarity over the rep, 0-1
    tempo: Tempo
    ref_tempo: Tempo
    worst_part: str | None
    worst_z: float
    rule_faults: tuple[str, ...] = ()  # textbook rules broken in this rep (`apply_rule_faults`)
    reference_score: float | None = None  # the score before those faults lowered it (None: none)


@dataclass(frozen=True)
class PartDeviation:
    """mean_z / max_z: deviation over tolerance (1 = at tolerance); when: time (s) and rep of max."""

    part: str
    mean_z: float
    max_z: float
    time_of_max_s: float
    rep_of_max: int | None
    joints: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """Everything the feedback, charts and renderer need. Arrays are over the user's analysis
    frames (resampled to CompareSettings.resample_fps): index i <-> times_s[i]."""

    times_s: np.ndarray
    user_frames: np.ndarray  # original user frame index per analysis frame
    ref_frames: np.ndarray  # aligned reference frame index (original), per analysis frame
    mirrored: bool
    angle_names: tuple[str, ...]
    user_angles: np.ndarray  # (Tu, A) degrees
    ref_angles: np.ndarray  # (Tu, A) degrees, time-aligned
    tolerance_deg: np.ndarray  # (A,)
    angle_z: np.ndarray  # (Tu, A), NaN where not judged
    landmark_dev: np.ndarray  # (Tu, 33) torso lengths, NaN where not judged
    similarity: np.ndarray  # (Tu,) cosine, NaN where no pose
    per_keypoint_dtw: dict[str, float | None]
    rep_scores: tuple[RepScore, ...]
    parts: Mapping[str, PartDeviation]
    part_z: Mapping[str, np.ndarray]  # part -> (Tu,) max z of its joints
    score: float
    verdict: str
    confidence: float
    judged_angles: tuple[str, ...]
    excluded: tuple[str, ...]  # angles/landmarks not judged because they were not visible
    notes: tuple[str, ...] = field(default=())


ANGLE_PART: Mapping[str, str] = {
    name: ("torso" if name == "trunk_lean" else "hips" if "body_line" in name else PART_OF[v])
    for name, v in ANGLE_VERTEX.items()
}
# joints at the shoulder and hip describe the arm/leg, not the head/torso
ANGLE_PART = {
    **ANGLE_PART,
    "left_shoulder": "left_arm", "right_shoulder": "right_arm",
    "left_hip": "hips", "right_hip": "hips", "left_ankle": "left_leg", "right_ankle": "right_leg",
    "left_neck": "head", "right_neck": "head",
}


def apply_rule_faults(
    comp: Comparison, faults: Mapping[int, Sequence[tuple[str, float]]], s: CompareSettings
) -> Comparison:
    """Lower rep scores for textbook rules broken in the rep: faults maps rep index -> (rule name,
    severity) pairs. Each adds (1 + min(severity, 1))^2 to the rep's E: a fault just past its limit
    weighs like a deviation at tolerance on every key angle (x0.78), one a full rule scale or more
    past it like twice the tolerance (x0.37). The overall score is recomputed as the mean of the
    rep scores."""
    if not any(faults.get(rs.index) for rs in comp.rep_scores):
        return comp
    reps = []
    for rs in comp.rep_scores:
        fs = faults.get(rs.index, ())
        if not fs or not math.isfinite(rs.score):
            reps.append(rs)
            continue
        # capped at a full scale past the limit: a rule judges a few frames, so one fault costs a
        # rep at most what deviating by twice the tolerance on every key angle would
        extra = sum((1.0 + min(max(float(sev), 0.0), 1.0)) ** 2 for _name, sev in fs)
        reps.append(dataclasses.replace(
            rs, score=round(rs.score * math.exp(-extra / (2.0 * s.score_softness)), 1),
            rule_faults=tuple(dict.fromkeys(name for name, _sev in fs)), reference_score=rs.score,
        ))
    scores = [r.score for r in reps if math.isfinite(r.score)]
    return dataclasses.replace(
        comp, rep_scores=tuple(reps), score=round(float(np.mean(scores)), 1) if scores else float("nan")
    )


#: A rep done in under this share of the reference's rep time (to the peak and back, the pause at
#: the peak included; `rep_tempo`) is rushed: at twice the reference's pace a person bounces through
#: the rep instead of controlling it. A share, not seconds, so it holds for any exercise and for a
#: user's own reference.
RUSHED_SHARE = 0.5


def rushed_finding(user: Tempo, ref: Tempo, exercise: ExerciseDef, *, estimated: bool = False) -> RuleFinding | None:
    """The "rushed rep" finding for a rep of tempo `user` against the reference's `ref` (both
    measured by `rep_tempo`), or None: the rep took at least `RUSHED_SHARE` of the reference's rep
    time, or a phase's duration is unknown (a phase mostly unseen, a cut rep `rushed_reps` could not
    complete). Severity 1 at half the limit (four times the reference's pace). estimated: a phase
    of `user` was timed from the person's other reps (the cue says so)."""
    user_s = user.to_peak_s + user.from_peak_s
    ref_s = ref.to_peak_s + ref.from_peak_s
    if not (math.isfinite(user_s) and math.isfinite(ref_s)) or ref_s <= 0:
        return None
    limit = RUSHED_SHARE * ref_s
    if user_s >= limit:
        return None
    way = "down" if exercise.down_to_peak else "up"
    took = (f"rep took about {user_s:.1f} s (the part the clip cut timed as in your full reps)" if estimated
            else f"rep took {user_s:.1f} s")
    cue = (f"{took}, under half the reference's {ref_s:.1f} s — slow down: take about "
           f"{ref.to_peak_s:.1f} s {way} to the {exercise.peak_name} and {ref.from_peak_s:.1f} s back, like the reference")
    return RuleFinding(rule="rushed_rep", body_part="tempo", value=round(user_s, 2), limit=round(limit, 2), unit=" s",
                       cue=cue, severity=round((limit - user_s) / (0.5 * limit), 2))


def rushed_reps(comp: Comparison, exercise: ExerciseDef) -> list[tuple[int, float, RuleFinding]]:
    """(rep index, peak time s, finding) for each rep of the comparison that `rushed_finding` calls
    rushed; a whole-clip comparison (no rep found: index 0) is not judged. A rep the clip cuts
    (one phase NaN) is judged when its other phase was seen and the person did full reps: the
    cut phase is timed as the median of that phase over their full reps (their own pace, not the
    reference's), so a set rushed to its last frame is not let off for its last rep."""
    full = [rs.tempo for rs in comp.rep_scores
            if rs.index and math.isfinite(rs.tempo.to_peak_s) and math.isfinite(rs.tempo.from_peak_s)]
    out: list[tuple[int, float, RuleFinding]] = []
    for rs in comp.rep_scores:
        if not rs.index:
            continue
        t, estimated = rs.tempo, False
        down_cut, up_cut = not math.isfinite(t.to_peak_s), not math.isfinite(t.from_peak_s)
        if full and down_cut != up_cut:
            t = Tempo(float(np.median([f.to_peak_s for f in full])) if down_cut else t.to_peak_s,
                      float(np.median([f.from_peak_s for f in full])) if up_cut else t.from_peak_s, t.pause_s)
            estimated = True
        f = rushed_finding(t, rs.ref_tempo, exercise, estimated=estimated)
        if f is not None:
            out.append((rs.index, rs.peak_s, f))
    return out


def _weighted_cosine(u: np.ndarray, r: np.ndarray, w: np.ndarray) -> float:
    """Cosine of (J, 2) vectors with per-landmark weights; NaN landmarks weigh 0."""
    ok = np.isfinite(u).all(-1) & np.isfinite(r).all(-1) & (w > 0)
    if ok.sum() < 3:
        return float("nan")
    uw = u[ok] * np.sqrt(w[ok])[:, None]
    rw = r[ok] * np.sqrt(w[ok])[:, None]
    nu, nr = np.linalg.norm(uw), np.linalg.norm(rw)
    if nu == 0 or nr == 0:
        return float("nan")
    return float(np.sum(uw * rw) / (nu * nr))


#: Share of a rep's rise from its rest level at which its motion is taken to start (and, on the way
#: back, to end): where a counter or a reference's own bounds put a rep's edges within the rest before
#: and after it differs, so durations are measured from these crossings, alike for both performances.
TEMPO_EDGE_SHARE = 0.1
#: Least share of a phase's frames whose signal is seen for its duration to be measured.
TEMPO_MIN_SEEN = 2.0 / 3.0


def rep_tempo(signal: np.ndarray, times: np.ndarray, a: int, p: int, b: int) -> Tempo:
    """Tempo of the rep (a, p, b) (indices into signal and times): from the last moment before the
    peak at which the signal is within `TEMPO_EDGE_SHARE` of the rise above its rest level before
    it, to the peak, to the first such moment after it; the pause is the time within 5 % of the
    peak. A phase whose signal is seen in under `TEMPO_MIN_SEEN` of its frames: NaN seconds."""
    seg = signal[a : b + 1]
    start, end = a, b
    pause = 0.0
    if np.isfinite(seg).sum() >= 3:
        lo, hi = np.nanmin(seg), np.nanmax(seg)
        near = seg >= hi - 0.05 * (hi - lo)
        dt = np.diff(times[a : b + 1], append=times[b] + (times[b] - times[max(a, b - 1)]))
        pause = float(np.sum(dt[near]))
        top = signal[p] if np.isfinite(signal[p]) else hi
        with np.errstate(invalid="ignore"):
            before, after = signal[a : p + 1], signal[p : b + 1]
            # a phase mostly unseen has no rest level to measure from: its duration is unknown
            if np.isfinite(before).mean() >= TEMPO_MIN_SEEN:
                rest = np.nanmin(before)
                low = np.flatnonzero(before <= rest + TEMPO_EDGE_SHARE * (top - rest))
                start = a + int(low[-1]) if low.size else a
            else:
                start = -1
            if np.isfinite(after).mean() >= TEMPO_MIN_SEEN:
                rest = np.nanmin(after)
                low = np.flatnonzero(after <= rest + TEMPO_EDGE_SHARE * (top - rest))
                end = p + int(low[0]) if low.size else b
            else:
                end = -1
    to_peak = float(times[p] - times[start]) if start >= 0 else float("nan")
    from_peak = float(times[end] - times[p]) if end >= 0 else float("nan")
    return Tempo(round(to_peak, 2), round(from_peak, 2), round(pause, 2))


def _cut_tempo(t: Tempo, cut_start: bool, cut_end: bool) -> Tempo:
    """A rep the clip cuts: the phase it cut has no duration to show (NaN), not a short one."""
    if not (cut_start or cut_end):
        return t
    return Tempo(float("nan") if cut_start else t.to_peak_s, float("nan") if cut_end else t.from_peak_s, t.pause_s)


def compare(
    user: PoseSequence,
    ref: PoseSequence,
    exercise: ExerciseDef,
    *,
    user_reps: tuple[Rep, ...],
    ref_reps: tuple[Rep, ...],
    user_facing: str,
    ref_facing: str,
    view: str,
    settings: CompareSettings | None = None,
    oblique: bool = False,
) -> Comparison:
    """Compare cleaned user and reference sequences (see the module docstring for the method)."""
    s = settings or CompareSettings()
    notes: list[str] = []
    ui = resample_indices(user.timestamps_s, s.resample_fps)
    ri = resample_indices(ref.timestamps_s, s.resample_fps)
    ub = body_frame(user.xy)[ui]
    rb = body_frame(ref.xy)[ri]
    ub, upside_down = _drop_upside_down(ub, exercise)
    uvis = np.asarray(user.visibility, dtype=np.float64)[ui]
    rvis = np.asarray(ref.visibility, dtype=np.float64)[ri]
    names = exercise.key_angles
    key = np.array(exercise.key_landmarks, dtype=np.intp)
    ra = angle_matrix(rb, names)
    ut = user.timestamps_s[ui]
    rt = ref.timestamps_s[ri]

    # Side views: compare as seen and as a mirror image, keep the better alignment. This does not
    # trust facing detection, which fails on some postures (a plank seen from the side).
    options = [False]
    if view != "front":
        options = [False, True]
        if {user_facing, ref_facing} == {"left", "right"}:
            options = [True, False]
    best = None
    for mir in options:
        ub_m = mirror(ub) if mir else ub
        uvis_m = uvis[:, _mirror_idx()] if mir else uvis
        prep = _prepare(ub_m, uvis_m, rb, rvis, ra, names, key, view)
        cost = _whole_cost(prep[3], prep[4], s)
        if best is None or cost < best[0] * 0.97:  # prefer the first (expected) option on near-ties
            best = (cost, mir, ub_m, uvis_m, prep)
    _cost, mirrored, ub, uvis, (ua, judged, key_ok, feats_u, feats_r, excluded) = best
    if mirrored:
        notes.append("you face the other way than the reference: compared as a mirror image")
    if upside_down:
        notes.append(f"{upside_down} frames with the torso past horizontal left out (tracking errors in an "
                     "upright exercise)")
    unsteady = [k for k in judged if angle_jerk_deg(ua[:, k]) > s.max_angle_jerk_deg]
    if unsteady and len(unsteady) < len(judged):  # with none left there would be nothing to say
        judged = [k for k in judged if k not in unsteady]
        excluded = [*excluded, *(f"{names[k]} (unsteady tracking)" for k in unsteady)]
        feats_u = _features(ub, ua, key_ok, judged)
        feats_r = _features(rb, ra, key_ok, judged)

    # map reps (original frame indices) to analysis indices
    def to_an(frame: int, idx: np.ndarray) -> int:
        return int(np.clip(np.searchsorted(idx, frame), 0, len(idx) - 1))

    u_reps = [(to_an(r.start_frame, ui), to_an(r.peak_frame, ui), to_an(r.end_frame, ui)) for r in user_reps]
    r_reps = [(to_an(r.start_frame, ri), to_an(r.peak_frame, ri), to_an(r.end_frame, ri)) for r in ref_reps]
    r_reps = [r for r in r_reps if r[2] - r[0] >= 3]
    template = _template_rep(r_reps, feats_r, s) if r_reps else (0, len(rb) // 2, len(rb) - 1)
    ta, tp, tb = template

    # alignment: user analysis frame -> reference analysis frame
    ref_of = np.full(len(ub), ta, dtype=np.intp)
    cut_start: set[int] = set()  # reps (0-based) whose start / end the clip cut off
    cut_end: set[int] = set()
    if feats_u is None or feats_r is None:
        notes.append("too few joints visible in both performances to align them")
    elif u_reps:
        edge = max(1, round(EDGE_REP_S * s.resample_fps))
        for k, (a, _p, b) in enumerate(u_reps):
            # a rep the clip starts or ends inside: which part of the template it shows is unknown
            first, last = a < edge, b >= len(ub) - edge
            res, off = align_rep(feats_u[a : b + 1], feats_r[ta : tb + 1], tp - ta, open_start=first,
                                 open_end=last, window_frac=max(s.dtw_window_frac, 0.5))
            ref_of[a : b + 1] = _collapse(res.path, b - a + 1) + ta + off
            # matched to a part of the template: that phase of the rep began / ended off camera
            if first and off > 1:
                cut_start.add(k)
            if last and ref_of[b] < tb - 1:
                cut_end.add(k)
            # the few frames between the clip's edge and such a rep hold the pose it starts/ends in
            if first:
                ref_of[:a] = ref_of[a]
            if last:
                ref_of[b + 1 :] = ref_of[b]
    else:
        res = dtw_align(feats_u, feats_r, window_frac=s.dtw_window_frac)
        ref_of[:] = _collapse(res.path, len(ub))
        notes.append("no complete repetition found: compared the whole clip with the whole reference")

    ra_al = ra[ref_of]
    rb_al = rb[ref_of]
    tol = _tolerances(ra, rb, r_reps, template, feats_r, names, s)
    tol_deg, tol_pos = tol
    if oblique:
        tol_deg = np.sqrt(tol_deg**2 + projection_tolerance_deg(ra[ta : tb + 1]) ** 2)
    z = deviation_z(ua, ra_al, tol_deg, names)
    z = forgive_beyond(z, ua, ra_al, names, exercise, ref_extreme_deg=ra[tp], ref_rest_deg=ra[ta],
                       ref_rom_deg=_rom(ra))
    mask_j = np.zeros(len(names), dtype=bool)
    mask_j[judged] = True
    z[:, ~mask_j] = np.nan
    # a limb pointing at the camera in either performance: its 2-D angle is not comparable there
    z[foreshortened(ub, names) | foreshortened(rb, names)[ref_of]] = np.nan
    pos_dev = np.linalg.norm(ub - rb_al, axis=-1)
    not_key = np.ones(N_LANDMARKS, dtype=bool)
    not_key[key_ok] = False
    pos_dev[:, not_key] = np.nan
    pos_z = pos_dev / tol_pos

    w = np.minimum(uvis, rvis[ref_of])
    sim = np.array([_weighted_cosine(ub[i, key], rb_al[i, key], w[i, key]) for i in range(len(ub))])

    # per-rep scores
    weights = np.array([exercise.weight(n) for n in names])
    u_signal = exercise.signal(user.xy / robust_scale_px(user.xy))
    r_signal = exercise.signal(ref.xy / robust_scale_px(ref.xy))
    ref_tempo = rep_tempo(r_signal[ri], rt, ta, tp, tb)
    rep_scores = []
    spans = u_reps if u_reps else [(0, int(np.nanargmax(np.nan_to_num(u_signal[ui], nan=-np.inf))), len(ub) - 1)]
    for k, (a, p, b) in enumerate(spans):
        sc, worst, wz = _rep_score(z[a : b + 1], pos_z[a : b + 1], names, weights, s)
        rep_scores.append(
            RepScore(
                index=k + 1 if u_reps else 0,
                score=sc,
                start_s=round(float(ut[a]), 2), peak_s=round(float(ut[p]), 2), end_s=round(float(ut[b]), 2),
                similarity=round(float(np.nanmean(sim[a : b + 1])), 3) if np.isfinite(sim[a : b + 1]).any() else float("nan"),
                tempo=_cut_tempo(rep_tempo(u_signal[ui], ut, a, p, b), k in cut_start, k in cut_end),
                ref_tempo=ref_tempo,
                worst_part=worst, worst_z=wz,
            )
        )
    scores = [r.score for r in rep_scores if np.isfinite(r.score)]
    score = round(float(np.mean(scores)), 1) if scores else float("nan")

    # body parts
    part_cols: dict[str, list[np.ndarray]] = {}
    part_joints: dict[str, list[str]] = {}
    for k in judged:
        part = ANGLE_PART[names[k]]
        part_cols.setdefault(part, []).append(z[:, k])
        part_joints.setdefault(part, []).append(names[k])
    part_z = {p: _col_nanmax(np.stack(cols, axis=1)) for p, cols in part_cols.items()}
    rep_of_frame = np.zeros(len(ub), dtype=np.intp)
    for k, (a, _p, b) in enumerate(u_reps):
        rep_of_frame[a : b + 1] = k + 1
    parts = {}
    for p, series in part_z.items():
        if not np.isfinite(series).any():
            continue
        i = int(np.nanargmax(series))
        parts[p] = PartDeviation(
            part=p,
            mean_z=round(float(np.nanmean(series)), 2),
            max_z=round(float(series[i]), 2),
            time_of_max_s=round(float(ut[i]), 2),
            rep_of_max=int(rep_of_frame[i]) or None,
            joints=tuple(part_joints[p]),
        )

    n_far = sum(1 for e in excluded if e.endswith("(far side)"))
    coverage = len(judged) / max(1, len(names) - n_far)
    confidence = round(float(np.clip(coverage * (1.0 if u_reps else 0.6), 0, 1)), 2)
    verdict = "pass" if np.isfinite(score) and score >= s.pass_threshold else "fail"
    return Comparison(
        times_s=ut - ut[0] + user.timestamps_s[ui[0]] if len(ut) else ut,
        user_frames=ui,
        ref_frames=ri[ref_of],
        mirrored=mirrored,
        angle_names=names,
        user_angles=ua,
        ref_angles=ra_al,
        tolerance_deg=tol_deg,
        angle_z=z,
        landmark_dev=pos_dev,
        similarity=sim,
        per_keypoint_dtw=per_keypoint_dtw(ub, rb, window_frac=s.dtw_window_frac),
        rep_scores=tuple(rep_scores),
        parts=parts,
        part_z=part_z,
        score=score,
        verdict=verdict,
        confidence=confidence,
        judged_angles=tuple(names[k] for k in judged),
        excluded=tuple(excluded),
        notes=tuple(notes),
    )


def angle_jerk_deg(angle: np.ndarray) -> float:
    """90th percentile of |second difference| of an angle series (degrees per frame^2): a joint
    the pose model tracks moves smoothly (a few degrees), one it loses jumps between guesses
    (tens of degrees, frame after frame). 0 with fewer than 5 steps seen."""
    a = np.asarray(angle, dtype=np.float64)
    d2 = np.abs(a[2:] - 2 * a[1:-1] + a[:-2]) if a.size >= 3 else np.zeros(0)
    d2 = d2[np.isfinite(d2)]
    return float(np.percentile(d2, 90)) if d2.size >= 5 else 0.0


def _drop_upside_down(ub: np.ndarray, exercise: ExerciseDef) -> tuple[np.ndarray, int]:
    """User frames (body frame, (T, 33, 2)) of an upright exercise whose torso leans past
    horizontal (`exercises.past_horizontal`), set to NaN while they are a minority
    (`UPRIGHT_MAX_PAST_HORIZONTAL`): shoulders below the hips are the pose model's error there,
    not the user's (a squat's skeleton put upside down for 0.4 s read as "leaning 122° more than
    the reference"). Returns the frames and how many were left out."""
    if not exercise.upright:
        return ub, 0
    bad = past_horizontal(ub)
    if not bad.any() or past_horizontal_share(ub) > UPRIGHT_MAX_PAST_HORIZONTAL:
        return ub, 0
    out = ub.copy()
    out[bad] = np.nan
    return out, int(bad.sum())


def _prepare(ub, uvis, rb, rvis, ra, names, key, view):
    """Angles of the user, which angles and landmarks can be judged, DTW features, exclusions.

    In a side view only the near side of each left/right pair is judged: the pose model guesses
    the hidden far side."""
    ua = angle_matrix(ub, names)
    seen_u = np.isfinite(ua).mean(axis=0) >= 0.5
    seen_r = np.isfinite(ra).mean(axis=0) >= 0.5
    judged = [k for k in range(len(names)) if seen_u[k] and seen_r[k]]
    excluded = [names[k] for k in range(len(names)) if k not in judged]
    far: set[int] = set()
    if view != "front":
        for k, n in enumerate(names):
            if n.startswith("left_") and "right_" + n[5:] in names:
                k2 = names.index("right_" + n[5:])
                v = ANGLE_VERTEX[n]
                v2 = ANGLE_VERTEX[names[k2]]
                near_l = min(np.nanmean(uvis[:, v]), np.nanmean(rvis[:, v]))
                near_r = min(np.nanmean(uvis[:, v2]), np.nanmean(rvis[:, v2]))
                if k in judged and k2 in judged:
                    far.add(k2 if near_l >= near_r else k)
    judged = [k for k in judged if k not in far]
    excluded += [f"{names[k]} (far side)" for k in sorted(far)]
    key_ok = [
        int(j) for j in key
        if np.isfinite(ub[:, j, 0]).mean() >= 0.5 and np.isfinite(rb[:, j, 0]).mean() >= 0.5
    ]
    excluded += [LANDMARK_NAMES[j] for j in key if int(j) not in key_ok and LANDMARK_NAMES[j] not in excluded]
    feats_u = _features(ub, ua, key_ok, judged)
    feats_r = _features(rb, ra, key_ok, judged)
    return ua, judged, key_ok, feats_u, feats_r, excluded


def _whole_cost(fu, fr, s: CompareSettings) -> float:
    """DTW distance per step between two whole feature sequences (inf when not comparable)."""
    if fu is None or fr is None or fu.shape[1] != fr.shape[1]:
        return float("inf")
    res = dtw_align(fu, fr, window_frac=max(s.dtw_window_frac, 0.5))
    return res.distance / math.sqrt(len(res.path)) / math.sqrt(fu.shape[1])


def _mirror_idx() -> np.ndarray:
    from coach.schema import MIRROR_INDEX

    return MIRROR_INDEX


def _features(xy: np.ndarray, angles: np.ndarray, key: list[int], judged: list[int]) -> np.ndarray | None:
    """DTW features: key landmark positions (torso lengths) and judged angles / ANGLE_SCALE_DEG,
    gaps interpolated (nothing NaN reaches dtaidistance)."""
    parts = []
    if key:
        parts.append(xy[:, key].reshape(len(xy), -1))
    if judged:
        parts.append(angles[:, judged] / ANGLE_SCALE_DEG)
    if not parts:
        return None
    f = _fill(np.concatenate(parts, axis=1))
    return f


def _collapse(path: np.ndarray, n: int) -> np.ndarray:
    """For each i in 0..n-1, the median j matched to it on the path."""
    out = np.zeros(n, dtype=np.intp)
    for i in range(n):
        js = path[path[:, 0] == i, 1]
        out[i] = int(np.median(js)) if js.size else (out[i - 1] if i else 0)
    return out


def _template_rep(r_reps, feats_r, s: CompareSettings) -> tuple[int, int, int]:
    """The reference rep closest (DTW) to all its other reps: its most typical repetition."""
    if feats_r is None or len(r_reps) < 3:
        return r_reps[len(r_reps) // 2] if len(r_reps) > 1 else r_reps[0]
    costs = []
    for a, _p, b in r_reps:
        c = 0.0
        for a2, _p2, b2 in r_reps:
            if a2 != a:
                c += dtw_align(feats_r[a : b + 1], feats_r[a2 : b2 + 1], window_frac=0.5).distance
        costs.append(c)
    return r_reps[int(np.argmin(costs))]


# angles that are straight in good form whoever performs them (not a joint whose angle depends on
# limb proportions or grip): their tolerance floor is CompareSettings.straight_tolerance_deg
STRAIGHT_ANGLES = frozenset({"left_body_line", "right_body_line"})
# angles whose ideal is straight: a user straighter than the reference is not told off
STRAIGHT_IS_GOOD = frozenset({"left_body_line", "right_body_line", "left_neck", "right_neck"})


def deviation_z(user_deg: np.ndarray, ref_deg: np.ndarray, tol_deg: np.ndarray, names) -> np.ndarray:
    """|user - reference| / tolerance per angle (last axis = names); an angle of STRAIGHT_IS_GOOD
    straighter than the reference's is no fault (0): only bending it more counts."""
    user_deg, ref_deg = np.asarray(user_deg, dtype=np.float64), np.asarray(ref_deg, dtype=np.float64)
    z = np.abs(user_deg - ref_deg) / tol_deg
    straight = np.array([n in STRAIGHT_IS_GOOD for n in names], dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.where(straight & (user_deg > ref_deg), 0.0, z)


#: Share of the reference's range of motion around its working extreme that counts as "at the
#: extreme" for `forgive_beyond`.
EXTREME_BAND = 0.25


def _rom(ra: np.ndarray) -> np.ndarray:
    """(A,) range of motion of each reference angle, degrees (5th-95th percentile; 0 when unseen)."""
    if not np.isfinite(ra).any():
        return np.zeros(ra.shape[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an angle never seen stays NaN -> 0
        rom = np.nanpercentile(ra, 95, axis=0) - np.nanpercentile(ra, 5, axis=0)
    return np.where(np.isfinite(rom), rom, 0.0)


def forgive_beyond(
    z: np.ndarray,
    user_deg: np.ndarray,
    ref_deg: np.ndarray,
    names,
    exercise: ExerciseDef,
    *,
    ref_extreme_deg: np.ndarray,
    ref_rest_deg: np.ndarray,
    ref_rom_deg: np.ndarray,
) -> np.ndarray:
    """z with the deviations that are no fault set to 0 (`ExerciseDef.beyond_ok`).

    user_deg, ref_deg: (T, A) the user's angles and the aligned reference's; ref_extreme_deg,
    ref_rest_deg: (A,) the reference's angles at its template rep's working extreme and start;
    ref_rom_deg: (A,) its range of motion. "range": the user is past the reference in the direction
    the joint moves from rest to the extreme, in frames where the reference is within
    `EXTREME_BAND` of its range from that extreme. "upright": trunk lean below the reference's."""
    out = np.array(z, dtype=np.float64, copy=True)
    u, r = np.asarray(user_deg, dtype=np.float64), np.asarray(ref_deg, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        for k, name in enumerate(names):
            mode = exercise.beyond_ok(name)
            if mode == "upright":
                out[:, k] = np.where(u[:, k] < r[:, k], 0.0, out[:, k])
            elif mode == "range":
                towards = np.sign(ref_extreme_deg[k] - ref_rest_deg[k])
                if not np.isfinite(towards) or towards == 0 or ref_rom_deg[k] <= 0:
                    continue
                near = np.abs(r[:, k] - ref_extreme_deg[k]) <= EXTREME_BAND * ref_rom_deg[k]
                past = (u[:, k] - r[:, k]) * towards > 0
                out[:, k] = np.where(near & past, 0.0, out[:, k])
    return out


#: RMS change (degrees) of a joint angle bent to these angles in a vertical body plane, when the
#: camera looks at it from 25-65 degrees off the side view and 0-30 degrees above (random limb
#: orientations in the plane): a straight line stays straight in any projection, a bent joint does not.
PROJECTION_ERR_DEG = ((70.0, 18.0), (90.0, 19.1), (110.0, 18.1), (135.0, 13.8), (160.0, 6.9), (180.0, 0.0))


def projection_tolerance_deg(ref_deg: np.ndarray) -> np.ndarray:
    """Per-angle tolerance (degrees) for a camera between the side and the front view: the RMS of
    `PROJECTION_ERR_DEG` over the reference's rep (T, A); 0 for an angle never seen."""
    x, y = zip(*PROJECTION_ERR_DEG, strict=True)
    err = np.interp(np.asarray(ref_deg, dtype=np.float64), x, y)
    ok = np.isfinite(err)
    return np.sqrt(np.where(ok, err**2, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1))


def tolerance_floor_deg(names, s: CompareSettings) -> np.ndarray:
    """Per-angle tolerance floor (degrees): pose noise and anatomy, or pose noise alone for
    STRAIGHT_ANGLES."""
    return np.array([s.straight_tolerance_deg if n in STRAIGHT_ANGLES else s.min_tolerance_deg for n in names])


def _tolerances(ra, rb, r_reps, template, feats_r, names, s: CompareSettings) -> tuple[np.ndarray, float]:
    """Per-angle tolerance (degrees) from the reference's rep-to-rep spread plus the noise floor;
    and one position tolerance (torso lengths)."""
    ta, _tp, tb = template
    diffs_a, diffs_p = [], []
    if feats_r is not None:
        for a, _p, b in r_reps:
            if (a, b) == (ta, tb):
                continue
            res = dtw_align(feats_r[a : b + 1], feats_r[ta : tb + 1], window_frac=0.5)
            i, j = res.path[:, 0] + a, res.path[:, 1] + ta
            diffs_a.append(ra[i] - ra[j])
            diffs_p.append(np.linalg.norm(rb[i] - rb[j], axis=-1))
    if diffs_a:
        spread = np.nanstd(np.concatenate(diffs_a), axis=0)
        spread = np.where(np.isfinite(spread), spread, 0.0)
        pos_spread = float(np.nanmedian(np.concatenate(diffs_p)))
    else:
        spread = np.zeros(len(names))
        pos_spread = 0.0
    # a joint that sweeps a wide range also shows wide errors from small timing differences
    rom = _rom(ra)
    tol_deg = np.sqrt(spread**2 + tolerance_floor_deg(names, s) ** 2 + (s.tolerance_per_rom * rom) ** 2)
    tol_pos = math.sqrt(pos_spread**2 + s.min_tolerance_pos**2)
    return tol_deg, tol_pos


def _rep_score(
    z: np.ndarray, pos_z: np.ndarray, names, weights: np.ndarray, s: CompareSettings
) -> tuple[float, str | None, float]:
    """Score of one rep from its per-frame deviations (see the module docstring)."""
    m_ang = _col_nanmean(z)  # mean z per angle over the rep
    m_pos = _col_nanmean(pos_z)
    ok = np.isfinite(m_ang)
    ea = float(np.sum(weights[ok] * m_ang[ok] ** 2) / np.sum(weights[ok])) if ok.any() else float("nan")
    ep = float(np.nanmean(m_pos**2)) if np.isfinite(m_pos).any() else float("nan")
    if not np.isfinite(ea) and not np.isfinite(ep):
        return float("nan"), None, float("nan")
    w_pos = s.position_weight
    e = (1 - w_pos) * ea + w_pos * ep if np.isfinite(ea) and np.isfinite(ep) else (ea if np.isfinite(ea) else ep)
    score = round(100.0 * math.exp(-e / (2.0 * s.score_softness)), 1)
    worst, wz = None, float("nan")
    if ok.any():
        k = int(np.nanargmax(np.where(ok, weights * m_ang**2, -np.inf)))
        worst, wz = ANGLE_PART[names[k]], round(float(m_ang[k]), 2)
    return score, worst, wz


def _col_nanmean(a: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN; NaN for all-NaN columns (without warnings)."""
    cnt = np.isfinite(a).sum(axis=0)
    tot = np.where(np.isfinite(a), a, 0.0).sum(axis=0)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _col_nanmax(a: np.ndarray) -> np.ndarray:
    """Max over axis 1 ignoring NaN; NaN where a row is all NaN (without warnings)."""
    filled = np.where(np.isfinite(a), a, -np.inf).max(axis=1)
    return np.where(np.isfinite(filled), filled, np.nan)
