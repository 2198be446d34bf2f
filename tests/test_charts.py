"""coach.charts and coach.results on precomputed analyses: no video, no pose model.

The analyses compare a built-in procedural reference with itself and with a perturbed copy, so
every table's row count can be worked out from the analysis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import altair as alt
import numpy as np
import pytest

from coach import charts as C
from coach import results as R
from coach.analysis import analyze_poses
from coach.errors import CoachError
from coach.references import ReferenceLibrary
from coach.schema import CORE_LANDMARKS, LANDMARK_NAMES, L
from coach.settings import DEFAULT_SETTINGS

REF = "model-squat-side"


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> ReferenceLibrary:
    return ReferenceLibrary(user_dir=tmp_path_factory.mktemp("user-refs"))


@pytest.fixture(scope="module")
def same(library):
    """The reference compared with itself."""
    return analyze_poses(library.get(REF).poses, library=library, reference_id=REF, source="same.npz")


@pytest.fixture(scope="module")
def perturbed(library):
    """The reference with both knees pushed 0.4 torso lengths forward: bent knees, worse score."""
    poses = library.get(REF).poses
    xyz = np.array(poses.xyz)
    torso = np.nanmedian(np.linalg.norm(
        (xyz[:, L.LEFT_SHOULDER, :2] + xyz[:, L.RIGHT_SHOULDER, :2]) / 2
        - (xyz[:, L.LEFT_HIP, :2] + xyz[:, L.RIGHT_HIP, :2]) / 2, axis=-1))
    for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
        xyz[:, knee, 0] += 0.4 * torso
    return analyze_poses(poses.replace(xyz=xyz), library=library, reference_id=REF, source="bent.npz")


@pytest.fixture(scope="module")
def bundle(same) -> dict:
    return R.analysis_to_bundle(same)


# --- the bundle ------------------------------------------------------------------------------------


def test_bundle_is_strict_json_and_round_trips(bundle):
    text = R.bundle_to_json(bundle)
    assert "NaN" not in text and "Infinity" not in text
    assert R.bundle_from_json(text) == bundle


def test_bundle_carries_the_engine_summary(same, bundle):
    s = bundle["summary"]
    assert s["reps"] == same.reps.count
    assert s["score"] == pytest.approx(same.score, abs=0.01)
    assert s["pass_threshold"] == DEFAULT_SETTINGS.compare.pass_threshold
    assert len(bundle["series"]["time_s"]) == len(same.comparison.times_s)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([], "expected a JSON object"),  # not an object
        ({"format": "something-else"}, "expected format"),  # another file
        ({"format": R.BUNDLE_FORMAT, "version": 99}, "expected version 1"),  # newer writer
        ({"format": R.BUNDLE_FORMAT, "version": 1, "summary": {}}, "missing"),  # truncated
    ],
)
def test_check_bundle_rejects_bad_input(bad, match):
    with pytest.raises(CoachError, match=match):
        R.check_bundle(bad)


def test_bundle_from_json_reports_syntax_errors():
    with pytest.raises(CoachError, match="expected JSON"):
        R.bundle_from_json("{not json")


# --- tables ----------------------------------------------------------------------------------------


def test_rep_table_has_one_row_per_rep(same, bundle):
    table = R.rep_table(bundle)
    assert list(table["Rep"]) == [r.index for r in same.reps.reps]
    assert {"Score", "Similarity", "Bottom (s)", "Worst part", "Form faults"} <= set(table.columns)
    assert set(table["Form faults"]) == {"-"}  # the reference's own performance breaks no rule
    # the score right after the rep number: the table scrolls sideways in its half-page column
    assert list(table.columns[:2]) == ["Rep", "Score"]


def test_rep_table_names_the_rules_a_rep_broke(bundle):
    import copy

    b = copy.deepcopy(bundle)
    b["summary"]["rep_details"][0]["rule_faults"] = ["knees_bent", "hip_sag"]
    b["summary"]["rep_details"][-1].pop("rule_faults", None)  # saved before the column existed
    table = R.rep_table(b)
    assert table["Form faults"].iloc[0] == "knees bent, hip sag"
    assert table["Form faults"].iloc[-1] == "-"


def test_rep_table_note_says_when_the_count_came_from_the_videos_motion(bundle):
    import copy

    assert R.rep_table_note(bundle) is None  # the pose's own count: every rep is in the table
    b = copy.deepcopy(bundle)
    scored = len(b["summary"]["rep_details"])
    b["summary"].update(rep_method="flow", reps=scored + 3, pose_reps=scored)
    assert R.rep_table_note(b) == (f"{scored} of the {scored + 3} reps are scored: the count comes from the motion "
                                   "in the video, and the pose model followed you through only these.")


def test_timeseries_csv_has_time_similarity_and_every_angle(same, bundle):
    lines = R.timeseries_csv(bundle).splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["time_s", "rep", "similarity"]
    for name in same.comparison.angle_names:
        assert f"{name}_deg" in header and f"ref_{name}_deg" in header
    assert len(lines) == 1 + len(same.comparison.times_s)


def test_body_map_greys_what_was_not_judged(bundle):
    img = R.body_map_image(bundle, size=(200, 260))
    assert img.shape == (260, 200, 3) and img.dtype == np.uint8
    sev = bundle["body_map"]["severity"]
    assert len(sev) == len(LANDMARK_NAMES)
    assert sev[L.NOSE] is None  # the face is never judged
    assert "grey not judged" in R.body_map_caption(bundle)


# --- charts: the data behind each one ------------------------------------------------------------


def test_angles_chart_has_you_and_reference_per_judged_angle(same, bundle):
    chart = C.angles_chart(bundle)
    assert isinstance(chart, alt.FacetChart)
    df = chart.data
    judged = same.comparison.judged_angles
    assert {"time_s", "angle", "who", "deg", "lo", "hi"} <= set(df.columns)
    assert len(df) == 2 * len(judged) * len(same.comparison.times_s)
    assert set(df["angle"]) == {R.label(n) for n in judged}
    assert set(df["who"]) == {R.YOU, R.REFERENCE}
    assert df.loc[df["who"] == R.YOU, "lo"].isna().all()  # the band belongs to the reference
    chart.to_dict()  # valid Vega-Lite


def test_angles_differ_only_when_the_pose_differs(same, perturbed):
    def gap(a):
        df = C.angles_chart(a).data
        knee = df[df["angle_id"].str.endswith("knee")]
        you = knee[knee["who"] == R.YOU]["deg"].to_numpy()
        ref = knee[knee["who"] == R.REFERENCE]["deg"].to_numpy()
        return float(np.nanmean(np.abs(you - ref)))

    assert gap(perturbed) > gap(same) + 5.0
    assert perturbed.score < same.score


def test_similarity_chart_has_the_series_and_one_span_per_rep(same, bundle):
    chart = C.similarity_chart(bundle)
    assert isinstance(chart, alt.LayerChart)
    spans, _labels, line = chart.layer
    assert list(line.data.columns) == ["time_s", "similarity", "rep"]
    assert len(line.data) == len(same.comparison.times_s)
    assert len(spans.data) == same.reps.count
    assert list(spans.data["label"]) == [f"rep {r.index}" for r in same.reps.reps]
    assert line.data["similarity"].max() <= 1.0 + 1e-9
    chart.to_dict()


def test_similarity_chart_rep_labels_stay_legible_for_a_long_set(same, bundle):
    _spans, labels, _line = C.similarity_chart(bundle).layer
    assert list(labels.data["label"]) == [f"rep {r.index}" for r in same.reps.reps]  # a short set
    # a jump-rope set: 45 reps of 0.5 s each
    many = json.loads(json.dumps(bundle))
    many["summary"]["rep_details"] = [
        {**many["summary"]["rep_details"][0], "rep": k + 1, "start_s": 0.5 * k, "end_s": 0.5 * k + 0.4}
        for k in range(45)
    ]
    chart = C.similarity_chart(many)
    spans, labels, _line = chart.layer
    assert len(spans.data) == 45  # every rep still shaded
    tags = list(labels.data["label"])
    assert len(tags) <= C.MAX_REP_TAGS
    assert tags[0] == "1" and all(t.isdigit() for t in tags)
    assert list(labels.data["rep"]) == list(range(1, 46, 3))
    chart.to_dict()


def test_dtw_bars_leave_out_hidden_keypoints_and_list_them(bundle):
    hidden = json.loads(json.dumps(bundle))
    hidden["summary"]["per_keypoint_dtw"]["left_knee"] = None
    hidden["summary"]["per_keypoint_dtw"]["left_ankle"] = None
    chart = C.dtw_bars(hidden)
    df = chart.data
    core = {lm.name.lower() for lm in CORE_LANDMARKS}
    shown = [k for k, v in hidden["summary"]["per_keypoint_dtw"].items() if v is not None and k in core]
    assert len(df) == len(shown)
    assert "Left eye" not in set(df["keypoint"])  # face points are left out by default
    assert len(C.dtw_bars(hidden, body_only=False).data) > len(df)
    assert "Left knee" not in set(df["keypoint"])
    assert list(df["distance"]) == sorted(df["distance"], reverse=True)  # worst first
    lines = chart.to_dict()["title"]["subtitle"]
    subtitle = " ".join(lines)
    assert "Left knee" in subtitle and "Left ankle" in subtitle
    assert "body joints only" in subtitle
    assert max(map(len, lines)) <= C.HALF_PAGE_CHARS  # a longer line is cut short with "…"


def test_tempo_chart_has_three_phases_for_you_and_the_reference_per_rep(same, bundle):
    chart = C.tempo_chart(bundle)
    df = chart.data
    assert {"rep", "phase", "who", "seconds"} <= set(df.columns)
    assert len(df) == same.reps.count * 3 * 2
    assert set(df["phase"]) == set(R.phase_names(bundle))
    assert (df["seconds"] >= 0).all()
    chart.to_dict()


def test_tempo_chart_says_why_a_phase_the_clip_cut_has_no_bar(bundle):
    import copy

    cut = copy.deepcopy(bundle)
    cut["summary"]["rep_details"][0]["tempo"]["to_peak_s"] = None  # the recording began mid-rep
    chart = C.tempo_chart(cut)
    n_reps = len(cut["summary"]["rep_details"])
    assert len(chart.data) == n_reps * 3 * 2 - 1
    assert "before or after the recording" in " ".join(chart.to_dict()["title"]["subtitle"])
    assert "before or after" not in " ".join(C.tempo_chart(bundle).to_dict()["title"]["subtitle"])


def _long_set(bundle: dict, n: int) -> dict:
    """The bundle with its first rep repeated n times, 1 s apart (a long set's tables)."""
    many = json.loads(json.dumps(bundle))
    first = many["summary"]["rep_details"][0]
    many["summary"]["rep_details"] = [
        {**first, "rep": k + 1, "start_s": first["start_s"] + k, "end_s": first["end_s"] + k} for k in range(n)
    ]
    return many


def test_tempo_chart_of_a_long_set_has_a_row_per_phase_and_the_reference_as_a_line(bundle):
    from coach.report import REPORT_CHARTS

    many = _long_set(bundle, 19)
    chart = C.tempo_chart(many)
    spec = chart.to_dict()
    assert spec["facet"]["row"]["field"] == "phase"  # rows: the page width does not grow with the reps
    bars, rule = spec["spec"]["layer"]
    assert bars["mark"]["type"] == "bar" and rule["mark"]["type"] == "rule"
    df = chart.data
    assert len(df) == 19 * 3 * 2
    assert len(df[df["who"] == R.YOU]) == 19 * 3  # one bar per rep and phase; the reference one line each
    assert bars["encoding"]["x"]["axis"]["values"] == list(range(1, 20, 2))  # 10 numbers fit 300 px
    assert C.tempo_chart(_long_set(bundle, C.GROUPED_TEMPO_REPS)).to_dict()["encoding"]["column"]["field"] == "phase"
    tempo = next(c for c in REPORT_CHARTS if c.key == "tempo")
    assert "facet" in tempo.build(many).to_dict()  # the report keeps the rows


def test_moment_arm_chart_has_hip_and_knee_over_time_and_a_zero_line(same, bundle):
    chart = C.moment_arm_chart(bundle)
    datas = [layer.data for layer in chart.layer]
    lines = next(d for d in datas if "joint" in d.columns)
    assert set(lines["joint"]) == {"Hip", "Knee"}
    assert len(lines) == 2 * len(same.comparison.times_s)
    zero = next(d for d in datas if "label" in d.columns and "y" in d.columns)
    assert zero["y"].tolist() == [0.0]
    chart.to_dict()


def test_proportions_chart_compares_finite_ratios(same, bundle):
    df = C.proportions_chart(bundle).data
    expected = sum(np.isfinite(v) for v in same.proportions.as_dict().values()) + sum(
        np.isfinite(v) for v in same.reference_proportions.as_dict().values()
    )
    assert len(df) == expected
    assert set(df["who"]) <= {R.YOU, R.REFERENCE}


def test_charts_accept_an_analysis_or_its_bundle(same, bundle):
    for build in (C.similarity_chart, C.tempo_chart, C.proportions_chart):
        assert build(same).to_dict() == build(bundle).to_dict()


def test_charts_say_why_they_are_empty(bundle):
    empty = json.loads(json.dumps(bundle))
    empty["series"]["judged_angles"] = []
    empty["summary"]["rep_details"] = []
    empty["summary"]["per_keypoint_dtw"] = dict.fromkeys(LANDMARK_NAMES)
    assert "visible enough" in C.angles_chart(empty).data["message"][0]
    assert "no complete rep" in C.tempo_chart(empty).data["message"][0]
    assert "visible enough" in C.dtw_bars(empty).data["message"][0]


# --- progress and uploads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "done", "total", "elapsed", "frac", "text"),
    [
        ("pose", 50, 200, 10.0, 0.25, "Finding your pose: 50 / 200 frames · about 30 s left"),  # 10 s for 25 %
        ("pose", 200, 200, 40.0, 1.0, "Finding your pose: 200 / 200 frames"),  # finished: no estimate
        ("pose", 3, 0, 1.0, 0.0, "Finding your pose: 3 frames"),  # unknown total
        ("analysis", 2, 4, 0.1, 0.5, "Comparing with the reference: 2 / 4 steps"),  # too early to estimate
        ("render", 99, 100, 9.9, 0.99, "Drawing the annotated video: 99 / 100 frames · almost done"),
    ],
)
def test_progress_text_shows_frames_and_time_left(stage, done, total, elapsed, frac, text):
    got_frac, got_text = R.ProgressText.describe(stage, done, total, elapsed)
    assert got_frac == pytest.approx(frac)
    assert got_text == text


