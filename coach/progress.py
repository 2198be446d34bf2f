"""Progress over sessions: one point per saved analysis, charts over the date performed, and a
before/after comparison of two sessions in words and as side-by-side skeletons aligned by DTW.

Works on result bundles (coach.results) so it needs nothing but what the history keeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from coach.charts import TITLE_PX
from coach.compare import dtw_align
from coach.kinematics import angle_matrix
from coach.normalize import body_frame
from coach.pose import PoseSequence
from coach.results import tempo_cut
from coach.store import number_or_none

# The joint whose range of motion is "depth" for each exercise (coaching convention: how far the
# working joint travels). Exercises not listed use their key angle with the largest range; None:
# no joint angle carries the movement (a shrug lifts the shoulders, its key angles barely move), so
# no range of motion is charted rather than a misleading one.
ROM_JOINT: Mapping[str, str | None] = {
    "squat": "knee", "lunge": "knee", "deadlift": "hip", "push_up": "elbow", "bicep_curl": "elbow",
    "shoulder_press": "elbow", "pull_up": "elbow", "jumping_jack": "shoulder", "bench_press": "elbow",
    "front_raise": "shoulder", "shrug": None,
}

# A change smaller than these is "about the same" (measurement noise between two clips of the same
# person: a few degrees of pose jitter, a few score points, a tenth of a second of tempo).
SCORE_STEP = 5.0  # points
ROM_STEP_DEG = 5.0
TEMPO_STEP_S = 0.25
DEVIATION_STEP_Z = 0.3  # in tolerances (z): the body-part deviation unit of coach.compare

PLOT_PX = 200  # plot area of each progress chart (Streamlit's height includes the title)


@dataclass(frozen=True)
class SessionPoint:
    """One saved analysis as a point on the progress charts.

    rom_deg: range of motion of the exercise's working joint (ROM_JOINT; the better-seen side), in
    degrees; rep_s / to_peak_s / from_peak_s: median over full reps of the rep time and its two
    phases, in seconds (a phase the clip cut off, and then the rep time, left out); part_deviation:
    body part -> mean deviation in tolerances (z, lower is closer to the reference)."""

    session_id: int | None
    performed_on: dt.date
    exercise: str
    exercise_label: str
    reference: str
    score: float | None
    verdict: str
    reps: int
    rom_angle: str | None
    rom_deg: float | None
    rep_s: float | None
    to_peak_s: float | None
    from_peak_s: float | None
    similarity: float | None
    pass_threshold: float | None = None
    part_deviation: Mapping[str, float] = field(default_factory=dict)


def _median(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.median(vals)) if vals else None


def joint_name(angle: str | None) -> str:
    """"left_knee" -> "knee": sessions filmed from either side read the same."""
    if not angle:
        return "working joint"
    return (angle.split("_", 1)[1] if angle.startswith(("left_", "right_")) else angle).replace("_", " ")


def main_rom(summary: Mapping) -> tuple[str | None, float | None]:
    """(angle name, range in degrees) of the exercise's working joint, the side that moved more
    (the far side of a side view is often hidden and then reads as a smaller range)."""
    rom = summary.get("range_of_motion") or {}
    ranges = {name: number_or_none((v or {}).get("range_deg")) for name, v in rom.items()}
    ranges = {k: v for k, v in ranges.items() if v is not None}
    exercise = str(summary.get("exercise"))
    if not ranges or (exercise in ROM_JOINT and ROM_JOINT[exercise] is None):
        return None, None
    joint = ROM_JOINT.get(exercise)
    pick = {k: v for k, v in ranges.items() if joint and k.split("_", 1)[-1] == joint} or ranges
    name = max(pick, key=pick.get)
    return name, pick[name]


def session_point(bundle: Mapping, performed_on: dt.date, *, session_id: int | None = None) -> SessionPoint:
    """The progress figures of one result bundle (see SessionPoint)."""
    s = bundle["summary"]
    rom_angle, rom_deg = main_rom(s)
    to_peak, from_peak, rep_s = [], [], []
    for r in s.get("rep_details") or []:
        t = r.get("tempo") or {}
        a, b = number_or_none(t.get("to_peak_s")), number_or_none(t.get("from_peak_s"))
        to_peak.append(a)
        from_peak.append(b)
        start, end = number_or_none(r.get("start_s")), number_or_none(r.get("end_s"))
        known = start is not None and end is not None and end > start and not tempo_cut(t)  # cut: length unknown
        rep_s.append(end - start if known else None)
    parts = {p: v for p, d in (s.get("deviations") or {}).items() if (v := number_or_none((d or {}).get("mean_z"))) is not None}
    return SessionPoint(
        session_id=session_id, performed_on=performed_on, exercise=str(s.get("exercise", "")),
        exercise_label=str(s.get("exercise_label") or s.get("exercise", "")), reference=str(s.get("reference", "")),
        score=number_or_none(s.get("score")), verdict=str(s.get("verdict", "")), reps=int(s.get("reps") or 0),
        rom_angle=rom_angle, rom_deg=rom_deg, rep_s=_median(rep_s), to_peak_s=_median(to_peak),
        from_peak_s=_median(from_peak), similarity=number_or_none(s.get("similarity_mean")),
        pass_threshold=number_or_none(s.get("pass_threshold")), part_deviation=parts,
    )


def progress_frame(points: Sequence[SessionPoint]) -> pd.DataFrame:
    """One row per session, oldest first (ties keep the saving order): the chart data."""
    rows = []
    for k, p in enumerate(points):
        rows.append({
            "session": p.session_id if p.session_id is not None else k, "order": k,
            "date": pd.Timestamp(p.performed_on), "exercise": p.exercise_label, "reference": p.reference,
            "score": p.score, "verdict": p.verdict, "reps": p.reps, "rom_deg": p.rom_deg,
            "rom_angle": p.rom_angle or "", "rep_s": p.rep_s, "to_peak_s": p.to_peak_s,
            "from_peak_s": p.from_peak_s, "similarity": p.similarity,
        })
    cols = ["session", "order", "date", "exercise", "reference", "score", "verdict", "reps", "rom_deg", "rom_angle",
            "rep_s", "to_peak_s", "from_peak_s", "similarity"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["date", "order"], kind="stable").reset_index(drop=True)


def parts_frame(points: Sequence[SessionPoint]) -> pd.DataFrame:
    """Long table: date, session, body part, deviation (z)."""
    rows = [
        {"date": pd.Timestamp(p.performed_on), "session": p.session_id if p.session_id is not None else k,
         "part": part.replace("_", " "), "deviation_z": z}
        for k, p in enumerate(points) for part, z in p.part_deviation.items()
    ]
    return pd.DataFrame(rows, columns=["date", "session", "part", "deviation_z"])


def _date_axis(dates: pd.Series) -> alt.Axis:
    """Tick labels that read at a glance for the span shown: days, months or years."""
    span_days = (dates.max() - dates.min()).days if len(dates) else 0
    fmt = "%d %b" if span_days <= 120 else ("%b %Y" if span_days <= 2 * 366 else "%Y")
    return alt.Axis(format=fmt, labelAngle=0, tickCount=6)


def _line(df: pd.DataFrame, col: str, title: str, unit: str, *, color: str, zero: bool) -> alt.Chart:
    base = alt.Chart(df).encode(
        x=alt.X("date:T", title="Date performed", axis=_date_axis(df["date"]), scale=alt.Scale(padding=16)),
        y=alt.Y(f"{col}:Q", title=unit, scale=alt.Scale(zero=zero)),
        tooltip=[alt.Tooltip("date:T", format="%d %b %Y"), alt.Tooltip(f"{col}:Q", format=".1f", title=title),
                 "reps:Q", "verdict:N", "reference:N"],
    )
    return (base.mark_line(color=color, strokeWidth=2) + base.mark_point(color=color, filled=True, size=70)).properties(
        title=title, height=PLOT_PX + TITLE_PX)


def _lines(df: pd.DataFrame, y: str, series: str, legend: str | None, y_title: str, *, title, fmt: str) -> alt.Chart:
    """Several lines over the date, with points (a layer, as the single-line charts)."""
    base = alt.Chart(df).encode(
        x=alt.X("date:T", title="Date performed", axis=_date_axis(df["date"]), scale=alt.Scale(padding=16)),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=alt.Color(f"{series}:N", title=legend, legend=alt.Legend(orient="right")),  # bottom squashes the plot in Streamlit
        tooltip=[alt.Tooltip("date:T", format="%d %b %Y"), f"{series}:N", alt.Tooltip(f"{y}:Q", format=fmt)],
    )
    return alt.layer(base.mark_line(strokeWidth=2), base.mark_point(filled=True, size=60)).properties(
        title=title, height=PLOT_PX + TITLE_PX + 20)


def progress_charts(points: Sequence[SessionPoint]) -> dict[str, alt.Chart]:
    """Altair charts over the date performed: score, range of motion, tempo, body-part deviation.
    Charts whose figure no session has are left out."""
    df = progress_frame(points)
    charts: dict[str, alt.Chart] = {}
    if df.empty:
        return charts
    if df["score"].notna().any():
        chart = _line(df, "score", "Overall score", "Score (0-100)", color="#1f77b4", zero=False)
        thresholds = [p.pass_threshold for p in points if p.pass_threshold is not None]
        if thresholds:  # the pass line the verdicts were given against
            rule = alt.Chart(pd.DataFrame({"pass": [thresholds[-1]]})).mark_rule(
                strokeDash=[6, 4], color="#888").encode(y="pass:Q", tooltip=[alt.Tooltip("pass:Q", title="Pass at")])
            chart = alt.layer(chart, rule)
        charts["score"] = chart
    if df["rom_deg"].notna().any():
        angle = df["rom_angle"].replace("", np.nan).dropna()
        what = joint_name(angle.iloc[-1] if len(angle) else None)
        charts["rom"] = _line(df, "rom_deg", f"Range of motion ({what})", "Degrees", color="#2ca02c", zero=False)
    tempo = df.melt(id_vars=["date", "session"], value_vars=["to_peak_s", "from_peak_s"], var_name="phase",
                    value_name="seconds").dropna(subset=["seconds"])
    if not tempo.empty:
        tempo["phase"] = tempo["phase"].map({"to_peak_s": "going into the rep", "from_peak_s": "coming back"})
        charts["tempo"] = _lines(tempo, "seconds", "phase", None, "Seconds",
                                 title=alt.TitleParams("Tempo", subtitle="seconds per phase of the median rep"), fmt=".2f")
    parts = parts_frame(points)
    if not parts.empty:
        charts["parts"] = _lines(parts, "deviation_z", "part", "Body part", "Tolerances",
                                 title=alt.TitleParams("Each body part's deviation",
                                                       subtitle="from the reference; lower is closer"), fmt=".2f")
    return charts


# --- comparing two sessions -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One figure before and after. better: True/False, or None when about the same or when
    neither direction is better (tempo)."""

    what: str
    before: float | None
    after: float | None
    better: bool | None
    text: str


