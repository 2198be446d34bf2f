"""Results as data: a JSON-serialisable bundle of an `Analysis`, the tables and exports built from
it, and the one call a page makes to analyse an upload.

The bundle holds everything the results section shows (summary, time series, per-rep rows, body
map), so it can be re-rendered - or shared, or stored - without re-running the pose model. Arrays
are stored as lists with `None` for missing values; times are seconds from the first frame,
angles degrees (180 = straight limb), distances torso lengths.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coach.analysis import Analysis, analyze_poses, count_exercise_reps, extract_video_poses
from coach.errors import CoachError, PoseError
from coach.exercises import get_exercise
from coach.references import ReferenceLibrary, ReferenceMeta
from coach.schema import LANDMARK_NAMES, N_LANDMARKS
from coach.settings import DEFAULT_SETTINGS, AnalysisSettings

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "form-coach-results"
BUNDLE_VERSION = 1

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".webm", ".avi", ".m4v", ".mkv")
KEYPOINT_SUFFIXES: tuple[str, ...] = (".npz", ".csv", ".zip", ".npy")

YOU = "You"
REFERENCE = "Reference"


def clip_rate_text(summary: Mapping) -> str:
    """"13.1 s at 30 fps", or for a fast clip analysed on every n-th frame both rates: "13.1 s
    filmed at 60 fps, analysed at 30"."""
    dur, fps = float(summary.get("duration_s") or 0.0), float(summary.get("fps") or 0.0)
    stride = int(summary.get("frame_stride") or 1)
    if stride > 1:
        return f"{dur:.1f} s filmed at {fps * stride:.0f} fps, analysed at {fps:.0f}"
    return f"{dur:.1f} s at {fps:.0f} fps"


def label(name: str) -> str:
    """"right_knee" -> "Right knee" (angle, landmark, body part or segment names)."""
    return name.replace("_", " ").capitalize()


def verdict_label(verdict: str) -> str:
    return {"pass": "Pass", "fail": "Needs work", "unsure": "Unsure"}.get(verdict, verdict.capitalize())


# --- JSON hygiene ------------------------------------------------------------------------------


def _clean(x):
    """Recursively: numpy -> Python, NaN/inf -> None, tuples -> lists (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _series(a: np.ndarray, digits: int = 3) -> list[float | None]:
    arr = np.asarray(a, dtype=np.float64)
    return [round(float(v), digits) if np.isfinite(v) else None for v in arr.ravel()]


def _arr(values) -> np.ndarray:
    """A bundle list back to a float array (None -> NaN)."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


# --- the bundle ----------------------------------------------------------------------------------


