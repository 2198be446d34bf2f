"""Progress over sessions: batch import of real past clips, charts over the date performed, and
the before/after comparison (words and DTW-aligned side-by-side skeletons)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import av
import numpy as np
import pytest

from coach import progress as P
from coach import results as R
from coach.analysis import analyze_poses
from coach.references import ReferenceLibrary
from coach.store import HistoryStore
from tests.conftest import shared_path

# three real side-view squat sets, as if filmed on three days
CLIPS = (
    ("videos/formfit-jrplatin/squat.mp4", dt.date(2026, 1, 5)),
    ("videos/formfit-jrplatin/squat2.mp4", dt.date(2026, 2, 9)),
    ("videos/gym-rom-wissem/squat.mp4", dt.date(2026, 3, 16)),
)


@pytest.fixture(scope="module")
def lib():
    return ReferenceLibrary()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, lib):
    folder = tmp_path_factory.mktemp("batch")
    store = HistoryStore(f"sqlite:///{folder / 'history.sqlite'}")
    ws = store.local_workspace()
    items = [P.BatchItem(shared_path(rel), day) for rel, day in CLIPS]
    bad = folder / "notes.mp4"
    bad.write_text("this is not a video")
    items.insert(1, P.BatchItem(bad, dt.date(2026, 1, 20)))
    started: list[str] = []
    outcomes = P.import_sessions(items, store=store, workspace=ws, library=lib, reference_id="model-squat-side",
                                 on_item=lambda k, name: started.append(name))
    yield store, ws, outcomes, started
    store.close()


def test_batch_of_three_real_clips_gives_a_progress_chart_with_three_points(batch):
    store, ws, outcomes, started = batch
    assert started == ["squat.mp4", "notes.mp4", "squat2.mp4", "squat.mp4"]
    # the bad file is reported and skipped; the three real clips are saved
    assert [o.error is None for o in outcomes] == [True, False, True, True]
    assert "notes.mp4" in outcomes[1].name and outcomes[1].error
    recs = store.list_sessions(ws)
    assert len(recs) == 3
    points = [P.session_point(store.load_bundle(ws, r.id), r.performed_on, session_id=r.id) for r in recs]
    df = P.progress_frame(points)
    assert list(df["date"].dt.date) == [day for _rel, day in CLIPS]  # oldest first
    assert df["reps"].tolist() == [r.reps for r in sorted(recs, key=lambda r: r.performed_on)]
    assert df["score"].between(0, 100).all()
    assert df["rom_angle"].str.endswith("knee").all()  # squat depth is the knee's range
    assert (df["rom_deg"] > 30).all()  # every set really bends the knees
    charts = P.progress_charts(points)
    assert {"score", "rom", "tempo", "parts"} <= set(charts)
    spec = charts["score"].to_dict()
    data = spec["datasets"][next(iter(spec["datasets"]))] if "datasets" in spec else spec["layer"][0]["data"]["values"]
    scored = [row for row in data if row.get("score") is not None]
    assert len(scored) == 3


def test_comparison_of_two_real_sessions_in_words(batch):
    store, ws, _outcomes, _started = batch
    recs = sorted(store.list_sessions(ws), key=lambda r: r.performed_on)
    first, last = (P.session_point(store.load_bundle(ws, r.id), r.performed_on) for r in (recs[0], recs[-1]))
    cmp = P.compare_sessions(first, last)
    assert cmp.headline.startswith("16 Mar 2026 (70 days later) vs 05 Jan 2026")
    score = next(c for c in cmp.changes if c.what == "Score")
    assert (score.before, score.after) == (first.score, last.score)
    expected = None if abs(last.score - first.score) < P.SCORE_STEP else last.score > first.score
    assert score.better is expected
    # every changed figure is listed once, on the side its direction says
    assert len(cmp.improved) + len(cmp.worse) + len(cmp.same) == len(cmp.changes)
    back = P.compare_sessions(last, first)  # the other way round flips better and worse
    assert sorted(back.improved) != sorted(cmp.improved) or not (cmp.improved or cmp.worse)
    assert len(back.improved) == len(cmp.worse) and len(back.worse) == len(cmp.improved)


def test_words_on_hand_made_sessions():
    base = dict(session_id=None, exercise="squat", exercise_label="Squat", reference="r", verdict="pass", reps=5,
                rom_angle="left_knee", rep_s=2.0, similarity=0.9)
    before = P.SessionPoint(performed_on=dt.date(2026, 1, 1), score=60.0, rom_deg=80.0, to_peak_s=1.0,
                            from_peak_s=1.0, part_deviation={"left_leg": 2.0, "torso": 1.0}, **base)
    after = P.SessionPoint(performed_on=dt.date(2026, 1, 8), score=72.0, rom_deg=95.0, to_peak_s=1.05,
                           from_peak_s=0.5, part_deviation={"left_leg": 1.0, "torso": 1.6}, **base)
    cmp = P.compare_sessions(before, after)
    assert cmp.improved == ["Score up from 60 to 72.", "Range of motion of the knee up from 80° to 95°.",
                            "Left leg: closer to the reference (deviation 2.0 → 1.0 tolerances)."]
    assert cmp.worse == ["Torso: further from the reference (deviation 1.0 → 1.6 tolerances)."]
    assert "Time going into each rep about the same (1.1 s)." in cmp.same
    assert "Time coming back down from 1.0 s to 0.5 s." in cmp.same  # tempo is neither better nor worse
    assert cmp.headline == "08 Jan 2026 (7 days later) vs 01 Jan 2026: 3 figures better, 1 worse."


def test_two_sessions_aligned_by_dtw_side_by_side(tmp_path, lib):
    """The same model squat slowed down: DTW pairs each frame with the same moment of the slow one."""
    fast = lib.get("model-squat-side").poses
    t = np.arange(2 * fast.n_frames)
    src = t / 2.0  # every frame twice, by interpolation: the same squat at half speed
    xyz = np.stack([np.stack([np.interp(src, np.arange(fast.n_frames), fast.xyz[:, j, c]) for c in range(3)], -1)
                    for j in range(fast.xyz.shape[1])], 1)
    slow = fast.replace(xyz=xyz, visibility=np.repeat(fast.visibility, 2, axis=0)[: len(t)],
                        timestamps_s=t / fast.fps)
    pair = P.align_sessions(fast, slow)
    assert pair.before_idx[0] == 0 and pair.after_idx[0] == 0
    assert pair.before_idx[-1] == fast.n_frames - 1 and pair.after_idx[-1] == slow.n_frames - 1
    # each pair is the same moment: slow frame k matches fast frame k/2
    assert np.median(np.abs(pair.after_idx / 2.0 - pair.before_idx)) <= 1.0
    out = tmp_path / "side-by-side.mp4"
    P.write_comparison_video(fast, slow, out, labels=("12 Jan", "3 Mar"), panel_px=240)
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        frames = sum(1 for _ in c.decode(s))
        assert (s.codec_context.width, s.codec_context.height) == (484, 240)
    assert frames == len(pair.before_idx)


def test_side_by_side_pairs_only_frames_with_a_person(tmp_path, lib):
    """A title card before one session and a walk-out after the other are not paired with the
    movement: the replay starts and ends where each session has a person."""
    squat = lib.get("model-squat-side").poses
    n, card = squat.n_frames, 20
    xyz = np.concatenate([np.full((card, *squat.xyz.shape[1:]), np.nan, dtype=np.float32), squat.xyz])
    carded = squat.replace(xyz=xyz, visibility=np.concatenate([np.zeros((card, squat.xyz.shape[1]), np.float32),
                                                               squat.visibility]),
                           timestamps_s=np.arange(n + card) / squat.fps)
    walked = np.array(squat.xyz)
    walked[-15:] = np.nan
    left = squat.replace(xyz=walked)
    pair = P.align_sessions(carded, left)
    assert pair.before_idx[0] == card and pair.after_idx[0] == 0
    assert pair.before_idx[-1] == n + card - 1 and pair.after_idx[-1] == n - 16
    # the same squat on both sides: every pair is the same moment
    assert np.median(np.abs((pair.before_idx - card) - pair.after_idx)) <= 1.0
    out = tmp_path / "carded.mp4"
    assert len(P.write_comparison_video(carded, left, out, panel_px=120).before_idx) == len(pair.before_idx)


def test_session_point_from_a_real_bundle(lib):
    a = analyze_poses(lib.get("model-squat-front").poses, library=lib, reference_id="model-squat-side")
    b = R.analysis_to_bundle(a)
    p = P.session_point(b, dt.date(2026, 5, 1))
    assert p.reps == a.reps.count and p.score == pytest.approx(a.score, abs=0.05)
    assert p.rom_angle in ("left_knee", "right_knee")
    rom = max(b["summary"]["range_of_motion"][n]["range_deg"] for n in ("left_knee", "right_knee"))
    assert p.rom_deg == pytest.approx(rom)
    assert set(p.part_deviation) == set(b["summary"]["deviations"])
    assert p.to_peak_s is not None and p.to_peak_s > 0


def test_session_point_leaves_out_what_the_clip_cut_off():
    """A rep whose way down happened before the recording started has no duration for that phase
    (None in the bundle): the medians use the phases and rep times that were seen."""
    def rep(k, start, end, to_peak, from_peak):
        return {"rep": k, "start_s": start, "end_s": end,
                "tempo": {"to_peak_s": to_peak, "from_peak_s": from_peak, "pause_s": 0.2}}

    bundle = {"summary": {"exercise": "squat", "score": 80.0, "verdict": "pass", "reps": 3,
                          "rep_details": [rep(1, 0.0, 0.9, None, 0.8), rep(2, 2.0, 4.0, 1.0, 1.0),
                                          rep(3, 5.0, 7.2, 1.2, 1.0)]}}
    p = P.session_point(bundle, dt.date(2026, 5, 1))
    assert p.to_peak_s == pytest.approx(1.1) and p.from_peak_s == pytest.approx(1.0)
    assert p.rep_s == pytest.approx(2.1)  # 2.0 and 2.2 s; the cut first rep's 0.9 s is not a rep time


def test_clip_date_reads_the_metadata_or_falls_back(tmp_path):
    fallback = dt.date(2020, 2, 2)
    assert P.clip_date(tmp_path / "x.npz", fallback) == fallback
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 100)
    assert P.clip_date(bad, fallback) == fallback
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg (apt) is needed to write a clip with a creation time")
    import subprocess

    src = shared_path(CLIPS[0][0])
    dated = tmp_path / "dated.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", "1", "-c", "copy", "-metadata",
                    "creation_time=2025-07-04T10:00:00Z", str(dated)], check=True)
    assert P.clip_date(dated, fallback) == dt.date(2025, 7, 4)


@pytest.mark.parametrize(("days", "fmt"), [(7, "%d %b"), (200, "%b %Y"), (3755, "%Y")])
def test_date_labels_suit_the_span_of_the_history(days, fmt):
    """A week of sessions is labelled by day, a season by month, years of lifts by year (a
    two-digit year such as '01 Jan 18' reads as a day)."""
    base = dict(session_id=None, exercise="squat", exercise_label="Squat", reference="r", verdict="pass", reps=5,
                rom_angle="left_knee", rep_s=2.0, similarity=0.9, to_peak_s=1.0, from_peak_s=1.0,
                part_deviation={"torso": 1.0})
    first = dt.date(2016, 8, 19)
    points = [P.SessionPoint(performed_on=first, score=60.0, rom_deg=80.0, **base),
              P.SessionPoint(performed_on=first + dt.timedelta(days=days), score=70.0, rom_deg=90.0, **base)]
    charts = P.progress_charts(points)
    assert charts
    for chart in charts.values():
        spec = json.dumps(chart.to_dict())
        assert f'"format": "{fmt}"' in spec


def test_no_range_of_motion_is_charted_where_no_joint_angle_carries_the_movement():
    """A shrug lifts the shoulders; the largest-range key angle (an elbow swaying a few degrees)
    would be charted as its "range of motion". A squat still reads its knee."""
    rom = {"left_elbow": {"range_deg": 9.0}, "left_shoulder": {"range_deg": 6.0}}
    assert P.main_rom({"exercise": "shrug", "range_of_motion": rom}) == (None, None)
    squat = {"left_knee": {"range_deg": 80.0}, "left_hip": {"range_deg": 95.0}}
    assert P.main_rom({"exercise": "squat", "range_of_motion": squat}) == ("left_knee", 80.0)
    assert P.main_rom({"exercise": "plank", "range_of_motion": rom}) == ("left_elbow", 9.0)  # unlisted: largest
    # two such sessions compare on everything else
    base = dict(session_id=None, exercise="shrug", exercise_label="Shrug", reference="model-shrug-front",
                verdict="pass", reps=3, rom_deg=None,
                rom_angle=None, rep_s=2.0, similarity=0.9, part_deviation={})
    before = P.SessionPoint(performed_on=dt.date(2026, 1, 1), score=60.0, to_peak_s=1.0, from_peak_s=1.0, **base)
    after = P.SessionPoint(performed_on=dt.date(2026, 1, 8), score=72.0, to_peak_s=1.0, from_peak_s=1.0, **base)
    cmp = P.compare_sessions(before, after)
    assert cmp.improved == ["Score up from 60 to 72."]
    assert not any("Range of motion" in c.text for c in cmp.changes)