def test_progress_text_throttles_updates_but_not_the_last():
    now = [0.0]
    seen = []
    p = R.ProgressText(lambda f, t: seen.append(f), min_interval_s=1.0, clock=lambda: now[0])
    for i in range(1, 101):
        now[0] = i * 0.01
        p("pose", i, 100)
    assert seen[0] == pytest.approx(0.01) and seen[-1] == pytest.approx(1.0)
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("squat.mp4", "squat.mp4"),
        ("../../etc/passwd.MP4", "passwd.mp4"),  # no path escapes, suffix lower-cased
        ("C:\\Users\\me\\my clip (1).mov", "my clip _1_.mov"),  # Windows path, brackets replaced
        ("...", "upload"),  # nothing usable left
    ],
)
def test_safe_filename(name, safe):
    assert R.safe_filename(name) == safe


def test_input_kind_rejects_unknown_files():
    assert R.input_kind("a.MOV") == "video"
    assert R.input_kind("a.npz") == "keypoints"
    with pytest.raises(CoachError, match=r"expected a video .* or a keypoint file .*got \.txt"):
        R.input_kind("notes.txt")


def test_library_modules_never_import_streamlit():
    code = (
        "import importlib, pkgutil, sys, coach\n"
        "for m in pkgutil.iter_modules(coach.__path__):\n"
        "    if m.name.startswith('_'): continue  # __main__ runs the CLI\n"
        "    importlib.import_module('coach.' + m.name)\n"
        "sys.exit('streamlit' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_idle_scratch_folders_are_swept_and_active_ones_kept(tmp_path):
    old = tmp_path / f"{R.SCRATCH_PREFIX}old"
    (old / "abc").mkdir(parents=True)
    (old / "abc" / "clip.mp4").write_bytes(b"x")
    busy = tmp_path / f"{R.SCRATCH_PREFIX}busy"  # an old folder with a fresh upload in it
    (busy / "d").mkdir(parents=True)
    (busy / "d" / "new.mp4").write_bytes(b"y")
    other = tmp_path / "someone-else"  # not ours: never touched
    other.mkdir()
    long_ago = time.time() - 3 * 24 * 3600
    for p in (old, old / "abc", old / "abc" / "clip.mp4", busy, busy / "d", other):
        os.utime(p, (long_ago, long_ago))
    removed = R.sweep_scratch_dirs(tmp_path, max_idle_s=24 * 3600)
    assert removed == [old]
    assert not old.exists() and (busy / "d" / "new.mp4").exists() and other.exists()


def test_tempo_chart_names_the_rushed_reps(library):
    """Model push-ups at three times the reference's pace: every full rep is faulted as rushed, and
    the tempo chart's subtitle lists those reps as spans; at the reference's pace it says nothing."""
    import dataclasses

    from coach.bodymodel import generate

    p = generate("push_up", "side", reps=4, seed=11).poses
    fast = analyze_poses(dataclasses.replace(p, timestamps_s=p.timestamps_s / 3, fps=p.fps * 3), library=library,
                         exercise="push_up", reference_id="model-push-up-side")
    rushed = [rs.index for rs in fast.comparison.rep_scores if "rushed_rep" in rs.rule_faults]
    assert len(rushed) >= 3
    sub = " ".join(C.tempo_chart(R.analysis_to_bundle(fast)).to_dict()["title"]["subtitle"])
    assert f"rushed, under half the reference's rep time: reps {C._spans(rushed)}" in sub, sub
    assert C._spans([1, 2, 3, 5, 7, 8]) == "1–3, 5, 7–8"
    steady = analyze_poses(p, library=library, exercise="push_up", reference_id="model-push-up-side")
    assert "rushed" not in " ".join(C.tempo_chart(R.analysis_to_bundle(steady)).to_dict()["title"]["subtitle"])