@dataclass(frozen=True)
class SessionComparison:
    before: SessionPoint
    after: SessionPoint
    changes: tuple[Change, ...]

    @property
    def improved(self) -> list[str]:
        return [c.text for c in self.changes if c.better is True]

    @property
    def worse(self) -> list[str]:
        return [c.text for c in self.changes if c.better is False]

    @property
    def same(self) -> list[str]:
        return [c.text for c in self.changes if c.better is None]

    @property
    def headline(self) -> str:
        days = (self.after.performed_on - self.before.performed_on).days
        span = f"{abs(days)} day{'s' if abs(days) != 1 else ''} {'later' if days >= 0 else 'earlier'}"
        n_up, n_down = len(self.improved), len(self.worse)
        if n_up and not n_down:
            mood = "better on every figure that changed"
        elif n_down and not n_up:
            mood = "worse on every figure that changed"
        elif n_up or n_down:
            mood = f"{n_up} figure{'s' if n_up != 1 else ''} better, {n_down} worse"
        else:
            mood = "about the same"
        return f"{self.after.performed_on:%d %b %Y} ({span}) vs {self.before.performed_on:%d %b %Y}: {mood}."


def _change(what: str, before, after, step: float, higher_better: bool | None, fmt: str, unit: str) -> Change | None:
    if before is None or after is None:
        return None
    diff = after - before
    if abs(diff) < step:
        return Change(what, before, after, None, f"{what} about the same ({fmt.format(after)}{unit}).")
    direction = "up" if diff > 0 else "down"
    better = None if higher_better is None else (diff > 0) == higher_better
    text = f"{what} {direction} from {fmt.format(before)}{unit} to {fmt.format(after)}{unit}"
    return Change(what, before, after, better, text + ".")


