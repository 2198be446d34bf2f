"""coach.live: the live coach fed frame by frame with a real clip (reps against the manifest,
similarity), thread safety, dropping frames instead of queueing them, the H.264 recorder, the
session slot, ICE server settings, and the Live coach page under AppTest.

The real clip goes through MediaPipe once per module; tests that only need its landmarks replay
them through a stand-in estimator."""

from __future__ import annotations

import csv
import dataclasses
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from coach.errors import VideoError
from coach.live import (
    CUE_NO_PERSON,
    LiveCoach,
    LiveRecorder,
    LiveSession,
    LiveSettings,
    LiveSlot,
    LiveState,
    parse_ice_servers,
    rtc_configuration,
)
from coach.references import ReferenceLibrary
from coach.schema import N_LANDMARKS
from coach.video import iter_frames, probe
from tests.conftest import SHARED_DATA, shared_path
from tests.test_render import figure

ROOT = Path(__file__).resolve().parent.parent
CLIP = "videos/formfit-jrplatin/squat.mp4"  # side-view back squat, 8.5 s at 30 fps
SQUAT_REF = "model-squat-side"
UNRELATED_REF = "model-push-up-side"


@pytest.fixture(scope="module")
def library() -> ReferenceLibrary:
    return ReferenceLibrary()


def _manifest_reps(rel: str) -> int:
    with open(SHARED_DATA / "manifest.csv", newline="") as fh:
        return int(next(r for r in csv.DictReader(fh) if r["path"] == rel)["reps"])


