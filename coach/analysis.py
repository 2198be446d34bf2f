"""The pipeline: video or keypoints in, a coached comparison against a reference out.

`analyze_video` and `analyze_poses` are the one call the CLI and the dashboard make."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import time
import warnings as warnings_module
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach import __version__
from coach.bodymodel import builtin_entries, builtin_id
from coach.clean import CleanResult, clean_poses
from coach.compare import Comparison, apply_rule_faults, compare, rushed_reps
from coach.errors import CoachError, PoseError, ReferenceLibraryError
from coach.exercises import (
    EXERCISES,
    UPRIGHT_MAX_PAST_HORIZONTAL,
    ExerciseDef,
    RuleFinding,
    get_exercise,
    past_horizontal_share,
)
from coach.feedback import Cue, build_cues, camera_warnings
from coach.kinematics import Proportions, joint_angles, moment_arms, proportions, range_of_motion
from coach.normalize import MID_HIP, ViewEstimate, detect_view, midpoint, robust_scale_px, side_facing
from coach.paths import data_home
from coach.pose import (
    POSE_BACKENDS,
    POSE_REVISION,
    SEARCH_BELOW_PERSON_SHARE,
    PoseEstimator,
    PoseSequence,
    RotatedEstimator,
    Window,
    default_estimator,
    extract_poses,
    extract_video_parallel,
    others_in_view,
    person_share,
    pose_cache_tag,
    search_person_window,
    search_rotation,
    window_estimator,
)
from coach.recognize import Recognition, clip_features, feature_distance, recognize
from coach.references import Reference, ReferenceLibrary, ReferenceMeta
from coach.reps import Rep, RepResult, count_reps_generic, count_reps_pose
from coach.schema import CORE_LANDMARKS, LANDMARK_NAMES, LAYOUTS, mp_to_layout
from coach.settings import DEFAULT_SETTINGS, AnalysisSettings
from coach.video import VideoInfo, iter_frames, prefetch, probe, sample_frames

log = logging.getLogger(__name__)

StageProgress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "pose" or "turn" (frames; "turn" = the pass on turned
frames), "search" (zoomed windows tried) or "analysis" (steps)."""

#: Below this recognition confidence (a softmax over ten exercises: the top one barely ahead) the
#: exercise is a guess, and so is a pass or fail against its reference: the verdict is "unsure"
#: until the user picks the exercise. On the shared clips, 8 of the 16 moves the library does not
#: define (sparring, jump rope, walking, ...) fall below it, and 5 of the 148 it does.
GUESS_BELOW = 0.35
#: Form rules judge the pose at a rep's working extreme as the median over this window (seconds).
RULE_PEAK_WINDOW_S = 0.2
#: With more than this share of frames without a person, a few of them are tried turned a quarter,
#: a half and three quarters (`_fill_by_rotation`), ROTATION_SEARCH_SAMPLES of them.
ROTATION_SEARCH_MISSING = 0.1
ROTATION_SEARCH_SAMPLES = 8
#: ... and its landmarks are used only if, where both runs found the person, they agree within this
#: many torso lengths (median; a bench presser's fill: 0.09, a wrong turn of a push-up: 0.5).
ROTATION_AGREE_TORSO = 0.25
MIN_PERSON_SHARE = 0.2  # below this share of frames with a person, there is nothing to coach
# The video's motion is counted too (`coach.flow`, in the box the person moved in) when the pose
# missed the person in over a quarter of the frames and its own count is unsure; a count that
# differs and is clearly more confident is the count (`count_reps_checked`). On the shared clips
# this fired on a bar lift (pose 2-4, flow 8 of 8), two push-up sets without rep labels (pose 2
# and 1; flow 4 and 2, as the frames show) and, on their mirrored copies, on a squat set (1; 3 of 3)
# and a clip of 2 reps (1; 2). A confident pose count stays unchecked: flow counts a jumping jack
# twice (37 of 19, pose 19 at confidence 0.65).
FLOW_CHECK_BELOW_PERSON_SHARE = 0.75
FLOW_CHECK_BELOW_CONFIDENCE = 0.5
FLOW_CHECK_MAX_S = 60.0  # flow costs ~0.12 x the clip's duration (1080p): longer clips are not checked
VIEW_SURE = 0.5  # below this view confidence, both views' references are compared and the closer one kept