def compare_sessions(before: SessionPoint, after: SessionPoint) -> SessionComparison:
    """What improved and what got worse from `before` to `after`, in words."""
    ch: list[Change | None] = [
        _change("Score", before.score, after.score, SCORE_STEP, True, "{:.0f}", ""),
        _change(f"Range of motion of the {joint_name(after.rom_angle)}",
                before.rom_deg, after.rom_deg, ROM_STEP_DEG, True, "{:.0f}", "°") if after.rom_angle else None,
        _change("Time going into each rep", before.to_peak_s, after.to_peak_s, TEMPO_STEP_S, None, "{:.1f}", " s"),
        _change("Time coming back", before.from_peak_s, after.from_peak_s, TEMPO_STEP_S, None, "{:.1f}", " s"),
    ]
    if before.reps != after.reps:
        ch.append(Change("Reps", before.reps, after.reps, None, f"Reps: {before.reps} then {after.reps}."))
    for part in sorted(set(before.part_deviation) & set(after.part_deviation)):
        b, a = before.part_deviation[part], after.part_deviation[part]
        name = part.replace("_", " ").capitalize()
        c = _change(f"{name} deviation", b, a, DEVIATION_STEP_Z, False, "{:.1f}", "")
        if c is not None and c.better is not None:  # parts that did not change are noise in the list
            verb = "closer to" if c.better else "further from"
            c = Change(c.what, b, a, c.better, f"{name}: {verb} the reference (deviation {b:.1f} → {a:.1f} tolerances).")
            ch.append(c)
    return SessionComparison(before, after, tuple(c for c in ch if c is not None))