def _body_map(a: Analysis) -> dict:
    """The user's pose at the working extreme of the lowest-scoring rep, each joint with its mean
    severity (deviation / tolerance) over that rep; hidden joints are filled from the nearest frame
    where they were seen and marked not judged (NaN -> grey)."""
    from coach.overlay import overlay_tracks

    sev, _ghost, _captions = overlay_tracks(a)
    xy = np.asarray(a.poses.xy, dtype=np.float64)
    t = xy.shape[0]
    comp = a.comparison
    reps = list(a.reps.reps)
    frame, lo, hi, rep_no = int(t // 2), 0, t - 1, None
    if reps:
        scores = {rs.index: rs.score for rs in comp.rep_scores}
        worst = min(reps, key=lambda r: (scores.get(r.index, np.inf) if np.isfinite(scores.get(r.index, np.inf)) else np.inf))
        frame, lo, hi, rep_no = worst.peak_frame, worst.start_frame, worst.end_frame, worst.index
    window = sev[lo : hi + 1]
    cnt = np.isfinite(window).sum(axis=0)
    mean_sev = np.where(cnt > 0, np.nansum(np.where(np.isfinite(window), window, 0.0), axis=0) / np.maximum(cnt, 1), np.nan)
    pose = xy[min(frame, t - 1)].copy()
    seen = np.isfinite(xy[..., 0])
    for j in range(N_LANDMARKS):
        if np.isfinite(pose[j]).all():
            continue
        frames = np.flatnonzero(seen[:, j])
        if frames.size:
            pose[j] = xy[frames[np.argmin(np.abs(frames - frame))], j]
        mean_sev[j] = np.nan  # not seen at that moment: not judged on the map
    time_s = float(a.poses.timestamps_s[min(frame, t - 1)])
    return {
        "xy": [_series(p, 2) for p in pose],
        "severity": _series(mean_sev, 2),
        "frame_size": list(a.poses.frame_size),
        "frame": int(frame),
        "time_s": round(time_s, 2),
        "rep": rep_no,
    }


def analysis_to_bundle(a: Analysis, *, pass_threshold: float | None = None) -> dict:
    """Everything the results section renders, as strict JSON (no NaN)."""
    comp = a.comparison
    summary = a.to_dict()
    if pass_threshold is not None:
        summary["pass_threshold"] = pass_threshold
    elif summary.get("pass_threshold") is None:
        summary["pass_threshold"] = DEFAULT_SETTINGS.compare.pass_threshold
    uf = np.clip(np.asarray(comp.user_frames, dtype=np.intp), 0, a.poses.n_frames - 1)
    names = list(comp.angle_names)
    series = {
        "time_s": _series(comp.times_s, 3),
        "similarity": _series(comp.similarity, 4),
        "angle_names": names,
        "judged_angles": list(comp.judged_angles),
        "user_angles": {n: _series(comp.user_angles[:, k], 1) for k, n in enumerate(names)},
        "ref_angles": {n: _series(comp.ref_angles[:, k], 1) for k, n in enumerate(names)},
        "tolerance_deg": {n: round(float(comp.tolerance_deg[k]), 2) for k, n in enumerate(names)},
        "moment_arm": {k: _series(np.asarray(v)[uf], 3) for k, v in a.moment_arms.items()},
    }
    ex = a.exercise
    bundle = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "summary": summary,
        "exercise": {
            "id": ex.id, "label": ex.label, "peak_name": ex.peak_name, "start_name": ex.start_name,
            "key_landmarks": [LANDMARK_NAMES[int(j)] for j in ex.key_landmarks],
        },
        "series": series,
        "body_map": _body_map(a),
    }
    out = _clean(bundle)
    json.dumps(out, allow_nan=False)  # fail here, not in a download button, if anything slipped through
    return out


def check_bundle(bundle: object) -> dict:
    """Validate a bundle read back from JSON (format, version, sections)."""
    if not isinstance(bundle, dict):
        raise CoachError(f"results: expected a JSON object, got {type(bundle).__name__}")
    if bundle.get("format") != BUNDLE_FORMAT:
        raise CoachError(f"results: expected format {BUNDLE_FORMAT!r}, got {bundle.get('format')!r}")
    if bundle.get("version") != BUNDLE_VERSION:
        raise CoachError(f"results: expected version {BUNDLE_VERSION}, got {bundle.get('version')!r}")
    missing = [k for k in ("summary", "exercise", "series", "body_map") if not isinstance(bundle.get(k), dict)]
    if missing:
        raise CoachError(f"results: expected sections summary, exercise, series, body_map; missing {missing}")
    return bundle


def bundle_to_json(bundle: Mapping) -> str:
    return json.dumps(bundle, indent=1, allow_nan=False)


def bundle_from_json(text: str | bytes) -> dict:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CoachError(f"results: expected JSON, got a syntax error ({exc})") from exc
    return check_bundle(data)


# --- tables ------------------------------------------------------------------------------------


def phase_names(bundle: Mapping) -> tuple[str, str, str]:
    """Labels of the three tempo phases, in the exercise's own words."""
    peak = bundle["exercise"]["peak_name"]
    return f"to the {peak}", f"back from the {peak}", f"pause at the {peak}"


def rep_table_note(bundle: Mapping) -> str | None:
    """What the per-rep table leaves out: when the count came from the video's motion, only the reps
    the pose model counted are scored. None otherwise."""
    s = bundle["summary"]
    scored = len(s.get("rep_details") or [])
    if s.get("rep_method") != "flow" or scored == int(s.get("reps") or 0):
        return None
    return (f"{scored} of the {s.get('reps')} reps are scored: the count comes from the motion in the video, "
            "and the pose model followed you through only these.")