@dataclass(frozen=True)
class Analysis:
    """A finished analysis. `to_dict()` gives the JSON the CLI writes."""

    source: str
    poses: PoseSequence  # cleaned user landmarks
    clean: CleanResult
    exercise: ExerciseDef
    recognition: Recognition | None  # None when the exercise was given
    view: ViewEstimate
    reference: ReferenceMeta
    reference_poses: PoseSequence
    reps: RepResult
    ref_reps: tuple[Rep, ...]
    comparison: Comparison
    rule_findings: tuple[tuple[int, float, RuleFinding], ...]
    cues: tuple[Cue, ...]
    warnings: tuple[str, ...]
    angles: dict[str, np.ndarray]  # full frame rate, degrees
    moment_arms: dict[str, np.ndarray]  # torso lengths, + = in front of the mid-foot
    proportions: Proportions
    reference_proportions: Proportions
    timings_s: dict[str, float] = field(default_factory=dict)
    video: VideoInfo | None = None
    #: the optical-flow count when it replaced the pose's (`count_reps_checked`); `reps` stays what is scored
    flow_reps: RepResult | None = None

    @property
    def score(self) -> float:
        return self.comparison.score

    @property
    def rep_count(self) -> int:
        """The reps counted: the pose's, or the video motion's where that replaced a doubtful pose count."""
        return self.flow_reps.count if self.flow_reps is not None else self.reps.count

    @property
    def confidence(self) -> float:
        """0-1 trust in the verdict: the share of key joints judged (and whether reps were found),
        lowered when the reference is filmed from another view, the exercise was a guess, or the
        body was often out of frame."""
        c = self.comparison.confidence
        if self.reference.view != self.view.view and self.view.view in ("front", "side"):
            c *= 0.6
        if self.recognition is not None:
            c *= 0.5 + 0.5 * self.recognition.confidence
        if any("out of frame" in w or "outside the frame" in w for w in self.warnings):
            c *= 0.8
        return round(float(c), 2)

    def to_dict(self) -> dict:
        comp = self.comparison
        rom = {}
        for name in self.exercise.key_angles:
            r = range_of_motion(self.angles[name])
            rom[name] = {"min_deg": _f(r.min_deg), "max_deg": _f(r.max_deg), "range_deg": _f(r.range_deg)}
        rep_details = []
        for rep, rs in zip(self.reps.reps, comp.rep_scores, strict=False):
            rep_details.append(
                {
                    "rep": rep.index,
                    "start_s": round(rep.start_s, 2),
                    "peak_s": round(rep.peak_s, 2),
                    "end_s": round(rep.end_s, 2),
                    "depth": _f(rep.depth),
                    "score": _f(rs.score),
                    "reference_score": _f(rs.reference_score) if rs.reference_score is not None else _f(rs.score),
                    "rule_faults": list(rs.rule_faults),
                    "similarity": _f(rs.similarity),
                    "worst_part": rs.worst_part,
                    "tempo": {
                        "to_peak_s": _f(rs.tempo.to_peak_s), "from_peak_s": _f(rs.tempo.from_peak_s),
                        "pause_s": rs.tempo.pause_s,
                        "ref_to_peak_s": rs.ref_tempo.to_peak_s, "ref_from_peak_s": rs.ref_tempo.from_peak_s,
                        "ref_pause_s": rs.ref_tempo.pause_s,
                    },
                }
            )
        ma = {k: {"median": _f(np.nanmedian(v)) if np.isfinite(v).any() else None,
                  "max_abs": _f(np.nanmax(np.abs(v))) if np.isfinite(v).any() else None}
              for k, v in self.moment_arms.items()}
        return json_safe({
            "format": "form-coach-analysis",
            "version": __version__,
            "source": self.source,
            "exercise": self.exercise.id,
            "exercise_label": self.exercise.label,
            "exercise_confidence": self.recognition.confidence if self.recognition else 1.0,
            "exercise_ranking": [list(r) for r in self.recognition.ranking] if self.recognition else [],
            "view": self.view.view,
            "view_confidence": self.view.confidence,
            "view_oblique": self.view.oblique,
            "facing": self.view.facing,
            "reference": self.reference.id,
            "reference_name": self.reference.name,
            "reference_view": self.reference.view,
            "reps": self.rep_count,
            "partial_reps": len((self.flow_reps or self.reps).partial),
            "rep_method": self.flow_reps.method if self.flow_reps is not None else self.reps.method,
            "pose_reps": self.reps.count,
            "rep_details": rep_details,
            "score": _f(comp.score),
            "verdict": comp.verdict,
            "confidence": self.confidence,
            "score_formula": "per rep 100*exp(-E/(2*softness)), E = weighted mean over key angles of "
                             "(deviation/tolerance)^2, plus (1 + min(severity, 1))^2 per textbook rule broken; mean over reps",
            "pass_threshold": None,  # filled by the caller with the settings used
            "deviations": {
                p: {"mean_z": _f(d.mean_z), "max_z": _f(d.max_z), "time_of_max_s": d.time_of_max_s,
                    "rep_of_max": d.rep_of_max, "joints": list(d.joints)}
                for p, d in sorted(comp.parts.items(), key=lambda kv: -kv[1].mean_z)
            },
            "per_keypoint_dtw": comp.per_keypoint_dtw,
            "similarity_mean": _f(np.nanmean(comp.similarity)) if np.isfinite(comp.similarity).any() else None,
            "cues": [c.text for c in self.cues],
            "cue_details": [
                {"text": c.text, "body_part": c.body_part, "rep": c.rep, "time_s": c.time_s,
                 "severity": c.severity, "source": c.source}
                for c in self.cues
            ],
            "warnings": list(self.warnings),
            "excluded": list(comp.excluded),
            "notes": list(comp.notes),
            "range_of_motion": rom,
            "moment_arm_torso": ma,
            "proportions": self.proportions.as_dict(),
            "reference_proportions": self.reference_proportions.as_dict(),
            "duration_s": round(self.poses.duration_s, 2),
            "fps": round(self.poses.fps, 3),  # the analysed rate (every frame_stride-th frame of the video)
            "frame_stride": int(self.poses.meta.get("frame_stride", 1)),
            "frames": self.poses.n_frames,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
        })