@dataclass(frozen=True)
class AlignedPair:
    """Frames of two sessions paired by DTW over their joint angles: before_idx[k] and
    after_idx[k] are shown together (one output frame per pair, along the warping path)."""

    before_idx: np.ndarray
    after_idx: np.ndarray
    distance: float


def _angle_features(poses: PoseSequence) -> tuple[np.ndarray, np.ndarray]:
    """(T, K') gap-filled angles in degrees of the joints visible in >= half the frames, and the
    (K,) mask of which of ANGLE_NAMES they are."""
    a = angle_matrix(poses.xy)  # (T, K) degrees, NaN where a joint is hidden
    keep = np.isfinite(a).mean(axis=0) >= 0.5
    if not keep.any():
        raise ValueError("expected joint angles in at least half the frames, got too few visible joints")
    a = a[:, keep]
    t = np.arange(len(a))
    for k in range(a.shape[1]):  # fill gaps so nothing NaN reaches dtaidistance
        ok = np.isfinite(a[:, k])
        a[:, k] = np.interp(t, t[ok], a[ok, k]) if ok.any() else 0.0
    return a, keep


def _person_span(poses: PoseSequence) -> tuple[int, int]:
    """[first, last + 1) of the frames with a person; the whole clip when there is none."""
    seen = np.flatnonzero(np.isfinite(poses.xy[..., 0]).any(axis=1))
    return (int(seen[0]), int(seen[-1]) + 1) if seen.size else (0, poses.n_frames)


def align_sessions(before: PoseSequence, after: PoseSequence) -> AlignedPair:
    """DTW over the joint angles (view- and position-independent) seen in both sessions, from
    each one's first to its last frame with a person (a title card or a walk out is not part of
    the movement: stretched to its edge angles, it paired a skeleton with an empty panel)."""
    (b0, b1), (a0, a1) = _person_span(before), _person_span(after)
    fb, kb = _angle_features(before.slice(b0, b1))
    fa, ka = _angle_features(after.slice(a0, a1))
    both = kb & ka
    if not both.any():
        raise ValueError("expected some joint visible in both sessions, got none in common")
    fb, fa = fb[:, both[kb]], fa[:, both[ka]]
    res = dtw_align(fb, fa, window_frac=1.0)  # any tempo change is allowed between two sessions
    return AlignedPair(res.path[:, 0] + b0, res.path[:, 1] + a0, res.distance)