def rep_table(bundle: Mapping) -> pd.DataFrame:
    """One row per counted rep: times (s), score (0-100), similarity (0-1), worst body part, textbook
    form faults, tempo (s)."""
    peak = bundle["exercise"]["peak_name"]
    to_p, from_p, _pause = phase_names(bundle)
    rows = []
    for r in bundle["summary"].get("rep_details", []):
        tempo = r.get("tempo") or {}
        rows.append({
            "Rep": r["rep"],
            "Start (s)": r["start_s"],
            f"{peak.capitalize()} (s)": r["peak_s"],
            "End (s)": r["end_s"],
            "Score": r["score"],
            "Similarity": r["similarity"],
            "Worst part": label(r["worst_part"]) if r.get("worst_part") else "-",
            # textbook rules broken in the rep (they lowered its score); older saved results lack them
            "Form faults": ", ".join(f.replace("_", " ") for f in r.get("rule_faults") or ()) or "-",
            f"Time {to_p} (s)": tempo.get("to_peak_s"),
            f"Time {from_p} (s)": tempo.get("from_peak_s"),
            f"Pause at the {peak} (s)": tempo.get("pause_s"),
        })
    # the score first and the faults next to it: the table is wider than its column in the page,
    # and a score bar pushed to the right edge lost its number (seen at 1100 px)
    cols = ["Rep", "Score", "Form faults", "Start (s)", f"{peak.capitalize()} (s)", "End (s)", "Similarity",
            "Worst part", f"Time {to_p} (s)", f"Time {from_p} (s)", f"Pause at the {peak} (s)"]
    return pd.DataFrame(rows, columns=cols)


def rep_spans_frame(bundle: Mapping) -> pd.DataFrame:
    """rep, start_s, end_s, score, label: one row per counted rep (for shading)."""
    rows = [
        {"rep": r["rep"], "start_s": r["start_s"], "end_s": r["end_s"], "score": r["score"], "label": f"rep {r['rep']}"}
        for r in bundle["summary"].get("rep_details", []) if r.get("rep")
    ]
    return pd.DataFrame(rows, columns=["rep", "start_s", "end_s", "score", "label"])


def angles_frame(bundle: Mapping, *, names: list[str] | None = None) -> pd.DataFrame:
    """Long form: time_s, angle (label), angle_id, who (You/Reference), deg, lo, hi. Judged angles
    only (the others were hidden); lo/hi = reference ± its tolerance, on the reference rows."""
    s = bundle["series"]
    t = _arr(s["time_s"])
    keep = [n for n in (names or s["judged_angles"]) if n in s["judged_angles"]]
    parts = []
    for n in keep:
        ua, ra = _arr(s["user_angles"][n]), _arr(s["ref_angles"][n])
        tol = float(s["tolerance_deg"].get(n) or np.nan)
        for who, v in ((YOU, ua), (REFERENCE, ra)):
            df = pd.DataFrame({"time_s": t, "angle": label(n), "angle_id": n, "who": who, "deg": v})
            # the band stays inside what the angle can be (joint angles 0-180°, lean -90..90°)
            lo_max, hi_max = (-90.0, 90.0) if n == "trunk_lean" else (0.0, 180.0)
            df["lo"] = np.clip(ra - tol, lo_max, hi_max) if who == REFERENCE else np.nan
            df["hi"] = np.clip(ra + tol, lo_max, hi_max) if who == REFERENCE else np.nan
            parts.append(df)
    if not parts:
        return pd.DataFrame(columns=["time_s", "angle", "angle_id", "who", "deg", "lo", "hi"])
    return pd.concat(parts, ignore_index=True)


def similarity_frame(bundle: Mapping) -> pd.DataFrame:
    """time_s, similarity (cosine 0-1, NaN where no pose), rep (0 = between reps)."""
    s = bundle["series"]
    t = _arr(s["time_s"])
    rep = np.zeros(len(t), dtype=int)
    for r in bundle["summary"].get("rep_details", []):
        if r.get("rep"):
            rep[(t >= r["start_s"] - 1e-6) & (t <= r["end_s"] + 1e-6)] = r["rep"]
    return pd.DataFrame({"time_s": t, "similarity": _arr(s["similarity"]), "rep": rep})


def dtw_frame(bundle: Mapping) -> tuple[pd.DataFrame, list[str]]:
    """(keypoint, landmark, distance, key) rows sorted worst first, and the labels of the keypoints
    left out because they were hidden (no distance)."""
    d = bundle["summary"].get("per_keypoint_dtw") or {}
    key = set(bundle["exercise"].get("key_landmarks", []))
    rows, hidden = [], []
    for name in LANDMARK_NAMES:
        v = d.get(name)
        if v is None:
            if name in d:
                hidden.append(label(name))
            continue
        rows.append({"keypoint": label(name), "landmark": name, "distance": float(v), "key": name in key})
    df = pd.DataFrame(rows, columns=["keypoint", "landmark", "distance", "key"])
    return df.sort_values("distance", ascending=False, ignore_index=True), hidden


