"""Someone else in the picture: the pose model follows one person, so another person in view is
looked for on a few frames with the tracked one masked out (coach.pose.MediaPipeEstimator
.other_person), and the analysis warns when one keeps turning up.

The real case is built from a real clip: the same lifter twice, side by side (ffmpeg hstack), is
two people of the same size; the clip alone is one. (Real two-person clips in ../shared are
1.3-2 s long: one look of two finds the partner, below what the warning asks for.)
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from coach.feedback import camera_warnings
from coach.pose import (
    OTHER_PERSON_MIN_HEIGHT,
    MediaPipeEstimator,
    OtherPersonSchedule,
    mask_person,
    other_height,
    others_in_view,
)
from coach.schema import CORE_LANDMARKS, N_LANDMARKS, L
from tests.conftest import shared_path

CLIP = "videos/formfit-jrplatin/squat.mp4"  # one lifter, 8.5 s


def _standing(x0: float, top: float = 20.0, height: float = 160.0) -> np.ndarray:
    xy = np.full((N_LANDMARKS, 2), np.nan)
    for k, lm in enumerate(CORE_LANDMARKS):
        xy[lm] = (x0 + (k % 3) * 5, top + height * k / (len(CORE_LANDMARKS) - 1))
    return xy


def test_mask_person_greys_the_padded_box_of_the_tracked_person_only():
    rgb = np.full((240, 320, 3), 200, np.uint8)
    masked, height = mask_person(rgb, _standing(100.0))
    assert height == pytest.approx(160.0)
    assert (masked[100, 105] == 127).all()  # on the body
    assert (masked[100, 300] == 200).all()  # far to the side: untouched
    assert (rgb == 200).all()  # the frame itself is not changed
    few = np.full((N_LANDMARKS, 2), np.nan)
    few[[L.NOSE, L.LEFT_HIP, L.RIGHT_HIP]] = 50.0
    assert mask_person(rgb, few) is None


def test_other_height_needs_a_clearly_seen_person():
    xyz = np.zeros((N_LANDMARKS, 3))
    xyz[:, :2] = _standing(0.0, height=80.0)
    vis = np.ones(N_LANDMARKS)
    assert other_height(xyz, vis, 160.0) == pytest.approx(0.5)
    vis[[int(j) for j in CORE_LANDMARKS][:10]] = 0.2  # a remnant: 7 core joints seen
    assert other_height(xyz, vis, 160.0) is None


def test_schedule_looks_twice_in_the_first_second_then_sparsely():
    s = OtherPersonSchedule()
    times = [t for t in np.arange(0, 120, 1 / 30) if s.due(float(t))]
    assert len([t for t in times if t < 1.3]) == 2  # a 1.3 s clip gets two looks
    assert len(times) <= 12  # two minutes: a few dozen ms of work, not seconds


def test_schedule_runs_on_clip_time_so_a_split_clip_gets_the_same_looks():
    ts = np.arange(0, 40, 1 / 30)
    whole = OtherPersonSchedule()
    one = [t for t in ts if whole.due(float(t))]
    cut = len(ts) // 2  # the second worker starts here after 15 warm-up frames
    first, second = OtherPersonSchedule(), OtherPersonSchedule()
    looks = [t for t in ts[:cut] if first.due(float(t))]
    for t in ts[cut - 15:cut]:
        assert not second.due(float(t), look=False)
    looks += [t for t in ts[cut:] if second.due(float(t))]
    assert looks == one and len(one) == 6  # 0.25, 1, 6, 11, 16, 21 s
    # a short clip split in two: the second half (2.4 s on) gets no look of its own
    s = OtherPersonSchedule()
    assert not [t for t in np.arange(2.4, 4.8, 1 / 30) if s.due(float(t))]
    # a look falls due while no one is in view: it runs on the next frame with a person
    s = OtherPersonSchedule()
    ts = [round(k * 0.1, 1) for k in range(20)]
    assert [t for t in ts if s.due(t, person=t > 0.55)] == [0.6, 1.0]


def test_warning_needs_the_other_person_on_two_looks_and_half_of_them():
    def warn(seen):
        return [w for w in camera_warnings(
            person_frames=1.0, coverage=np.ones(N_LANDMARKS), key_landmarks=(), out_of_frame=0.0,
            view="side", exercise=__import__("coach.exercises").exercises.get_exercise("squat"),
            view_confidence=1.0, identity_jumps=0, long_gaps_s=0.0, excluded=(), others_seen=seen,
        ) if "another person" in w]

    assert warn(others_in_view([0.9, 0.8, None, None]))
    assert "2 of 4" in warn(others_in_view([0.9, 0.8, None, None]))[0]
    assert not warn(others_in_view([0.9, None, None, None]))  # one look: also a half-masked limb
    assert not warn(others_in_view([0.3, 0.2, 0.3]))  # small people far behind
    assert not warn(others_in_view(None)) and others_in_view(None) == (0, 0)
    assert OTHER_PERSON_MIN_HEIGHT == pytest.approx(0.4)


@pytest.mark.shared
def test_a_second_copy_of_the_lifter_is_found_and_the_lifter_alone_is_not():
    from coach.video import iter_frames

    frame = next(rgb for k, (_t, rgb) in enumerate(iter_frames(shared_path(CLIP), max_side=640)) if k == 120)
    est = MediaPipeEstimator()
    try:
        alone = est.process(frame)
        assert alone is not None
        assert est.other_person(frame, alone[0]) is None
        twice = np.ascontiguousarray(np.concatenate([frame, frame], axis=1))
        est2 = MediaPipeEstimator()
        try:
            tracked = est2.process(twice)
            assert tracked is not None
            rel = est2.other_person(twice, tracked[0])
        finally:
            est2.close()
    finally:
        est.close()
    assert rel is not None and 0.8 < rel < 1.25  # the same lifter: the same height


@pytest.mark.shared
@pytest.mark.slow
def test_analysis_warns_about_a_second_person_beside_the_lifter(tmp_path, monkeypatch):
    from coach.analysis import analyze_video

    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path / "home"))
    src = shared_path(CLIP)
    two = tmp_path / "two_lifters.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-i", str(src), "-filter_complex",
                    "[0:v][1:v]hstack", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(two)], check=True)
    a = analyze_video(two, exercise="squat")
    checks = a.poses.meta.get("others") if isinstance(a.poses.meta, dict) else None
    warned = [w for w in a.warnings if "another person is in view" in w]
    assert warned, (a.warnings, checks)
    single = analyze_video(src, exercise="squat")
    assert not [w for w in single.warnings if "another person" in w], single.warnings