class _Recording:
    """Wraps an estimator and keeps what it returned, so the clip can be replayed later."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.outputs = inner, inner.name, []

    def process(self, rgb):
        out = self.inner.process(rgb)
        self.outputs.append(out)
        return out

    def close(self) -> None:
        self.inner.close()


class _Replay:
    """Returns recorded outputs in order (one per call); optionally slow, like a busy model."""

    name = "replay"

    def __init__(self, outputs, delay_s: float = 0.0) -> None:
        self.outputs, self.delay_s, self.i = outputs, delay_s, 0

    def process(self, rgb):
        if self.delay_s:
            time.sleep(self.delay_s)
        out = self.outputs[self.i % len(self.outputs)]
        self.i += 1
        return out

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def squat_run(library):
    """The real clip through a LiveCoach with MediaPipe, frame by frame as a camera would send it:
    states after every frame, per-frame latency, the model's outputs and the frames' times."""
    from coach.pose import MediaPipeEstimator

    clip = shared_path(CLIP)
    est = _Recording(MediaPipeEstimator())
    coach = LiveCoach(library.get(SQUAT_REF), "squat", estimator=est)
    states, latency_ms, times = [], [], []
    first_out = None
    try:
        for t, rgb in iter_frames(clip, max_side=640):
            t0 = time.perf_counter()
            out = coach.process(rgb, t)
            latency_ms.append(1000 * (time.perf_counter() - t0))
            states.append(coach.state())
            times.append(t)
            if first_out is None:
                first_out = (rgb, out)
    finally:
        coach.close()
        est.close()
    return {"states": states, "latency_ms": latency_ms, "outputs": est.outputs, "times": times,
            "shape": first_out[0].shape, "first": first_out}


def _replay_coach(library, run, ref_id: str, **kw) -> LiveCoach:
    return LiveCoach(library.get(ref_id), "squat", estimator=_Replay(run["outputs"]), **kw)


# --- the live coach on a real clip ---------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_live_rep_count_reaches_the_manifest_count_on_a_real_squat_clip(squat_run):
    truth = _manifest_reps(CLIP)
    reps = [s.reps for s in squat_run["states"]]
    # within one: the first squat starts as the lifter settles, and whether it counts depends on
    # the tracking path. Frames with 0.1 % of their pixel values moved by +-1 (invisible) gave 3
    # reps in 5 of 8 runs on either backend (MediaPipe's graph: 3 3 3 3 3 4 4 5; OpenVINO: 3 3 3 3
    # 3 4 4 4; 2026-12-02)
    assert abs(reps[-1] - truth) <= 1
    assert reps == sorted(reps), "the live count never goes back"
    # each rep is counted soon after it ends, not only at the end of the clip
    first_counted = next(i for i, r in enumerate(reps) if r >= 1)
    assert squat_run["times"][first_counted] < 4.0
    final = squat_run["states"][-1]
    assert final.frames_seen == final.frames_analysed == len(reps) and final.frames_dropped == 0
    assert final.person_visible and final.cue.startswith(f"Rep {reps[-1]}:")


@pytest.mark.shared
@pytest.mark.slow
def test_live_count_never_goes_back_when_a_busy_machine_drops_frames(library, squat_run):
    """The clip looped four times (as the browser's fake camera plays it) with a third of the frames
    dropped at random: before rep_confirm_s and keeping counted reps, the count went back (1 -> 0,
    3 -> 2) in 10 of 12 such runs; now it never does and ends within one of 4 x the clip's reps."""
    truth = _manifest_reps(CLIP)
    dur = squat_run["times"][-1] + squat_run["times"][1]
    rgb = squat_run["first"][0]
    for seed in range(3):
        rng = np.random.default_rng(seed)
        kept = [(loop * dur + t, out) for loop in range(4)
                for t, out in zip(squat_run["times"], squat_run["outputs"], strict=True) if rng.random() >= 0.35]
        coach = LiveCoach(library.get(SQUAT_REF), "squat", estimator=_Replay([o for _, o in kept]))
        seen = []
        for t, _out in kept:
            coach.process(rgb, t)
            seen.append(coach.state().reps)
        assert seen == sorted(seen), f"seed {seed}: the count went back"
        assert abs(seen[-1] - 4 * truth) <= 1, f"seed {seed}: {seen[-1]} reps, expected about {4 * truth}"


# other exercises and counts, frame by frame through MediaPipe like a camera (one row per clip: why)
OTHER_CLIPS = [
    ("videos/formfit-jrplatin/curl.mp4", "model-bicep-curl-side"),  # arms only, 5 reps, peak at the top
    ("videos/dollarpy-omartarek/pushup2.mp4", "model-push-up-side"),  # horizontal body, 8 quick reps
    ("videos/exercises-rnhrn/deadlift.mp4", "model-deadlift-side"),  # hinge, stock clip with captions
]


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize(("rel", "ref_id"), OTHER_CLIPS)
def test_live_rep_count_on_other_exercises_is_within_one_of_the_manifest(library, rel, ref_id):
    from coach.pose import MediaPipeEstimator

    clip = shared_path(rel)
    est = MediaPipeEstimator()
    coach = LiveCoach(library.get(ref_id), estimator=est)
    try:
        for t, rgb in iter_frames(clip, max_side=640):
            coach.process(rgb, t)
    finally:
        est.close()
    # measured: exact on all three (5, 8, 3); off by one allowed like the upload tests
    assert abs(coach.state().reps - _manifest_reps(rel)) <= 1


@pytest.mark.shared
@pytest.mark.slow
def test_live_similarity_is_in_0_1_and_higher_against_the_matching_exercise(library, squat_run):
    sims = np.array([s.similarity for s in squat_run["states"] if s.similarity is not None])
    assert len(sims) > 0.9 * len(squat_run["states"])
    assert np.all((sims >= 0) & (sims <= 1))
    coach = _replay_coach(library, squat_run, UNRELATED_REF)
    img = np.zeros(squat_run["shape"], dtype=np.uint8)
    other = []
    for t in squat_run["times"]:
        coach.process(img, t)
        if coach.state().similarity is not None:
            other.append(coach.state().similarity)
    # measured: 0.95 against the squat reference, 0.36 against the push-up one
    assert sims.mean() > 0.85
    assert np.mean(other) < sims.mean() - 0.3


@pytest.mark.shared
@pytest.mark.slow
def test_live_frames_come_back_with_the_skeleton_drawn_and_in_good_time(squat_run):
    rgb, out = squat_run["first"]
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out is not rgb and np.abs(out.astype(int) - rgb).sum() > 0  # skeleton and caption drawn on a copy
    # pose model + counting + similarity + drawing per frame on this machine: 20 ms median measured
    assert np.median(squat_run["latency_ms"]) < 150


# --- threads: snapshots, dropping ------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_state_snapshots_are_consistent_while_another_thread_feeds_frames(library, squat_run):
    coach = _replay_coach(library, squat_run, SQUAT_REF)
    img = np.zeros(squat_run["shape"], dtype=np.uint8)
    snapshots: list[LiveState] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            for t in squat_run["times"]:
                coach.process(img, t)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    while not done.is_set():
        snapshots.append(coach.state())
        time.sleep(0.0005)
    feeder.join()
    snapshots.append(coach.state())
    assert not errors
    assert len(snapshots) > 10
    for s in snapshots:
        assert s.frames_seen == s.frames_analysed + s.frames_dropped
        assert s.similarity is None or 0.0 <= s.similarity <= 1.0
    seen = [s.frames_seen for s in snapshots]
    reps = [s.reps for s in snapshots]
    assert seen == sorted(seen) and reps == sorted(reps)
    assert snapshots[-1].reps == squat_run["states"][-1].reps  # the same landmarks, fed from a thread
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshots[-1].reps = 99


def _standing(h: int = 480, w: int = 640) -> tuple[np.ndarray, np.ndarray]:
    xy = figure(w / 2, 40, h - 80)
    xyz = np.zeros((N_LANDMARKS, 3), dtype=np.float32)
    xyz[:, :2] = np.nan_to_num(xy, nan=0.0)
    vis = np.where(np.isfinite(xy[:, 0]), 0.99, 0.1).astype(np.float32)
    return xyz, vis


def test_a_frame_arriving_while_another_is_analysed_is_dropped_not_queued(library):
    slow = _Replay([_standing()], delay_s=0.3)
    coach = LiveCoach(library.get(SQUAT_REF), estimator=slow)
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    coach.process(grey, 0.0)  # one analysed frame: there is a skeleton to draw
    busy = threading.Thread(target=coach.process, args=(grey, 0.1))
    busy.start()
    time.sleep(0.05)  # the second frame is in the (slow) model now
    t0 = time.perf_counter()
    out = coach.process(grey, 0.2)
    waited_s = time.perf_counter() - t0
    busy.join()
    assert waited_s < 0.1  # returned at once instead of waiting 0.3 s for the model
    assert out.shape == grey.shape and np.abs(out.astype(int) - grey).sum() > 0  # latest skeleton drawn on it
    s = coach.state()
    assert (s.frames_seen, s.frames_analysed, s.frames_dropped) == (3, 2, 1)
    coach.count_dropped(4)  # frames skipped upstream (streamlit-webrtc's queue) count too
    assert (coach.state().frames_seen, coach.state().frames_dropped) == (7, 5)
    assert slow.i == 2


def test_frames_whose_time_does_not_increase_are_dropped(library):
    coach = LiveCoach(library.get(SQUAT_REF), estimator=_Replay([_standing()]))
    grey = np.full((120, 160, 3), 90, dtype=np.uint8)
    for t in (1.0, 1.0, 0.5, 1.1):
        coach.process(grey, t)
    assert (coach.state().frames_analysed, coach.state().frames_dropped) == (2, 2)


def test_no_person_gives_the_camera_cue_and_no_similarity(library):
    coach = LiveCoach(library.get(SQUAT_REF), estimator=_Replay([None]))
    grey = np.full((120, 160, 3), 90, dtype=np.uint8)
    for i in range(30):
        out = coach.process(grey, i / 30)
    s = coach.state()
    assert s.cue == CUE_NO_PERSON and s.similarity is None and not s.person_visible and s.reps == 0
    # no skeleton: only the "Reps 0" caption at the top-left is drawn
    assert np.array_equal(out[60:], grey[60:]) and not np.array_equal(out[:30, :60], grey[:30, :60])


def test_bad_input_is_refused_with_expected_vs_got(library):
    coach = LiveCoach(library.get(SQUAT_REF), estimator=_Replay([None]))
    with pytest.raises(ValueError, match=r"rgb must be an \(H, W, 3\) uint8 array, got \(4, 4\) uint8"):
        coach.process(np.zeros((4, 4), dtype=np.uint8), 0.0)
    with pytest.raises(ValueError, match=r"window_s must exceed reps\.max_rep_s"):
        LiveSettings(window_s=5.0)
    with pytest.raises(ValueError, match="expected an exercise in"):
        LiveCoach(library.get(SQUAT_REF), "yoga")


# --- the recorder ----------------------------------------------------------------------------------


def _frames(n: int, w: int = 160, h: int = 120) -> list[np.ndarray]:
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), dtype=np.uint8)
        img[:, : (i * 7) % w] = (200, 60, 30)  # a moving edge, so frames differ
        out.append(img)
    return out