def tempo_cut(tempo: Mapping | None) -> bool:
    """A rep's tempo (bundle form) with a phase the clip cut off (None); False for no tempo at all
    (results saved before tempos existed)."""
    return bool(tempo) and (tempo.get("to_peak_s") is None or tempo.get("from_peak_s") is None)


def tempo_frame(bundle: Mapping) -> pd.DataFrame:
    """rep (label), rep_index, phase, who (You/Reference), seconds: grouped-bar rows."""
    phases = phase_names(bundle)
    rows = []
    for r in bundle["summary"].get("rep_details", []):
        tempo = r.get("tempo") or {}
        rep_lbl = f"Rep {r['rep']}" if r.get("rep") else "Whole clip"
        for phase, u_key, r_key in zip(phases, ("to_peak_s", "from_peak_s", "pause_s"),
                                       ("ref_to_peak_s", "ref_from_peak_s", "ref_pause_s"), strict=True):
            for who, key in ((YOU, u_key), (REFERENCE, r_key)):
                v = tempo.get(key)
                if v is not None:
                    rows.append({"rep": rep_lbl, "rep_index": r["rep"], "phase": phase, "who": who, "seconds": float(v)})
    return pd.DataFrame(rows, columns=["rep", "rep_index", "phase", "who", "seconds"])


def moment_arm_frame(bundle: Mapping) -> pd.DataFrame:
    """time_s, joint (Hip/Knee), torso_lengths (+ = in front of the mid-foot)."""
    s = bundle["series"]
    t = _arr(s["time_s"])
    parts = [
        pd.DataFrame({"time_s": t, "joint": label(k), "torso_lengths": _arr(v)})
        for k, v in (s.get("moment_arm") or {}).items()
    ]
    if not parts:
        return pd.DataFrame(columns=["time_s", "joint", "torso_lengths"])
    return pd.concat(parts, ignore_index=True)


def proportions_frame(bundle: Mapping) -> pd.DataFrame:
    """segment, who, ratio (segment length / torso length); unseen segments are left out."""
    summ = bundle["summary"]
    rows = []
    for who, key in ((YOU, "proportions"), (REFERENCE, "reference_proportions")):
        for seg, v in (summ.get(key) or {}).items():
            if v is not None:
                rows.append({"segment": label(seg), "who": who, "ratio": float(v)})
    return pd.DataFrame(rows, columns=["segment", "who", "ratio"])


def timeseries_frame(bundle: Mapping) -> pd.DataFrame:
    """Wide per-frame table for the CSV export: time, rep, similarity, every angle (you and the
    time-aligned reference), moment arms."""
    s = bundle["series"]
    df = similarity_frame(bundle)[["time_s", "rep", "similarity"]].copy()
    for n in s["angle_names"]:
        df[f"{n}_deg"] = _arr(s["user_angles"][n])
        df[f"ref_{n}_deg"] = _arr(s["ref_angles"][n])
    for k, v in (s.get("moment_arm") or {}).items():
        df[f"moment_arm_{k}_torso"] = _arr(v)
    return df


def reps_csv(bundle: Mapping) -> str:
    return rep_table(bundle).to_csv(index=False)


def timeseries_csv(bundle: Mapping) -> str:
    return timeseries_frame(bundle).to_csv(index=False, float_format="%.4g")


def body_map_image(bundle: Mapping, *, size: tuple[int, int] = (360, 480)) -> np.ndarray:
    """(H, W, 3) uint8 RGB body map: skeleton with joints coloured by deviation, hidden ones grey."""
    from coach.render import render_pose_image

    bm = bundle["body_map"]
    xy = np.array([[np.nan if c is None else c for c in p] for p in bm["xy"]], dtype=np.float64)
    sev = _arr(bm["severity"])
    return render_pose_image(xy, tuple(bm["frame_size"]), severity=sev, size=size)


def body_map_caption(bundle: Mapping) -> str:
    bm = bundle["body_map"]
    peak = bundle["exercise"]["peak_name"]
    when = f"rep {bm['rep']} (lowest score) at the {peak}, {bm['time_s']:.1f} s" if bm.get("rep") else f"{bm['time_s']:.1f} s"
    return f"Your pose: {when}. Joint colour = deviation from the reference: green within tolerance, amber up to 2×, red beyond, grey not judged (hidden)."


# --- progress ------------------------------------------------------------------------------------