def json_safe(obj):
    """Recursively turn NaN/inf into None and numpy scalars into Python numbers (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _f(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, 3) if np.isfinite(v) else None


# --- reference selection ----------------------------------------------------------------------

_FEATURE_CACHE: dict[tuple[str, str], np.ndarray] = {}


def _ref_features(ref: Reference) -> np.ndarray:
    key = (ref.meta.id, ref.meta.keypoints_sha256)
    if key not in _FEATURE_CACHE:
        xy = ref.poses.xy
        _FEATURE_CACHE[key] = clip_features(xy / robust_scale_px(xy))
    return _FEATURE_CACHE[key]


def view_of(poses: PoseSequence) -> ViewEstimate:
    """The camera view of a cleaned performance (`normalize.detect_view`). MediaPipe's visibility
    says which side the body hides, and decides; other sources' confidences (OpenPose, dataset
    flags) mean something else, so their views come from the widths alone."""
    from_mediapipe = poses.meta.get("model") in POSE_BACKENDS.values()  # either backend: the same model
    return detect_view(poses.xy, poses.visibility if from_mediapipe else None)


def import_scipy() -> None:
    """Import the scipy packages the analysis uses (signal, optimize). They take ~0.9 s of one core
    and are imported where first needed, so a server imports them while idle
    (`warm_up_analysis`) and the CLI while its pose workers run."""
    import scipy.optimize
    import scipy.signal  # noqa: F401


def warm_up_analysis(library: ReferenceLibrary) -> int:
    """Import the video decoder and scipy, and load every reference of a known exercise with its
    recognition features now (a server does this while idle: the first upload would wait ~0.8 s
    for it). A reference that fails to load is skipped here: the analysis that needs it reports
    it. Returns how many were loaded."""
    import av  # noqa: F401  (~0.04 s on the first probe otherwise)

    import_scipy()

    n = 0
    for meta in library.list():
        if meta.exercise not in EXERCISES:
            continue
        try:
            _ref_features(library.get(meta.id))
        except CoachError as exc:
            log.warning("reference %s not loaded ahead: %s", meta.id, exc)
            continue
        n += 1
    return n


def recognize_exercise(xy_torso: np.ndarray, library: ReferenceLibrary) -> Recognition:
    """The library's exercise nearest to the performance (xy_torso: (T, 33, 2) torso lengths). A
    clip whose torso is past horizontal in more than `UPRIGHT_MAX_PAST_HORIZONTAL` of its frames
    is matched only against exercises that are not upright (a push-up filmed from in front of
    the head had read as a squat): no squat, press or pull-up puts the shoulders below the hips."""
    templates = []
    for meta in library.list():
        if meta.exercise not in EXERCISES:
            continue
        templates.append((meta.id, meta.exercise, _ref_features(library.get(meta.id))))
    if past_horizontal_share(xy_torso) > UPRIGHT_MAX_PAST_HORIZONTAL:
        lying = [t for t in templates if not EXERCISES[t[1]].upright]
        templates = lying or templates
    return recognize(clip_features(xy_torso), templates)


#: Built-in references filmed from a camera between the side and the front (`bodymodel.CAMERAS`).
IN_BETWEEN_BUILTINS = frozenset(builtin_id(e, v, c) for e, v, c in builtin_entries() if c == "oblique")


def choose_reference(
    library: ReferenceLibrary, exercise: str, view: str, xy_torso: np.ndarray | None = None
) -> ReferenceMeta:
    """Same exercise and view first (built-ins before user ones), else the same exercise.

    Built-ins of one view can differ by camera place (a tripod, a phone on the floor): given the
    performance (xy_torso, (T, 33, 2) torso lengths), the built-in of that view whose posture
    statistics are nearest (`recognize.clip_features`) is chosen, so angles are compared as the
    same camera would see them."""
    same = library.find(exercise=exercise, view=view) or library.find(exercise=exercise)
    if not same:
        raise ReferenceLibraryError(f"expected a reference for {exercise!r} in the library, found none")
    same.sort(key=lambda m: (not library.is_builtin(m.id), m.id))
    builtins = [m for m in same if library.is_builtin(m.id) and m.view == same[0].view]
    if xy_torso is not None and len(builtins) > 1:
        feats = clip_features(xy_torso)
        dist = [feature_distance(feats, _ref_features(library.get(m.id))) for m in builtins]
        if np.isfinite(dist).any():
            return builtins[int(np.argmin(dist))]
    return same[0]


def reference_reps(ref: Reference) -> tuple[Rep, ...]:
    ts = ref.poses.timestamps_s
    out = []
    for k, (a, p, b) in enumerate(ref.meta.rep_bounds_s):
        fa, fp, fb = (int(np.clip(np.searchsorted(ts, t), 0, len(ts) - 1)) for t in (a, p, b))
        out.append(Rep(index=k + 1, start_frame=fa, peak_frame=fp, end_frame=fb,
                       start_s=float(ts[fa]), peak_s=float(ts[fp]), end_s=float(ts[fb]), depth=1.0, partial=False))
    return tuple(out)


# --- the pipeline -----------------------------------------------------------------------------


def _frame_rate(timestamps_s: np.ndarray) -> float | None:
    """Frames a second from the typical spacing of the frames (None under 3 frames): a 60 fps clip
    analysed every 2nd frame reads 30, and wrong container metadata does not count."""
    dt = np.diff(np.asarray(timestamps_s, dtype=np.float64))
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size >= 2 else None


def count_exercise_reps(poses: PoseSequence, exercise: ExerciseDef | None, settings: AnalysisSettings) -> RepResult:
    """Reps from the exercise's main signal; the generic periodicity counter when the exercise is
    unknown or its signal is mostly unseen (`count_reps_checked` also asks the video's motion)."""
    scale = robust_scale_px(poses.xy)
    if not np.isfinite(scale):
        return count_reps_generic(poses.xy, poses.timestamps_s, fps=poses.fps, settings=settings.reps)
    xy = poses.xy / scale
    return count_reps_pose(
        xy, poses.timestamps_s, fps=poses.fps,
        signal_fn=exercise.signal if exercise is not None else None,
        settings=exercise.rep_settings(settings.reps) if exercise is not None else settings.reps,
    )


@dataclass(frozen=True)
class CheckedCount:
    """A rep count checked against the video's motion (`count_reps_checked`).

    reps: the pose's reps, which the comparison scores; flow: the optical-flow count (reps timed on
    the video's frames) when it replaced the pose's as the count, else None; note: the warning that
    says so."""

    reps: RepResult
    flow: RepResult | None = None
    note: str | None = None

    @property
    def count(self) -> int:
        return self.flow.count if self.flow is not None else self.reps.count

    @property
    def method(self) -> str:
        return self.flow.method if self.flow is not None else self.reps.method


def count_reps_checked(
    cleaned: CleanResult, exercise: ExerciseDef | None, settings: AnalysisSettings, video: VideoInfo | None
) -> CheckedCount:
    """The reps of `count_exercise_reps`, with the optical-flow count as the count when the pose
    count is the doubtful one (`flow_check`). The pose's reps stay the ones scored: where the pose
    lost the person, a rep's joints cannot be judged, only counted."""
    reps = count_exercise_reps(cleaned.poses, exercise, settings)
    flow = flow_check(video, cleaned.poses, cleaned.person_frames, reps)
    if flow is None:
        return CheckedCount(reps)
    note = (f"{flow.count} rep{'s' if flow.count != 1 else ''} counted from the motion in the video: the pose model "
            f"lost you in {1 - cleaned.person_frames:.0%} of the frames and counted {reps.count} "
            f"(the scores cover the rep{'s' if reps.count != 1 else ''} it counted)")
    return CheckedCount(reps, flow, note)


def analyze_poses(
    raw: PoseSequence,
    *,
    library: ReferenceLibrary | None = None,
    reference_id: str | None = None,
    exercise: str | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    source: str = "",
    video: VideoInfo | None = None,
    timings: dict[str, float] | None = None,
    progress: StageProgress | None = None,
) -> Analysis:
    """Clean, recognise, count, compare and coach one performance."""
    lib = library or ReferenceLibrary()
    timings = dict(timings or {})
    t0 = time.perf_counter()
    cleaned = clean_poses(raw, settings.clean)
    poses = cleaned.poses
    if cleaned.person_frames == 0:
        raise PoseError(f"{source or 'input'}: no person found in any frame — film one person, whole body in view")
    if cleaned.person_frames < MIN_PERSON_SHARE:
        raise PoseError(
            f"{source or 'input'}: a person was found in only {100 * cleaned.person_frames:.0f}% of the frames "
            f"(expected at least {100 * MIN_PERSON_SHARE:.0f}%)"
        )
    core = _source_core(raw)
    if np.nanmean(cleaned.coverage[core]) < 0.3:
        raise PoseError(f"{source or 'input'}: the body is mostly out of frame or hidden — keep head to feet in view")
    scale = robust_scale_px(poses.xy)
    xy_t = poses.xy / scale
    view = view_of(poses)
    timings["clean"] = time.perf_counter() - t0
    if progress:
        progress("analysis", 1, 4)

    t0 = time.perf_counter()
    recog = None
    if reference_id:
        candidates = [lib.get(reference_id).meta]
        ex_def = get_exercise(exercise or candidates[0].exercise)
    else:
        if exercise:
            ex_def = get_exercise(exercise)
        else:
            recog = recognize_exercise(xy_t, lib)
            ex_def = get_exercise(recog.exercise)
        candidates = [choose_reference(lib, ex_def.id, view.view, xy_t)]
        if view.confidence < VIEW_SURE:
            # in-between camera angle: let the comparison decide which view's reference is closer
            other = "front" if view.view == "side" else "side"
            alt = choose_reference(lib, ex_def.id, other, xy_t)
            if alt.id != candidates[0].id:
                candidates.append(alt)
        # a built-in filmed at an angle between the views is a candidate from the other view too (in
        # its own, `choose_reference` weighs it already): a push-up filmed from 45° reads as a clear
        # front view by what the pose model sees of each side; the comparison decides
        candidates += [m for m in lib.find(exercise=ex_def.id) if m.id in IN_BETWEEN_BUILTINS
                       and m.view != view.view and all(m.id != c.id for c in candidates)]
    timings["recognize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    checked = count_reps_checked(cleaned, ex_def, settings, video)
    reps = checked.reps
    timings["reps"] = time.perf_counter() - t0
    if progress:
        progress("analysis", 2, 4)

    t0 = time.perf_counter()
    best = None
    for meta in candidates:
        ref_c = lib.get(meta.id)
        ref_clean_c = clean_poses(ref_c.poses, settings.clean).poses
        ref_view = detect_view(ref_clean_c.xy)
        comp_c = compare(
            poses, ref_clean_c, ex_def,
            user_reps=reps.reps, ref_reps=reference_reps(ref_c),
            user_facing=view.facing,
            ref_facing=meta.facing if meta.facing in ("left", "right") else ref_view.facing,
            view=meta.view if len(candidates) > 1 else (view.view if view.view == meta.view else "mixed"),
            settings=settings.compare, oblique=view.oblique,
        )
        if best is None or (np.isfinite(comp_c.score) and not comp_c.score <= best[2].score):
            best = (meta, ref_c, comp_c, ref_clean_c)
    ref_meta, ref, comp, ref_clean = best
    if len(candidates) > 1 and ref_meta.view != view.view:
        # the uncertain view is settled by which reference the performance matched; one filmed at an
        # angle makes it a side view at an angle (the rules that need a true profile are skipped)
        facing = side_facing(poses.xy) if ref_meta.view == "side" else "camera"
        view = ViewEstimate(ref_meta.view, view.confidence, facing, view.width_ratio,
                            view.oblique or ref_meta.id in IN_BETWEEN_BUILTINS)
    findings: list[tuple[int, float, RuleFinding]] = []
    faults: dict[int, list[tuple[str, float]]] = {}
    half = max(1, round(RULE_PEAK_WINDOW_S * poses.fps / 2))
    for rep in reps.reps:
        rep_xy = xy_t[rep.start_frame : rep.end_frame + 1]
        # the pose at the working extreme, median over a few frames: one glitched frame (a torso
        # "leaning" 164 deg) must not fail a rep
        around = xy_t[max(rep.start_frame, rep.peak_frame - half) : min(rep.end_frame, rep.peak_frame + half) + 1]
        with warnings_module.catch_warnings():
            warnings_module.simplefilter("ignore", RuntimeWarning)  # a landmark unseen in every frame stays NaN
            peak_xy = np.nanmedian(around, axis=0)
        for rule in ex_def.rules:
            f = rule.check(peak_xy, rep_xy, "oblique" if view.oblique else view.view)
            if f is not None:
                findings.append((rep.index, rep.peak_s, f))
                faults.setdefault(rep.index, []).append((f.rule, f.severity))
    for rep_index, peak_s, f in rushed_reps(comp, ex_def):
        findings.append((rep_index, peak_s, f))
        faults.setdefault(rep_index, []).append((f.rule, f.severity))
    comp = _with_threshold(apply_rule_faults(comp, faults, settings.compare), settings)
    if recog is not None and recog.confidence < GUESS_BELOW:
        # a boxing clip "passed" as a squat: no praise (or blame) for a move that was only guessed
        comp = dataclasses.replace(comp, verdict="unsure")
    timings["compare"] = time.perf_counter() - t0
    if progress:
        progress("analysis", 3, 4)

    t0 = time.perf_counter()
    cues = build_cues(comp, ex_def, findings)
    w, h = poses.frame_size
    raw_xy = raw.xy[:, list(ex_def.key_landmarks)]
    seen = np.isfinite(raw_xy[..., 0])
    outside = seen & ((raw_xy[..., 0] < 0) | (raw_xy[..., 0] > w) | (raw_xy[..., 1] < 0) | (raw_xy[..., 1] > h))
    person = seen.any(axis=1)
    out_share = float(outside.any(axis=1)[person].mean()) if person.any() else 0.0
    hips = midpoint(xy_t, MID_HIP)
    jumps = np.linalg.norm(np.diff(hips, axis=0), axis=-1)
    warnings = camera_warnings(
        person_frames=cleaned.person_frames,
        coverage=cleaned.coverage,
        key_landmarks=tuple(int(j) for j in ex_def.key_landmarks),
        out_of_frame=out_share,
        view=view.view,
        exercise=ex_def,
        view_confidence=view.confidence,
        identity_jumps=int(np.nansum(jumps > 1.0)),
        others_seen=others_in_view(raw.meta.get("others") if isinstance(raw.meta, dict) else None),
        long_gaps_s=_lost_time_s(cleaned, ex_def),
        excluded=comp.excluded,
        oblique=view.oblique,
        frame_rate=_frame_rate(poses.timestamps_s),
    )
    if recog is not None and recog.confidence < GUESS_BELOW:
        warnings.append(
            f"not sure this is a {ex_def.label.lower()} (confidence {recog.confidence:.0%}): no pass or fail "
            "until you pick the exercise"
        )
    elif recog is not None and recog.confidence < 0.5:
        warnings.append(
            f"not sure this is a {ex_def.label.lower()} (confidence {recog.confidence:.0%}) — pick the exercise to be sure"
        )
    if checked.count == 0:
        warnings.append("no complete repetition found")
    if checked.note:
        warnings.append(checked.note)
    cut = _truncation_warning(raw, video)
    if cut:
        warnings.append(cut)
    if ref_meta.view != view.view and view.view in ("front", "side"):
        warnings.append(f"the reference is filmed from the {ref_meta.view}, you from the {view.view}: scores are less reliable")
    angles = joint_angles(poses.xy)
    arms = moment_arms(poses.xy / scale if view.facing != "left" else _flip_x(poses.xy / scale))
    timings["feedback"] = time.perf_counter() - t0
    if progress:
        progress("analysis", 4, 4)
    return Analysis(
        source=source,
        poses=poses,
        clean=cleaned,
        exercise=ex_def,
        recognition=recog,
        view=view,
        reference=ref_meta,
        reference_poses=ref_clean,
        reps=reps,
        flow_reps=checked.flow,
        ref_reps=reference_reps(ref),
        comparison=comp,
        rule_findings=tuple(findings),
        cues=tuple(cues),
        warnings=tuple(warnings),
        angles=angles,
        moment_arms=arms,
        proportions=proportions(poses.xy),
        reference_proportions=proportions(ref_clean.xy),
        timings_s=timings,
        video=video,
    )


def flow_check(video: VideoInfo | None, poses: PoseSequence, person_share: float, reps: RepResult) -> RepResult | None:
    """The optical-flow rep count (`coach.flow`, in the box around every landmark seen) when the
    pose count is the doubtful one and flow's differs: the person was found in under
    FLOW_CHECK_BELOW_PERSON_SHARE of the frames, the pose count's confidence is under
    FLOW_CHECK_BELOW_CONFIDENCE and flow's is at least 0.2 higher. None otherwise, without a video
    file, for a clip over FLOW_CHECK_MAX_S, or when flow fails (it is a check: the analysis goes on).
    Flow's reps are timed on the video's frames."""
    if (video is None or person_share >= FLOW_CHECK_BELOW_PERSON_SHARE
            or reps.confidence >= FLOW_CHECK_BELOW_CONFIDENCE or not 0 < video.duration_s <= FLOW_CHECK_MAX_S):
        return None
    from coach.flow import person_roi

    try:
        st = Path(video.path).stat()
        flow = _flow_count(video.path, (st.st_size, st.st_mtime_ns), person_roi(poses.xy, poses.frame_size))
    except (CoachError, OSError, ValueError) as exc:
        log.warning("flow count failed: %s", exc)
        return None
    if flow.count == reps.count or flow.confidence < reps.confidence + 0.2:
        return None
    return flow


@functools.lru_cache(maxsize=8)
def _flow_count(path: str, _stamp: tuple[int, int], roi: tuple[float, float, float, float] | None) -> RepResult:
    """`coach.flow.count_reps_flow`, once per file version (size, mtime) and box: comparing the same
    upload with another reference analyses it again, and flow takes ~0.12 x its duration."""
    from coach.flow import count_reps_flow

    return count_reps_flow(path, roi=roi)


def _source_core(seq: PoseSequence) -> np.ndarray:
    """The core landmarks the sequence's source can provide: a keypoint file in a layout without
    heels and toes (COCO-17, Penn Action's 13 joints) is not "mostly out of frame" for lacking
    them. Before, such a file with the far side hidden (a side view) read as 5 of 17 seen and
    was refused, although it holds 5 of the 13 joints its layout has."""
    core = np.array([int(j) for j in CORE_LANDMARKS])
    layout = seq.meta.get("layout") if isinstance(seq.meta, dict) else None
    if layout in LAYOUTS:
        provided = mp_to_layout(layout)
        has = core[np.isin(core, provided[provided >= 0])]
        if has.size:
            return has
    return core


def _truncation_warning(raw: PoseSequence, video: VideoInfo | None) -> str | None:
    """The frames decoded end well before the duration the container states: an incomplete upload
    or copy. Only that part could be analysed, and the person should know."""
    if video is None or not video.duration_s or raw.n_frames == 0:
        return None
    got = raw.duration_s
    if got >= 0.9 * video.duration_s - 1.0 / raw.fps:
        return None
    return (f"the video stops after {got:.1f} s of its {video.duration_s:.1f} s — the file looks truncated "
            "(an unfinished upload or copy?); only that part was analysed")


def _lost_time_s(cleaned: CleanResult, ex_def: ExerciseDef) -> float:
    """Seconds during which a usually-seen key landmark was lost (union over landmarks); joints
    hidden most of the time (the far side in a side view) are reported apart, not here."""
    ts = cleaned.poses.timestamps_s
    lost = np.zeros(len(ts), dtype=bool)
    for g in cleaned.gaps:
        if g.landmark in ex_def.key_landmarks and cleaned.coverage[g.landmark] >= 0.5:
            lost |= (ts >= g.start_s) & (ts <= g.end_s)
    return float(lost.sum() / cleaned.poses.fps)


def _flip_x(xy: np.ndarray) -> np.ndarray:
    out = np.array(xy, dtype=np.float64)
    out[..., 0] = -out[..., 0]
    return out


def _with_threshold(comp: Comparison, settings: AnalysisSettings) -> Comparison:
    verdict = "pass" if np.isfinite(comp.score) and comp.score >= settings.compare.pass_threshold else "fail"
    return dataclasses.replace(comp, verdict=verdict)


# --- video entry point with a keypoint cache ----------------------------------------------------


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


PERSON_SEARCH_SAMPLES = 12  # frames judged per candidate window when the person is not found


def analysis_stride(fps: float, settings: AnalysisSettings = DEFAULT_SETTINGS) -> int:
    """Analyse every n-th frame so the analysed rate is about VideoSettings.max_analysis_fps at most
    (1 for ordinary 24-30 fps clips, 2 for 60 fps, 4 for 120 fps slow motion)."""
    if not (np.isfinite(fps) and fps > 0):
        return 1
    return max(1, round(fps / settings.video.max_analysis_fps))


def extract_video_poses(
    path: str | Path,
    *,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    estimator: PoseEstimator | None = None,
    progress: StageProgress | None = None,
    use_cache: bool = True,
) -> tuple[PoseSequence, VideoInfo, dict[str, float]]:
    """Landmarks of a video, from the content-hash cache when the same file was seen before."""
    path = Path(path)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = probe(path, max_bytes=settings.video.max_bytes, max_duration_s=settings.video.max_duration_s)
    timings["probe"] = time.perf_counter() - t0
    stride = analysis_stride(info.fps, settings)
    fps = info.fps / stride
    n_analysed = -(-info.frames_estimate // stride)  # about: container counts over-report for some files
    cache_file = None
    cached = None
    if use_cache and estimator is None:
        t0 = time.perf_counter()
        digest = file_sha256(path)
        every = f"-s{stride}" if stride > 1 else ""
        cache_file = data_home() / "cache" / f"{digest[:32]}-{settings.video.max_side_px}{every}-r{POSE_REVISION}{pose_cache_tag()}.npz"
        timings["hash"] = time.perf_counter() - t0
        if cache_file.exists():
            try:
                seq = PoseSequence.load_npz(cache_file)
                timings["pose"] = 0.0
                if _searched(seq):
                    return seq, info, timings
                cached = seq  # made before a search existed: search now, keep the better
            except Exception:  # a damaged cache entry is only a cache miss
                log.warning("ignoring unreadable cache entry %s", cache_file)
    t0 = time.perf_counter()

    def _p(done: int, total: int, stage: str = "pose") -> None:
        if progress:
            progress(stage, done, total or n_analysed)

    meta = {"source": path.name, "sha256_prefix": cache_file.stem if cache_file else None, "frame_stride": stride}

    def run(window: Window | None, quarter_turns: int = 0) -> PoseSequence:
        report = (lambda d, t: _p(d, t, "turn")) if quarter_turns else _p  # the turned pass is its own stage
        if estimator is None and settings.video.pose_workers > 1:
            return extract_video_parallel(
                path, fps=fps, frame_size=(info.width, info.height), frames_estimate=info.frames_estimate,
                max_side=settings.video.max_side_px, progress=report, meta=meta, window=window, stride=stride,
                quarter_turns=quarter_turns,
            )
        # a window or a turn is only searched for with the default model (estimator is None)
        est = estimator if estimator is not None else (window_estimator(window) if window else default_estimator())
        if quarter_turns:
            est = RotatedEstimator(est, quarter_turns)
        try:
            return extract_poses(
                prefetch(iter_frames(path, max_side=settings.video.max_side_px, stride=stride), size=4),
                fps=fps, frame_size=(info.width, info.height), estimator=est,
                total_frames=n_analysed, progress=report,
                meta={**meta, **({"window": list(window)} if window else {})},
            )
        finally:
            if estimator is None:
                est.close()

    seq = cached if cached is not None else run(None)
    if estimator is None and not seq.meta.get("person_search") and person_share(seq) < SEARCH_BELOW_PERSON_SHARE:
        # a far or small person: the detector may find them in a zoomed crop
        if progress:
            progress("search", 0, 1)
        samples = sample_frames(path, n=PERSON_SEARCH_SAMPLES, max_side=settings.video.max_side_px,
                                frames_estimate=info.frames_estimate)
        window = search_person_window(samples, progress=(lambda d, t: progress("search", d, t)) if progress else None)
        if window is not None:
            log.info("%s: person found in a zoomed window %s", path.name, window)
            zoomed = run(window)
            if person_share(zoomed) > person_share(seq):
                seq = zoomed
        seq = seq.replace(meta={**seq.meta, "person_search": 1})
    if estimator is None and not _searched(seq):
        if "window" not in seq.meta:  # a zoomed crop was needed: no turned search on top of it
            if progress:
                progress("turn", 0, n_analysed)
            seq = _fill_by_rotation(seq, lambda only: iter_frames(path, max_side=settings.video.max_side_px,
                                                                  stride=stride, only=only),
                                    lambda k: run(None, k))
        seq = seq.replace(meta={**seq.meta, "person_search": 1, "rotation_search": 1})
    timings["pose"] = time.perf_counter() - t0
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            seq.save_npz(cache_file)
        except OSError as exc:
            log.warning("could not write keypoint cache: %s", exc)
    return seq, info, timings


def _person_frames(seq: PoseSequence) -> np.ndarray:
    return np.isfinite(seq.xyz[..., 0]).any(axis=1)


def _searched(seq: PoseSequence) -> bool:
    """The zoomed-window and turned-frame searches have had their chance on seq, or it needs neither."""
    share = person_share(seq)
    return bool((seq.meta.get("person_search") or share >= SEARCH_BELOW_PERSON_SHARE)
                and (seq.meta.get("rotation_search") or share >= 1.0 - ROTATION_SEARCH_MISSING))


def _fill_by_rotation(
    seq: PoseSequence,
    frames: Callable[[Collection[int]], Iterable[tuple[float, np.ndarray]]],
    run_turned: Callable[[int], PoseSequence],
) -> PoseSequence:
    """Frames where tracking found nobody, filled from a run on turned frames when the detector
    finds the person there in the samples (`pose.search_rotation`; a lifter lying on a bench
    filmed from the feet). Frames with a person keep their landmarks. frames(indices): the
    analysed frames with those indices, upright."""
    seen = _person_frames(seq)
    missing = np.flatnonzero(~seen)
    if missing.size == 0:
        return seq
    pick = missing[np.unique(np.linspace(0, missing.size - 1, min(ROTATION_SEARCH_SAMPLES, missing.size)).round().astype(int))]
    samples = [rgb for _t, rgb in frames(pick.tolist())]
    k = search_rotation(samples)
    if k is None:
        return seq
    turned = run_turned(k)
    if turned.n_frames != seq.n_frames:
        log.warning("turned run gave %d frames, expected %d: not used", turned.n_frames, seq.n_frames)
        return seq
    fill = ~seen & _person_frames(turned)
    if not fill.any():
        return seq
    both = seen & _person_frames(turned)
    if both.sum() >= 5:
        # where both runs found the person they must agree, or the turned run found something else
        err = np.nanmedian(np.linalg.norm(seq.xy[both] - turned.xy[both], axis=-1), axis=1)
        err_torso = float(np.median(err) / robust_scale_px(seq.xy[both]))
        if not err_torso <= ROTATION_AGREE_TORSO:
            log.info("turned run disagrees with the upright one (%.2f torso lengths): not used", err_torso)
            return seq
    log.info("%s: %d frames without a person filled from frames turned %d quarter turns",
             seq.meta.get("source", "clip"), int(fill.sum()), k)
    xyz, vis = seq.xyz.copy(), seq.visibility.copy()
    xyz[fill], vis[fill] = turned.xyz[fill], turned.visibility[fill]
    return seq.replace(xyz=xyz, visibility=vis,
                       meta={**seq.meta, "rotation_fill_turns": k, "rotation_fill_frames": int(fill.sum())})


def analyze_video(
    path: str | Path,
    *,
    library: ReferenceLibrary | None = None,
    reference_id: str | None = None,
    exercise: str | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    estimator: PoseEstimator | None = None,
    progress: StageProgress | None = None,
    use_cache: bool = True,
) -> Analysis:
    seq, info, timings = extract_video_poses(
        path, settings=settings, estimator=estimator, progress=progress, use_cache=use_cache
    )
    return analyze_poses(
        seq, library=library, reference_id=reference_id, exercise=exercise, settings=settings,
        source=Path(path).name, video=info, timings=timings, progress=progress,
    )


__all__ = [
    "LANDMARK_NAMES",
    "Analysis",
    "analyze_poses",
    "analyze_video",
    "choose_reference",
    "extract_video_poses",
    "recognize_exercise",
    "view_of",
    "warm_up_analysis",
]