def test_recorder_writes_a_playable_h264_mp4_that_keeps_the_frame_times(tmp_path):
    path = tmp_path / "live.mp4"
    times = np.cumsum([0.0] + [0.033 if i % 3 else 0.066 for i in range(1, 45)]) + 1234.5  # camera clock
    rec = LiveRecorder(path)
    for img, t in zip(_frames(45), times, strict=True):
        assert rec.write(img, t)
    result = rec.close()
    assert result.path == path and result.n_frames == 45 and result.frames_dropped == 0
    assert (result.width, result.height) == (160, 120)
    info = probe(path)
    assert info.codec == "h264" and (info.width, info.height) == (160, 120)
    decoded = list(iter_frames(path))
    assert len(decoded) == 45
    got = np.array([t for t, _ in decoded])
    assert np.abs(got - (times - times[0])).max() < 0.002  # variable frame rate kept, millisecond clock
    assert result.duration_s == pytest.approx(times[-1] - times[0] + 1 / (45 / (times[-1] - times[0])), abs=0.01)
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.pix_fmt == "yuv420p" and s.time_base <= Fraction(1, 1000)
    assert [p.name for p in tmp_path.iterdir()] == ["live.mp4"]  # no temporary file left


@pytest.mark.shared
def test_recorder_on_real_frames_decodes_back_like_the_source(tmp_path):
    clip = shared_path(CLIP)
    path = tmp_path / "rec.mp4"
    rec = LiveRecorder(path)
    src = []
    for i, (t, rgb) in enumerate(iter_frames(clip, max_side=320)):
        if i >= 60:
            break
        src.append(rgb)
        rec.write(rgb, t)
    result = rec.close()
    back = [img for _t, img in iter_frames(path)]
    assert result.n_frames == len(back) == 60
    diff = np.mean([np.abs(a.astype(int) - b[: a.shape[0], : a.shape[1]]).mean() for a, b in zip(src, back, strict=True)])
    assert diff < 6  # H.264 at crf 23: close to the source, grey levels 0-255


