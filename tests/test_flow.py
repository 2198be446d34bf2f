"""Optical-flow rep counting: a synthetic video with a known number of moves, then a real clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach.flow import (
    FLOW_REP_SETTINGS,
    count_reps_flow,
    count_reps_flow_signal,
    flow_position,
    person_roi,
    vertical_flow,
    vertical_flow_signal,
)

FPS = 30
W, H = 160, 120
SIDE = 32  # square side, pixels


def _texture(rng: np.random.Generator, h: int, w: int, lo: int, hi: int) -> np.ndarray:
    """Blocky random texture (4-px cells) so the flow has something to lock on to."""
    cells = rng.integers(lo, hi, size=(h // 4 + 1, w // 4 + 1), dtype=np.uint8)
    return np.kron(cells, np.ones((4, 4), dtype=np.uint8))[:h, :w]


def square_frames(n_moves: int, *, move_s: float = 1.6, rest_s: float = 0.8, travel: int = 50, seed: int = 0):
    """(time_s, rgb) frames of a textured square on a darker textured background that rests at the
    top, moves down by `travel` px and back up n_moves times (raised-cosine path), resting between."""
    rng = np.random.default_rng(seed)
    bg = _texture(rng, H, W, 20, 90)
    sq = _texture(rng, SIDE, SIDE, 150, 255)
    rest = np.zeros(round(rest_s * FPS))
    move = travel * 0.5 * (1 - np.cos(2 * np.pi * np.arange(round(move_s * FPS)) / (move_s * FPS)))
    path = np.concatenate([rest, *[np.concatenate([move, rest]) for _ in range(n_moves)]])
    x0, y0 = (W - SIDE) // 2, 12
    for i, dy in enumerate(path):
        img = bg.copy()
        y = y0 + round(dy)
        img[y : y + SIDE, x0 : x0 + SIDE] = sq
        yield i / FPS, np.repeat(img[:, :, None], 3, axis=2)


def write_video(path: Path, frames) -> Path:
    import av

    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 2_000_000
        for _t, rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("n", [1, 4])
def test_square_moving_down_and_up_n_times_gives_n_reps(tmp_path, n):
    video = write_video(tmp_path / f"square{n}.mp4", square_frames(n))
    res = count_reps_flow(video)
    assert res.method == "flow"
    assert res.count == n
    starts = 0.8 + 2.4 * np.arange(n)  # rest 0.8 s, then a 1.6-s move and 0.8-s rest each
    peaks = np.array([r.peak_s for r in res.reps])
    assert np.abs(peaks - (starts + 0.8)).max() <= 0.15  # the bottom of each move


def test_flow_signal_grows_when_the_square_moves_down():
    ts, vel, height = vertical_flow(square_frames(1))
    pos = flow_position(vel, fps=FPS, height_px=height, max_rep_s=12.0)
    bottom = round(1.6 * FPS)  # 0.8 s rest + half of the 1.6-s move
    assert pos[bottom] - pos[0] > 0.02
    assert vel[: int(0.8 * FPS) - 1].max() < 0.05  # resting square: (almost) no motion
    assert ts[1] == pytest.approx(1 / FPS)


def test_roi_that_misses_the_mover_sees_no_reps(tmp_path):
    video = write_video(tmp_path / "square.mp4", square_frames(3))
    left_strip = (0.0, 0.0, 40.0, float(H))  # the square moves in the middle columns
    assert count_reps_flow(video, roi=left_strip).count == 0
    middle = (50.0, 0.0, 110.0, float(H))
    assert count_reps_flow(video, roi=middle).count == 3


def test_still_video_counts_zero(tmp_path):
    video = write_video(tmp_path / "still.mp4", square_frames(0, rest_s=6.0))
    ts, sig = vertical_flow_signal(video)
    assert ts.size == 180
    res = count_reps_flow_signal(ts, sig, fps=FPS)
    assert res.count == 0


@pytest.mark.parametrize(
    "roi,match",
    [
        ((10.0, 10.0, 5.0, 20.0), r"roi must be \(x0, y0, x1, y1\) with x1 > x0 and y1 > y0"),
        ((0.0, 0.0, 1.0), "roi must be 4 finite numbers"),
    ],
)
def test_bad_roi_says_expected_vs_got(roi, match):
    with pytest.raises(ValueError, match=match):
        vertical_flow(iter([]), roi=roi)


def test_person_roi_boxes_the_landmarks_with_a_margin():
    xy = np.full((5, 33, 2), np.nan)
    xy[:, 0] = (100.0, 50.0)
    xy[:, 1] = (200.0, 250.0)
    box = person_roi(xy, (640, 480), margin=0.1)
    assert box == pytest.approx((90.0, 30.0, 210.0, 270.0))
    assert person_roi(np.full((5, 33, 2), np.nan), (640, 480)) is None


def test_flow_settings_floor_is_in_flow_units():
    assert FLOW_REP_SETTINGS.min_amplitude < 0.01  # not the pose floor in torso lengths


# Real clip: the flow count is asserted within ±1 of the truth (flow sees every moving pixel; it is a
# second opinion, not the primary count). It is exact on this clip today.
@pytest.mark.shared
def test_real_squat_clip_flow_count_within_one():
    from tests.conftest import shared_path

    res = count_reps_flow(shared_path("videos/formfit-jrplatin/squat.mp4"))
    assert abs(res.count - 3) <= 1


# --- the analysis' flow check ----------------------------------------------------------------------


def _rep_result(count: int, confidence: float, method: str = "exercise"):
    from coach.reps import Rep, RepResult

    reps = tuple(Rep(i + 1, 0, 1, 2, 0.0, 0.5, 1.0, 1.0, False) for i in range(count))
    return RepResult(reps, (), method, np.zeros(3), confidence, 1.0)


def _video(duration_s: float = 10.0, path: str = "clip.mp4"):
    from coach.video import VideoInfo

    return VideoInfo(path, 640, 360, 30.0, duration_s, int(30 * duration_s), 0, "h264", None, 1000)


def _poses():
    from coach.pose import PoseSequence

    xyz = np.full((3, 33, 3), np.nan)
    xyz[:, :, :2] = np.random.default_rng(0).uniform(100, 300, (3, 33, 2))
    return PoseSequence(xyz=xyz, visibility=np.ones((3, 33)), timestamps_s=np.arange(3) / 30, fps=30.0,
                        frame_size=(640, 360))


@pytest.mark.parametrize(
    ("video", "share", "confidence", "why"),
    [
        (None, 0.5, 0.3, "no video file (keypoints)"),
        (_video(), 0.9, 0.3, "the person was found in most frames"),
        (_video(), 0.5, 0.8, "a confident pose count"),
        (_video(120.0), 0.5, 0.3, "a clip too long to check"),
    ],
)
def test_the_flow_check_runs_only_when_the_pose_count_is_doubtful(monkeypatch, video, share, confidence, why):
    from coach import analysis, flow

    def fail(*_a, **_k):
        raise AssertionError(f"flow counted although {why}")

    monkeypatch.setattr(flow, "count_reps_flow", fail)
    assert analysis.flow_check(video, _poses(), share, _rep_result(4, confidence)) is None


@pytest.mark.parametrize(("flow_count", "flow_conf", "taken"), [(8, 0.9, True), (4, 0.9, False), (8, 0.45, False)])
def test_a_more_confident_different_flow_count_is_the_count(monkeypatch, tmp_path, flow_count, flow_conf, taken):
    """Pose: 4 reps at confidence 0.3 with the person in 58 % of the frames. Flow's count is the
    count when it differs and is at least 0.2 more confident; the box it looks in is the
    person's; a second analysis of the same file (another reference) does not count again."""
    from coach import analysis, flow

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not decoded: count_reps_flow is replaced")
    calls = []

    def fake(path, *, roi=None, **_k):
        calls.append((path, roi))
        return _rep_result(flow_count, flow_conf)

    monkeypatch.setattr(flow, "count_reps_flow", fake)
    got = analysis.flow_check(_video(path=str(clip)), _poses(), 0.58, _rep_result(4, 0.3))
    again = analysis.flow_check(_video(path=str(clip)), _poses(), 0.58, _rep_result(4, 0.3))
    assert again is got and len(calls) == 1
    assert calls[0][0] == str(clip) and calls[0][1] is not None
    assert (got.count if got is not None else None) == (flow_count if taken else None)