def write_comparison_video(
    before: PoseSequence,
    after: PoseSequence,
    out_path: str | Path,
    *,
    labels: tuple[str, str] = ("Before", "After"),
    panel_px: int = 360,
    progress=None,
) -> AlignedPair:
    """Side-by-side H.264 clip: the two sessions' skeletons, each centred and scaled to its own
    body, played along the DTW path so the same moment of the movement is shown together."""
    from coach.render import DARK_CANVAS, draw_caption, draw_skeleton
    from coach.video import H264Writer

    pair = align_sessions(before, after)
    norm = [body_frame(before.xy), body_frame(after.xy)]
    # one scale for both panels so a deeper squat looks deeper; each body centred on its own box
    spans, mids = [], []
    for body in norm:
        seen = body[np.isfinite(body[..., 0]).any(axis=1)]  # frames with a person
        lo, hi = np.nanmin(seen, axis=1), np.nanmax(seen, axis=1)  # (T', 2) per-frame box, torso lengths
        spans.append(np.nanpercentile(hi - lo, 95, axis=0) if np.isfinite(lo).any() else np.array([2.0, 4.0]))
        mids.append(np.nanmedian((hi + lo) / 2, axis=0) if np.isfinite(lo).any() else np.zeros(2))
    px_per_torso = 0.85 * panel_px / max(float(np.max(spans)), 1.0)
    offsets = [np.array([panel_px / 2, panel_px / 2]) - m * px_per_torso for m in mids]
    n_out = len(pair.before_idx)
    with H264Writer(out_path, before.fps) as writer:
        for k in range(n_out):
            panels = []
            for side, idx in ((0, pair.before_idx[k]), (1, pair.after_idx[k])):
                img = np.empty((panel_px, panel_px, 3), dtype=np.uint8)
                img[:] = DARK_CANVAS
                draw_skeleton(img, norm[side][idx] * px_per_torso + offsets[side])
                draw_caption(img, labels[side])
                panels.append(img)
            gap = np.full((panel_px, 4, 3), 255, dtype=np.uint8)
            writer.write(np.concatenate([panels[0], gap, panels[1]], axis=1))
            if progress is not None:
                progress(k + 1, n_out)
    return pair


# --- batch import of past sessions ------------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One past clip (video or keypoint file) and the day it was performed."""

    path: Path
    performed_on: dt.date


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one item: the saved record, or the one-line reason it was skipped."""

    name: str
    record: object | None  # coach.store.SessionRecord
    error: str | None


def clip_date(path: str | Path, fallback: dt.date | None = None) -> dt.date:
    """The day a clip was filmed from its metadata (creation time), else `fallback` (today).
    Keypoint files and unreadable videos get the fallback: the user edits it anyway."""
    from coach.errors import CoachError
    from coach.video import probe

    p = Path(path)
    if p.suffix.lower() in (".npz", ".csv", ".json", ".zip"):
        return fallback or dt.date.today()
    try:
        info = probe(p)
    except (CoachError, OSError, ValueError):
        return fallback or dt.date.today()
    return info.created.date() if info.created is not None else (fallback or dt.date.today())


def import_sessions(
    items: Sequence[BatchItem],
    *,
    store,
    workspace,
    library,
    reference_id: str | None = None,
    exercise: str | None = None,
    on_item=None,
    progress=None,
) -> list[BatchOutcome]:
    """Analyse each past clip and save it to the history. A bad clip is reported and skipped; the
    others (and everything saved before) are kept.

    store/workspace: coach.store.HistoryStore and its Workspace; library: the ReferenceLibrary;
    reference_id/exercise: fix the reference or exercise for every clip (None: recognised per clip);
    on_item(index, name): called as each item starts; progress(stage, done, total): engine progress
    of the current item."""
    from coach.errors import CoachError
    from coach.results import run_upload_analysis

    out: list[BatchOutcome] = []
    for k, item in enumerate(items):
        name = Path(item.path).name
        if on_item is not None:
            on_item(k, name)
        try:
            res = run_upload_analysis(item.path, library=library, reference_id=reference_id, exercise=exercise,
                                      progress=progress)
            rec = store.save_session(workspace, res.bundle, res.analysis.poses, performed_on=item.performed_on)
        except (CoachError, ValueError) as exc:
            out.append(BatchOutcome(name, None, str(exc)))
            continue
        out.append(BatchOutcome(name, rec, None))
    return out