def test_recorder_resizes_frames_of_another_size_and_pads_odd_sides(tmp_path):
    rec = LiveRecorder(tmp_path / "odd.mp4")
    rec.write(np.zeros((121, 161, 3), dtype=np.uint8), 0.0)
    rec.write(np.zeros((240, 320, 3), dtype=np.uint8), 0.04)  # the browser changed resolution
    result = rec.close()
    assert (result.width, result.height, result.n_frames) == (162, 122, 2)
    assert (probe(result.path).width, probe(result.path).height) == (162, 122)


def test_recorder_drops_frames_after_close_at_the_limit_and_out_of_order(tmp_path):
    rec = LiveRecorder(tmp_path / "limit.mp4", max_duration_s=1.0)
    frames = _frames(4)
    assert rec.write(frames[0], 10.0) and rec.write(frames[1], 10.5)
    assert not rec.write(frames[2], 10.5)  # time did not increase
    assert not rec.write(frames[3], 11.2)  # past max_duration_s
    result = rec.close()
    assert (result.n_frames, result.frames_dropped, result.truncated) == (2, 2, True)
    assert not rec.write(frames[0], 12.0)
    with pytest.raises(ValueError, match=r"frame must be an \(H, W, 3\) uint8 array, got \(2, 2, 3\) float64"):
        rec.write(np.zeros((2, 2, 3)), 13.0)


def test_recorder_without_frames_or_aborted_leaves_nothing(tmp_path):
    empty = LiveRecorder(tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="expected at least one recorded frame, got none"):
        empty.close()
    aborted = LiveRecorder(tmp_path / "aborted.mp4")
    for i, img in enumerate(_frames(5)):
        aborted.write(img, i / 30)
    aborted.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="expected an existing output folder"):
        LiveRecorder(tmp_path / "missing" / "x.mp4")


# --- session and slot ------------------------------------------------------------------------------