def test_the_checked_count_keeps_the_pose_reps_for_scoring(monkeypatch, tmp_path):
    """`count_reps_checked`: flow's count replaces a doubtful pose count, the pose's reps stay
    (they are what the comparison can score) and the note gives both counts."""
    from coach import analysis, flow
    from coach.clean import CleanResult

    clip = tmp_path / "clip2.mp4"
    clip.write_bytes(b"not decoded")
    monkeypatch.setattr(flow, "count_reps_flow", lambda path, **_k: _rep_result(8, 0.9, "flow"))
    monkeypatch.setattr(analysis, "count_exercise_reps", lambda *_a, **_k: _rep_result(4, 0.3))
    cleaned = CleanResult(poses=_poses(), interpolated=np.zeros((3, 33), dtype=bool), gaps=(),
                          coverage=np.ones(33), person_frames=0.58)
    got = analysis.count_reps_checked(cleaned, None, analysis.DEFAULT_SETTINGS, _video(path=str(clip)))
    assert (got.count, got.method, got.reps.count, got.reps.method) == (8, "flow", 4, "exercise")
    assert got.note == ("8 reps counted from the motion in the video: the pose model lost you in 42% of the "
                        "frames and counted 4 (the scores cover the reps it counted)")
    kept = analysis.count_reps_checked(cleaned, None, analysis.DEFAULT_SETTINGS, None)
    assert (kept.count, kept.flow, kept.note) == (4, None, None)
