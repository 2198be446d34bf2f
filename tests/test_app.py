"""Every page under streamlit.testing.v1.AppTest (no browser, no pose model), and the results
section rendered from a precomputed analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach import results as R
from coach.analysis import analyze_poses
from coach.references import ReferenceLibrary
from coach.render import render_pose_video

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
REF = "model-squat-side"
TIMEOUT = 60


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Each test gets its own data folder (user references, keypoint cache)."""
    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def analysis():
    lib = ReferenceLibrary()
    return analyze_poses(lib.get(REF).poses, library=lib, reference_id=REF, source="squat.npz")


@pytest.fixture(scope="module")
def bundle(analysis) -> dict:
    return R.analysis_to_bundle(analysis)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _results_script(bundle, video):
    from pages import ui

    ui.render_results(bundle, video_path=video, key="t")


# --- pages ---------------------------------------------------------------------------------------


def test_app_opens_on_the_analyze_page():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert [t.value for t in at.title] == ["Analyze a performance"]
    assert len(at.get("file_uploader")) == 1
    assert any("at most 500 MB" in c.value for c in at.caption)


def test_references_page_lists_the_library_with_a_preview():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/references.py").run()
    _no_exception(at)
    assert [t.value for t in at.title] == ["Reference library"]
    table = at.dataframe[0].value
    assert len(table) == len(ReferenceLibrary().list())
    assert len(at.get("video")) == 1  # the animated skeleton of the selected reference
    assert any("read-only" in c.value for c in at.caption)


def test_references_page_filters_by_exercise_and_view():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/references.py").run()
    at.selectbox(key="refs_ex").set_value("squat").run()
    at.selectbox(key="refs_view").set_value("side").run()
    _no_exception(at)
    assert list(at.dataframe[0].value["id"]) == [REF]


def test_references_page_deletes_a_user_reference(home):
    lib = ReferenceLibrary(user_dir=home / "references")
    src = lib.get(REF)
    meta = lib.add(src.poses, name="My squat", performer="me", exercise="squat", view="side",
                   reps=src.meta.reps, rep_bounds_s=src.meta.rep_bounds_s, source="test", licence="test")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/references.py").run()
    at.selectbox(key="refs_pick").set_value(meta.id).run()
    _no_exception(at)
    at.button(key="refs_delete").click().run()
    _no_exception(at)
    assert any("Deleted reference “My squat”" in s.value for s in at.success)
    assert meta.id not in list(at.dataframe[0].value["id"])
    assert not (home / "references" / f"{meta.id}.json").exists()


def test_built_in_references_offer_no_delete_button():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/references.py").run()
    at.selectbox(key="refs_pick").set_value(REF).run()
    assert not [b for b in at.button if b.key == "refs_delete"]


def test_adding_a_reference_without_a_file_explains_what_is_missing():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/references.py").run()
    at.text_input(key="refs_name").input("Coach squat")
    submit = next(b for b in at.button if b.label == "Add reference")
    submit.click().run()
    _no_exception(at)
    assert any("Choose a video or keypoint file" in e.value for e in at.error)


# --- the results section -------------------------------------------------------------------------


def test_results_section_renders_from_a_precomputed_analysis(analysis, bundle, tmp_path):
    video = tmp_path / "annotated.mp4"
    p = analysis.poses
    render_pose_video(p.xy[:10], p.fps, p.frame_size, video, max_side=160)
    at = AppTest.from_function(_results_script, kwargs={"bundle": bundle, "video": str(video)},
                               default_timeout=TIMEOUT).run()
    _no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reps"] == str(analysis.reps.count)
    assert metrics["Score"] == f"{analysis.score:.0f} / 100"
    assert metrics["Verdict"] in ("Pass", "Needs work")
    text = " ".join(m.value for m in at.markdown)
    for cue in analysis.cues:
        assert cue.text in text
    assert len(at.get("vega_lite_chart")) == 6  # similarity, angles, DTW, tempo, proportions, moment arm
    assert len(at.get("image")) == 1  # body map
    assert len(at.get("video")) == 1
    assert len(at.get("download_button")) == 5  # JSON, two CSVs, HTML report, video
    table = at.dataframe[0].value
    assert list(table["Rep"]) == [r.index for r in analysis.reps.reps]


def test_results_section_without_reps_or_video(bundle):
    b = json.loads(json.dumps(bundle))
    b["summary"].update(reps=0, rep_details=[], cues=[], warnings=["no complete repetition found"])
    at = AppTest.from_function(_results_script, kwargs={"bundle": b, "video": None}, default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert any("No complete repetition" in i.value for i in at.info)
    assert any("no complete repetition found" in w.value for w in at.warning)
    assert any("No clear deviation" in s.value for s in at.success)
    assert len(at.get("video")) == 0
    assert len(at.get("download_button")) == 4  # no video


def _errors_script():
    from coach.errors import VideoError
    from pages import ui

    def bad_video():
        raise VideoError("clip.mp4: expected a readable video, got unreadable data")

    def bug():
        raise KeyError("internal detail")

    ui.run_safely("reading", bad_video)
    ui.run_safely("analysing", bug)


def test_errors_show_one_line_and_never_a_traceback():
    at = AppTest.from_function(_errors_script, default_timeout=TIMEOUT).run()
    _no_exception(at)
    messages = [e.value for e in at.error]
    assert messages[0] == "clip.mp4: expected a readable video, got unreadable data"
    assert messages[1].startswith("Something went wrong while analysing")
    assert "internal detail" not in " ".join(messages) and "Traceback" not in " ".join(messages)


def test_a_clip_analysed_on_every_2nd_frame_says_both_rates(bundle):
    """A 60 fps clip is analysed at 30 fps: the results line names the filming rate and the
    analysed one, instead of calling a 60 fps clip a 30 fps one."""
    fast = json.loads(json.dumps(bundle))
    fast["summary"].update(fps=30.0, frame_stride=2, duration_s=13.1)
    at = AppTest.from_function(_results_script, kwargs={"bundle": fast, "video": None}, default_timeout=TIMEOUT).run()
    _no_exception(at)
    captions = " ".join(c.value for c in at.caption)
    assert "13.1 s filmed at 60 fps, analysed at 30" in captions
    assert bundle["summary"]["frame_stride"] == 1  # an ordinary clip: every frame