STAGE_LABELS: Mapping[str, str] = {
    "pose": "Finding your pose",
    "search": "No one found at full frame — looking closer",
    "turn": "You were missed in some frames — looking again with the frames turned",
    "analysis": "Comparing with the reference",
    "render": "Drawing the annotated video",
}


class ProgressText:
    """Turn engine progress(stage, done, total) into (fraction 0-1, one-line text) for a progress
    bar, with frames done and an estimate of the time left; calls `sink` at most every
    `min_interval_s` seconds (always at a stage's start and end)."""

    def __init__(self, sink: Callable[[float, str], None], *, min_interval_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._stage: str | None = None
        self._t0 = 0.0
        self._last = -math.inf

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage != self._stage:
            self._stage, self._t0, self._last = stage, now, -math.inf
        finished = total > 0 and done >= total
        if now - self._last < self.min_interval_s and not finished and done > 1:
            return
        self._last = now
        self.sink(*self.describe(stage, done, total, now - self._t0))

    @staticmethod
    def describe(stage: str, done: int, total: int, elapsed_s: float) -> tuple[float, str]:
        name = STAGE_LABELS.get(stage, stage.capitalize())
        if total <= 0:
            return 0.0, f"{name}: {done} frames"
        frac = min(max(done / total, 0.0), 1.0)
        unit = {"analysis": "steps", "search": "windows"}.get(stage, "frames")
        text = f"{name}: {done} / {total} {unit}"
        if 0 < frac < 1 and elapsed_s > 0.5:
            left = elapsed_s / frac * (1 - frac)
            text += f" · about {left:.0f} s left" if left >= 1 else " · almost done"
        return frac, text


# --- running an upload ---------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """The base name of an uploaded file, reduced to safe characters (keeps the suffix)."""
    base = Path(str(name).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", stem).strip(" .") or "upload"
    suffix = re.sub(r"[^a-z0-9.]+", "", suffix)
    return (stem[:80] + suffix) if suffix else stem[:80]


def input_kind(filename: str) -> str:
    """"video" or "keypoints" from the file suffix; CoachError for anything else."""
    suffix = Path(filename).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in KEYPOINT_SUFFIXES:
        return "keypoints"
    raise CoachError(
        f"{Path(filename).name}: expected a video ({', '.join(s[1:] for s in VIDEO_SUFFIXES)}) or a keypoint "
        f"file ({', '.join(s[1:] for s in KEYPOINT_SUFFIXES)}), got {suffix or 'no suffix'}"
    )


def save_upload(data: bytes, filename: str, directory: str | Path) -> Path:
    """Write uploaded bytes under their (sanitised) name in `directory`; returns the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / safe_filename(filename)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


SCRATCH_PREFIX = "form-coach-session-"


def sweep_scratch_dirs(root: str | Path | None = None, *, max_idle_s: float = 24 * 3600.0,
                       prefix: str = SCRATCH_PREFIX) -> list[Path]:
    """Delete the per-session scratch folders (uploads, annotated videos) in `root` (the system's
    temp folder) that nothing has touched for `max_idle_s` seconds; returns what was removed.
    Uploads are personal data: they must not pile up in /tmp for ever."""
    import shutil
    import tempfile

    root = Path(root or tempfile.gettempdir())
    now = time.time()
    removed = []
    for d in root.glob(prefix + "*"):
        if not d.is_dir() or d.is_symlink():
            continue
        try:
            newest = max([d.stat().st_mtime] + [f.stat().st_mtime for f in d.rglob("*")])
        except OSError:
            continue  # vanished while we looked: another process swept it
        if now - newest > max_idle_s:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


@dataclass(frozen=True)
class UploadResult:
    """analysis: the engine's result; bundle: what the results section renders; annotated_video:
    the H.264 clip (None when not asked for); kind: "video" or "keypoints"."""

    analysis: Analysis
    bundle: dict
    annotated_video: Path | None
    kind: str


def load_input(path: str | Path, *, settings: AnalysisSettings = DEFAULT_SETTINGS, progress=None):
    """(raw poses, video info or None, timings) of a video or keypoint file."""
    path = Path(path)
    kind = input_kind(path.name)
    if kind == "keypoints":
        from coach.importers import load_keypoints

        return load_keypoints(path), None, {}
    return extract_video_poses(path, settings=settings, progress=progress)


def run_upload_analysis(
    path: str | Path,
    *,
    library: ReferenceLibrary,
    reference_id: str | None = None,
    exercise: str | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    annotated_path: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> UploadResult:
    """Analyse an uploaded video or keypoint file (poses are cached by content hash by the engine),
    build the results bundle and, if `annotated_path` is given, write the annotated H.264 video.
    Raises CoachError (or ValueError for an unknown exercise) with a one-line message."""
    path = Path(path)
    kind = input_kind(path.name)
    seq, info, timings = load_input(path, settings=settings, progress=progress)
    a = analyze_poses(
        seq, library=library, reference_id=reference_id, exercise=exercise, settings=settings,
        source=path.name, video=info, timings=timings, progress=progress,
    )
    bundle = analysis_to_bundle(a, pass_threshold=settings.compare.pass_threshold)
    out = None
    if annotated_path is not None:
        from coach.overlay import write_annotated_video

        out = Path(annotated_path)
        t0 = time.perf_counter()

        def vp(done: int, total: int) -> None:
            if progress:
                progress("render", done, total or a.poses.n_frames)

        write_annotated_video(a, out, video_path=path if kind == "video" else None, progress=vp)
        bundle["summary"]["timings_s"]["render"] = round(time.perf_counter() - t0, 3)
    return UploadResult(a, bundle, out, kind)


def add_reference_from_file(
    path: str | Path,
    *,
    library: ReferenceLibrary,
    name: str,
    performer: str,
    exercise: str,
    view: str,
    licence: str = "user's own recording",
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReferenceMeta:
    """Add a user reference from a video or keypoint file: clean the poses, count the reps of
    `exercise` (at least one complete rep is required) and save it under a new id."""
    from coach.analysis import view_of
    from coach.clean import clean_poses

    path = Path(path)
    ex = get_exercise(exercise)
    if not isinstance(performer, str) or not performer.strip():
        raise CoachError("new reference: expected a performer name, got an empty one")
    seq, _info, _t = load_input(path, settings=settings, progress=progress)
    cleaned = clean_poses(seq, settings.clean)
    if cleaned.person_frames < 0.5:
        raise PoseError(f"{path.name}: a person was found in only {100 * cleaned.person_frames:.0f}% of the frames "
                        f"(expected at least 50% for a reference)")
    reps = count_exercise_reps(cleaned.poses, ex, settings)
    if reps.count == 0:
        raise PoseError(f"{path.name}: expected at least one complete {ex.label.lower()} repetition, found none")
    est = view_of(cleaned.poses)
    facing = est.facing if view == "side" and est.facing in ("left", "right") else ("camera" if view == "front" else "unknown")
    return library.add(
        cleaned.poses, name=name, performer=performer.strip(), exercise=ex.id, view=view, facing=facing,
        reps=reps.count, rep_bounds_s=[(r.start_s, r.peak_s, r.end_s) for r in reps.reps],
        source=f"user upload: {path.name}", licence=licence,
    )


def reference_preview_video(library: ReferenceLibrary, ref_id: str, out_path: str | Path, *, max_side: int = 360) -> Path:
    """Animated skeleton of a reference (H.264, dark canvas) for previews."""
    from coach.render import render_pose_video

    ref = library.get(ref_id)
    p = ref.poses
    render_pose_video(p.xy, p.fps, p.frame_size, out_path, max_side=max_side)
    return Path(out_path)


def references_table(library: ReferenceLibrary) -> pd.DataFrame:
    """One row per reference: id, name, exercise, view, performer, reps, duration, built-in."""
    rows = []
    for m in library.list():
        rows.append({
            "id": m.id, "Name": m.name, "Exercise": label(m.exercise), "View": m.view, "Performer": m.performer,
            "Reps": m.reps, "Length (s)": round(m.n_frames / m.fps, 1), "Built-in": library.is_builtin(m.id),
            "exercise": m.exercise,
        })
    return pd.DataFrame(rows, columns=["id", "Name", "Exercise", "View", "Performer", "Reps", "Length (s)",
                                       "Built-in", "exercise"])


def bundle_bytes(bundle: Mapping) -> bytes:
    return bundle_to_json(bundle).encode("utf-8")


__all__ = [
    "BUNDLE_FORMAT",
    "ProgressText",
    "UploadResult",
    "add_reference_from_file",
    "analysis_to_bundle",
    "angles_frame",
    "body_map_image",
    "bundle_from_json",
    "bundle_to_json",
    "check_bundle",
    "dtw_frame",
    "moment_arm_frame",
    "proportions_frame",
    "rep_table",
    "run_upload_analysis",
    "similarity_frame",
    "tempo_frame",
    "timeseries_csv",
]