def test_slot_starts_a_session_on_the_first_frame_records_all_frames_and_hands_the_recording_once(
    library, tmp_path
):
    slot = LiveSlot()
    grey = np.full((120, 160, 3), 100, dtype=np.uint8)
    assert slot.process_frames([(grey, 0.0)]) is None and slot.state() is None  # not armed: pass through
    started = []

    def factory() -> LiveSession:
        started.append(threading.current_thread().name)
        coach = LiveCoach(library.get(SQUAT_REF), estimator=_Replay([_standing(120, 160)]))
        return LiveSession(coach, LiveRecorder(tmp_path / "session.mp4"))

    assert slot.arm(factory) and not slot.arm(factory)  # arming twice keeps the first
    out = slot.process_frames([(grey, 0.0), (grey, 0.033), (grey, 0.066)])  # a burst: record 3, analyse 1
    assert out.shape == grey.shape
    slot.process_frames([(grey, 0.1)])
    assert len(started) == 1
    s = slot.state()
    assert (s.frames_seen, s.frames_analysed, s.frames_dropped) == (4, 2, 2)
    # the camera track ends (media thread) and the page notices (script thread) at about the same time
    stoppers = [threading.Thread(target=slot.stop) for _ in range(2)]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    rec = slot.take_recording()
    assert rec is not None and rec.n_frames == 4 and rec.path.is_file()
    assert slot.take_recording() is None
    assert slot.process_frames([(grey, 0.2)]) is None and not slot.armed
    assert slot.state() == s  # the last session's final state stays readable


# --- ICE servers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),  # nothing configured: no STUN/TURN (localhost)
        ("", []),  # empty environment variable
        ('[{"urls": "stun:stun.example.org:3478"}]', [{"urls": "stun:stun.example.org:3478"}]),  # JSON text
        ({"urls": ["turn:t.example.org:3478?transport=udp", "turns:t.example.org:5349"], "username": "u",
          "credential": "p"},
         [{"urls": ["turn:t.example.org:3478?transport=udp", "turns:t.example.org:5349"], "username": "u",
           "credential": "p"}]),  # one table, as in secrets.toml
    ],
)
def test_ice_servers_are_read_from_a_list_json_or_one_table(value, expected):
    assert parse_ice_servers(value, source="test") == expected
    assert rtc_configuration(expected) == {"iceServers": expected}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("[{", r"FORM_COACH_ICE_SERVERS: expected a JSON list of ICE servers, got invalid JSON"),
        ('"turn:x"', r"expected a list of ICE servers, got str"),
        ([{"urls": "http://turn.example.org"}], r"expected server 0 'urls' to be stun:/turn:/turns: URLs"),
        ([{"url": "turn:x"}], r"expected server 0 'urls' to be stun:/turn:/turns: URLs, got None"),
        ([{"urls": "turn:x", "credential": 42}], r"expected server 0 'credential' to be text, got int"),
        (["turn:x"], r"expected server 0 to be a table with 'urls', got str"),
    ],
)
def test_bad_ice_servers_say_what_was_expected(value, match):
    with pytest.raises(ValueError, match=match):
        parse_ice_servers(value, source="FORM_COACH_ICE_SERVERS")


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """Own data folder, no ICE setting, and streamlit-webrtc told there is no live server session:
    AppTest's runtime is a mock that its session lookup does not expect (it returns None outside
    a live run, which the component handles)."""
    import streamlit_webrtc.component
    import streamlit_webrtc.shutdown

    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FORM_COACH_ICE_SERVERS", raising=False)
    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    monkeypatch.setattr(streamlit_webrtc.shutdown, "get_this_session_info", lambda: None)
    return tmp_path / "home"


@pytest.mark.shared
@pytest.mark.slow
def test_a_recording_that_dropped_frames_in_bursts_is_timed_and_counted_right(tmp_path):
    """A busy machine's recorder kept every frame for 2 s, then every 3rd: the file's frames are
    uneven in time. The analysis puts them back on the camera's clock (the same 3 reps as the
    full recording), and the annotated video keeps each frame's time."""
    from coach.analysis import analyze_video
    from coach.overlay import write_annotated_video

    path = tmp_path / "dropped.mp4"
    rec = LiveRecorder(path)
    fed = 0
    for i, (t, rgb) in enumerate(iter_frames(shared_path(CLIP), max_side=480)):
        if i < 60 or i % 3 == 0:
            _write_waiting(rec, rgb, t)
            fed += 1
    assert rec.close().n_frames == fed
    a = analyze_video(path, reference_id=SQUAT_REF, exercise="squat", use_cache=False)
    assert a.poses.fps == pytest.approx(30.0, rel=0.01)
    assert a.poses.meta["even_clock_added_frames"] == pytest.approx(2 * (fed - 60), abs=2)
    assert a.reps.count == _manifest_reps(CLIP)
    assert all(r.end_s - r.start_s > 1.0 for r in a.reps.reps)  # squats of 1.5-2 s, none split in two
    out = tmp_path / "dropped-annotated.mp4"
    write_annotated_video(a, out, video_path=path)
    src = np.array([t for t, _ in iter_frames(path, max_side=64)])
    got = np.array([t for t, _ in iter_frames(out, max_side=64)])
    assert got.shape == src.shape and np.abs(got - src).max() < 0.002


def _write_waiting(rec: LiveRecorder, rgb: np.ndarray, t: float, timeout_s: float = 30.0) -> None:
    """Write one frame, waiting while the encoder's queue is full: a camera's frames are dropped
    then (by design), but a test feeding a file as fast as it decodes must record all of it."""
    deadline = time.monotonic() + timeout_s
    while not rec.write(rgb, t):
        assert time.monotonic() < deadline, f"the recorder took no frame at t={t:.3f} s for {timeout_s:g} s"
        time.sleep(0.01)


def _page():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "pages" / "live.py"), default_timeout=120)


def test_live_page_renders_its_choices_and_the_camera_without_an_exception(home):
    at = _page().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Live coach"]
    assert at.selectbox(key="live_ex").value == "squat"
    assert at.selectbox(key="live_ref").value == SQUAT_REF
    assert any("Press **START**" in i.value for i in at.info)
    at.selectbox(key="live_ex").set_value("push_up").run()
    assert not at.exception
    assert at.selectbox(key="live_ref").value == "model-push-up-side"
    assert not [b for b in at.button if b.key == "live_analyze"]  # nothing recorded yet


def test_live_page_shows_a_bad_ice_setting_and_still_renders(home, monkeypatch):
    monkeypatch.setenv("FORM_COACH_ICE_SERVERS", "[{")
    at = _page().run()
    assert not at.exception
    assert any("FORM_COACH_ICE_SERVERS: expected a JSON list" in e.value for e in at.error)


@pytest.mark.shared
@pytest.mark.slow
def test_analyze_this_recording_runs_the_upload_pipeline_and_shows_the_results(home, tmp_path):
    clip = shared_path(CLIP)
    path = tmp_path / "live-test.mp4"
    rec = LiveRecorder(path)
    fed = 0
    for t, rgb in iter_frames(clip, max_side=480):
        _write_waiting(rec, rgb, t)
        fed += 1
    recording = rec.close()
    assert recording.n_frames == fed  # the whole clip, not what a busy machine's encoder kept up with
    at = _page()
    at.session_state["live_recording"] = {
        "path": str(path), "duration_s": recording.duration_s, "frames": recording.n_frames, "truncated": False,
        "reference": SQUAT_REF, "exercise": "squat",
    }
    at.run()
    assert not at.exception
    at.button(key="live_analyze").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert abs(int(metrics["Reps"]) - _manifest_reps(CLIP)) <= 1  # path-dependent first rep: see above
    assert metrics["Score"].endswith("/ 100")
    assert any("What to work on" in m.value for m in at.markdown)
    assert len(at.get("video")) == 1  # the annotated recording
    assert path.with_name("live-test-annotated.mp4").is_file()
    at.run()  # a rerun shows the stored results without running the analysis again
    assert not [b for b in at.button if b.key == "live_analyze"]
    assert {m.label: m.value for m in at.metric}["Reps"] == str(_manifest_reps(CLIP))


def test_live_body_line_cue_names_the_knee_when_the_feet_are_out_of_view(library):
    """A model push-up with sagging hips and the feet out of view (a phone close to the floor):
    each rep's cue is the body line, measured to the knee, and says so."""
    from coach import bodymodel as bm
    from coach.schema import L

    p = bm.generate("push_up", "side", reps=3, seed=2, jitter_frac=0.0)
    xyz = np.array(p.poses.xyz, dtype=np.float32)
    vis = np.array(p.poses.visibility, dtype=np.float32)
    vis[:, [L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]] = 0.05
    torso = np.linalg.norm(xyz[:, L.LEFT_SHOULDER, :2] - xyz[:, L.LEFT_HIP, :2], axis=-1)
    xyz[:, [L.LEFT_HIP, L.RIGHT_HIP], 1] += 0.35 * torso[:, None]  # the hips sag
    coach = LiveCoach(library.get(UNRELATED_REF), "push_up", estimator=_Replay(list(zip(xyz, vis, strict=True))))
    w, h = p.poses.frame_size
    grey = np.full((int(h), int(w), 3), 128, dtype=np.uint8)
    cues = []
    for t in p.poses.timestamps_s:
        coach.process(grey, float(t))
        cues.append(coach.state().cue)
    rep_cues = sorted({c for c in cues if c.startswith("Rep ")})
    assert coach.state().reps == 3 and len(rep_cues) == 3, rep_cues
    assert all("shoulder-hip-knee line bent" in c for c in rep_cues), rep_cues


def test_live_rep_cue_leaves_out_a_limb_pointing_at_the_camera(library, monkeypatch):
    """A model push-up whose upper arms are drawn end-on at each bottom (the elbow beside the
    shoulder): their 2-D angles read nonsense there, so no rep cue is about them, as in the
    uploaded-video analysis. Without that check each rep read "shoulder bent 135° less"."""
    from coach import bodymodel as bm
    from coach import live as live_module
    from coach.schema import L

    p = bm.generate("push_up", "side", reps=3, seed=2, jitter_frac=0.0)
    xyz = np.array(p.poses.xyz, dtype=np.float32)
    vis = np.array(p.poses.visibility, dtype=np.float32)
    for _a, peak, _b in p.rep_bounds_s:
        fr = np.flatnonzero(np.abs(p.poses.timestamps_s - peak) < 0.3)
        for e, s, w in ((L.LEFT_ELBOW, L.LEFT_SHOULDER, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_SHOULDER, L.RIGHT_WRIST)):
            d = xyz[fr, w, :2] - xyz[fr, s, :2]
            xyz[fr, e, :2] = xyz[fr, s, :2] + 0.1 * d[:, ::-1] * np.array([1, -1])
    w, h = p.poses.frame_size
    grey = np.full((int(h), int(w), 3), 128, dtype=np.uint8)

    def rep_cues() -> list[str]:
        coach = LiveCoach(library.get("model-push-up-side"), "push_up",
                          estimator=_Replay(list(zip(xyz, vis, strict=True))))
        cues = []
        for t in p.poses.timestamps_s:
            coach.process(grey, float(t))
            cues.append(coach.state().cue)
        assert coach.state().reps == 3
        return sorted({c for c in cues if c.startswith("Rep ")})

    cues = rep_cues()
    assert len(cues) == 3 and not any("shoulder" in c or "elbow" in c for c in cues), cues
    monkeypatch.setattr(live_module, "foreshortened", lambda xy, names, **k: np.zeros((len(xy), len(names)), bool))
    assert any("shoulder bent" in c for c in rep_cues())  # the check is what keeps them out


@pytest.mark.parametrize("speedup", [1.0, 3.0])
def test_live_rep_cue_says_slow_down_when_reps_are_rushed(library, speedup):
    """Model push-ups fed at the reference's pace get no tempo cue; at three times its pace (~0.5 s
    a rep against ~1.5 s) every rep's cue is the rushed-rep one, as in the uploaded-video analysis.
    (The stream stops right after the last rep, so at 3x that one may not be confirmed yet.)"""
    from coach import bodymodel as bm

    p = bm.generate("push_up", "side", reps=3, seed=2, jitter_frac=0.0)
    coach = LiveCoach(library.get("model-push-up-side"), "push_up",
                      estimator=_Replay(list(zip(p.poses.xyz, p.poses.visibility, strict=True))))
    w, h = p.poses.frame_size
    grey = np.full((int(h), int(w), 3), 128, dtype=np.uint8)
    cues = []
    for t in p.poses.timestamps_s / speedup:
        coach.process(grey, float(t))
        cues.append(coach.state().cue)
    rep_cues = sorted({c for c in cues if c.startswith("Rep ")})
    assert coach.state().reps >= 2 and len(rep_cues) == coach.state().reps, rep_cues
    rushed = [c for c in rep_cues if "slow down" in c]
    assert len(rushed) == (len(rep_cues) if speedup > 1 else 0), rep_cues
    assert all("under half the reference's" in c for c in rushed)
