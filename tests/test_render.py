"""coach.render: severity colours, what is (not) drawn, ghost blending, captions, and the
annotated/pose videos as files a browser can play."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from coach.render import (
    AMBER,
    GHOST_ALPHA,
    GHOST_COLOR,
    GREEN,
    GREY,
    LIGHT_CANVAS,
    RED,
    USER_COLOR,
    draw_caption,
    draw_skeleton,
    render_annotated_video,
    render_pose_image,
    render_pose_video,
    severity_color,
)
from coach.schema import N_LANDMARKS, L
from tests.conftest import shared_path

SHORT = "videos/compubox-shangar21/cross_hook.mp4"  # 38 frames, 1080x1920 upright

# A standing figure as (x, y) fractions of its height, centred on x = 0.
_FIGURE = {
    L.NOSE: (0, 0.05), L.LEFT_EYE: (0.02, 0.03), L.RIGHT_EYE: (-0.02, 0.03),
    L.LEFT_EAR: (0.05, 0.04), L.RIGHT_EAR: (-0.05, 0.04),
    L.LEFT_SHOULDER: (0.12, 0.18), L.RIGHT_SHOULDER: (-0.12, 0.18),
    L.LEFT_ELBOW: (0.16, 0.35), L.RIGHT_ELBOW: (-0.16, 0.35),
    L.LEFT_WRIST: (0.18, 0.5), L.RIGHT_WRIST: (-0.18, 0.5),
    L.LEFT_INDEX: (0.19, 0.55), L.RIGHT_INDEX: (-0.19, 0.55),
    L.LEFT_HIP: (0.08, 0.52), L.RIGHT_HIP: (-0.08, 0.52),
    L.LEFT_KNEE: (0.09, 0.75), L.RIGHT_KNEE: (-0.09, 0.75),
    L.LEFT_ANKLE: (0.09, 0.95), L.RIGHT_ANKLE: (-0.09, 0.95),
    L.LEFT_HEEL: (0.08, 0.97), L.RIGHT_HEEL: (-0.08, 0.97),
    L.LEFT_FOOT_INDEX: (0.13, 0.99), L.RIGHT_FOOT_INDEX: (-0.13, 0.99),
}


def figure(cx: float, top: float, height: float) -> np.ndarray:
    """(33, 2) pixels; landmarks not in _FIGURE (inner eyes, mouth, pinky, thumb) are NaN."""
    xy = np.full((N_LANDMARKS, 2), np.nan)
    for lm, (x, y) in _FIGURE.items():
        xy[lm] = (cx + x * height, top + y * height)
    return xy


def px(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return img[round(xy[1]), round(xy[0])].astype(int)


def read_back(path: Path) -> tuple[av.video.stream.VideoStream, list[np.ndarray]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s, [f.to_ndarray(format="rgb24") for f in c.decode(s)]


def near(color: np.ndarray, expected: tuple[int, int, int], tol: int = 40) -> bool:
    return bool(np.all(np.abs(np.asarray(color, int) - expected) <= tol))


# --- colours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (np.nan, GREY),  # not judged or hidden
        (0.0, GREEN),
        (1.0, GREEN),  # at the tolerance: still within it
        (1.5, AMBER),
        (2.0, AMBER),
        (2.01, RED),
        (9.0, RED),
    ],
)
def test_severity_bands(severity, expected):
    assert severity_color(severity) == expected


# --- draw_skeleton ----------------------------------------------------------------------


def test_joints_take_their_severity_colour():
    img = np.zeros((400, 300, 3), np.uint8)
    xy = figure(150, 20, 360)
    sev = np.full(N_LANDMARKS, np.nan)
    sev[L.LEFT_KNEE], sev[L.RIGHT_KNEE], sev[L.LEFT_ELBOW] = 3.0, 0.5, 1.5
    draw_skeleton(img, xy, severity=sev)
    assert tuple(px(img, xy[L.LEFT_KNEE])) == RED
    assert tuple(px(img, xy[L.RIGHT_KNEE])) == GREEN
    assert tuple(px(img, xy[L.LEFT_ELBOW])) == AMBER
    assert tuple(px(img, xy[L.LEFT_SHOULDER])) == GREY  # given severity, but this joint not judged


def test_red_joint_is_drawn_larger():
    xy = figure(150, 20, 360)
    sizes = {}
    for s in (0.5, 3.0):
        img = np.zeros((400, 300, 3), np.uint8)
        sev = np.full(N_LANDMARKS, np.nan)
        sev[L.LEFT_KNEE] = s
        draw_skeleton(img, xy, severity=sev)
        colour = RED if s > 2 else GREEN
        x, y = np.round(xy[L.LEFT_KNEE]).astype(int)
        row = img[y, x - 20 : x + 21]
        sizes[s] = int(np.sum(np.all(row == colour, axis=1)))
    assert sizes[3.0] > sizes[0.5] + 2


def test_without_severity_joints_use_the_given_colour():
    img = np.zeros((400, 300, 3), np.uint8)
    xy = figure(150, 20, 360)
    draw_skeleton(img, xy, color=(10, 20, 250))
    assert tuple(px(img, xy[L.LEFT_HIP])) == (10, 20, 250)


def test_missing_joints_and_their_edges_are_not_drawn():
    xy = figure(150, 20, 360)
    wrist = xy[L.LEFT_WRIST].copy()
    xy[L.LEFT_WRIST] = np.nan
    img = np.zeros((400, 300, 3), np.uint8)
    draw_skeleton(img, xy)
    mid = (xy[L.LEFT_ELBOW] + wrist) / 2  # where the forearm would be
    assert px(img, mid).sum() == 0
    assert px(img, wrist).sum() == 0
    assert img[:3, :3].sum() == 0  # NaN never turns into a joint at (0, 0)
    assert tuple(px(img, xy[L.LEFT_ELBOW])) == USER_COLOR


def test_all_missing_draws_nothing():
    img = np.full((50, 50, 3), 7, np.uint8)
    draw_skeleton(img, np.full((N_LANDMARKS, 2), np.nan))
    assert np.all(img == 7)


def test_ghost_is_blended_not_opaque():
    img = np.zeros((400, 300, 3), np.uint8)
    xy = figure(150, 20, 360)
    draw_skeleton(img, xy, color=GHOST_COLOR, ghost=True)
    got = px(img, xy[L.LEFT_HIP])
    expected = np.round(np.array(GHOST_COLOR) * GHOST_ALPHA)
    assert np.all(np.abs(got - expected) <= 2)
    assert img.sum() > 0


def test_ghost_reads_on_a_white_background():
    """Light cyan alone blended to (208, 248, 255) on white, all but invisible; the darker edge
    under it keeps a clear outline."""
    img = np.full((400, 300, 3), 255, np.uint8)
    draw_skeleton(img, figure(150, 20, 360), color=GHOST_COLOR, ghost=True)
    assert int(img.astype(int).sum(axis=2).min()) < 560  # white is 765


def test_ghost_with_severity_is_refused():
    with pytest.raises(ValueError, match="severity must be None for a ghost skeleton"):
        draw_skeleton(
            np.zeros((10, 10, 3), np.uint8), figure(5, 0, 10), severity=np.zeros(N_LANDMARKS), ghost=True
        )


@pytest.mark.parametrize(
    ("img", "xy", "severity", "pattern"),
    [
        (np.zeros((10, 10), np.uint8), np.zeros((33, 2)), None, r"img must be an \(H, W, 3\) uint8 array, got \(10, 10\)"),
        (np.zeros((10, 10, 3), np.float32), np.zeros((33, 2)), None, r"got \(10, 10, 3\) float32"),
        (np.zeros((10, 20, 3), np.uint8)[:, ::2], np.zeros((33, 2)), None, "C-contiguous and writeable"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((17, 2)), None, r"xy must have shape \(33, 2\), got \(17, 2\)"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((33, 2)), np.zeros(17), r"severity must have shape \(33,\), got \(17,\)"),
    ],
)
def test_draw_skeleton_validates_inputs(img, xy, severity, pattern):
    with pytest.raises(ValueError, match=pattern):
        draw_skeleton(img, xy, severity=severity)


# --- captions and body map ----------------------------------------------------------------


def test_caption_box_is_dark_with_light_text_top_left():
    img = np.full((200, 300, 3), 200, np.uint8)
    draw_caption(img, "squat  rep 2/5  knee 12° – too deep " * 4)  # too long, non-ASCII
    box = img[5:30, 5:290]
    assert box.min() < 80  # darkened box
    assert box.max() > 230  # white text
    assert np.all(img[150:, :] == 200)  # the rest of the frame untouched


def test_empty_caption_changes_nothing():
    img = np.full((40, 40, 3), 200, np.uint8)
    draw_caption(img, "   ")
    assert np.all(img == 200)


def test_body_map_fills_the_canvas_and_marks_deviating_joints():
    xy = figure(900, 600, 300)  # a small person in a big frame
    sev = np.full(N_LANDMARKS, np.nan)
    sev[L.RIGHT_KNEE] = 2.5
    img = render_pose_image(xy, (1920, 1080), severity=sev, size=(240, 320))
    assert img.shape == (320, 240, 3)
    assert tuple(img[0, 0]) == LIGHT_CANVAS
    drawn_rows = np.flatnonzero(np.any(img != LIGHT_CANVAS, axis=(1, 2)))
    assert drawn_rows.max() - drawn_rows.min() > 0.6 * 320  # zoomed to the figure
    assert np.any(np.all(img == RED, axis=2))
    assert np.any(np.all(img == GREY, axis=2))  # not judged joints stay grey


def test_body_map_without_fit_keeps_the_frame_layout():
    xy = figure(900, 600, 300)
    img = render_pose_image(xy, (1920, 1080), size=(192, 108), fit=False)
    drawn = np.argwhere(np.any(img != LIGHT_CANVAS, axis=2))
    # the figure spans 600..900 px of a 1080 px high frame: the lower part of the image
    assert drawn[:, 0].min() > 45


# --- videos -------------------------------------------------------------------------------


def test_pose_video_on_dark_canvas(tmp_path):
    t = 12
    xy = np.stack([figure(320 + 5 * i, 40, 400) for i in range(t)])
    calls = []
    out = render_pose_video(
        xy, 25.0, (640, 480), tmp_path / "p.mp4", max_side=320, progress=lambda d, n: calls.append((d, n))
    )
    assert (out.n_frames, out.width, out.height) == (12, 320, 240)
    stream, frames = read_back(out.path)
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 12
    assert float(stream.average_rate) == pytest.approx(25.0)
    assert frames[0].shape == (240, 320, 3)
    assert frames[0][5, 5].max() < 50  # dark canvas
    assert calls[-1] == (12, 12)


def test_mismatched_tracks_are_refused_and_nothing_is_written(tmp_path):
    xy = np.zeros((5, N_LANDMARKS, 2))
    out = tmp_path / "p.mp4"
    with pytest.raises(ValueError, match=r"severity must have shape \(5, 33\), got \(4, 33\)"):
        render_pose_video(xy, 25.0, (64, 48), out, severity=np.zeros((4, N_LANDMARKS)))
    with pytest.raises(ValueError, match=r"ghost_xy must have shape \(5, 33, 2\), got \(5, 17, 2\)"):
        render_pose_video(xy, 25.0, (64, 48), out, ghost_xy=np.zeros((5, 17, 2)))
    with pytest.raises(ValueError, match=r"captions must have one line per frame \(5\), got 2"):
        render_pose_video(xy, 25.0, (64, 48), out, captions=["a", "b"])
    with pytest.raises(ValueError, match=r"xy must have shape \(T, 33, 2\), got \(33, 2\)"):
        render_pose_video(xy[0], 25.0, (64, 48), out)
    assert list(tmp_path.iterdir()) == []


def test_failure_while_rendering_leaves_no_file(tmp_path):
    def progress(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # e.g. the user stops the app mid-render

    with pytest.raises(KeyboardInterrupt):
        render_pose_video(np.zeros((8, N_LANDMARKS, 2)), 25.0, (64, 48), tmp_path / "p.mp4", progress=progress)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
def test_annotated_real_clip_keeps_frames_and_shows_the_red_joint(tmp_path):
    src = shared_path(SHORT)
    t = 38
    # keypoints in full-resolution (1080x1920) pixels, as the pose stage stores them
    xy = np.stack([figure(540 + 4 * i, 250, 1400) for i in range(t)])
    sev = np.full((t, N_LANDMARKS), np.nan)
    sev[:, L.LEFT_KNEE] = 3.0
    sev[:, L.RIGHT_KNEE] = 0.3
    ghost = xy + np.array([80.0, 30.0])
    captions = [f"frame {i}  knee 12° off" for i in range(t)]
    out = render_annotated_video(
        src, xy, tmp_path / "annotated.mp4", severity=sev, ghost_xy=ghost, captions=captions, max_side=720
    )
    assert (out.n_frames, out.width, out.height) == (38, 406, 720)
    assert out.fps == pytest.approx(29.97, abs=0.01)
    stream, frames = read_back(out.path)
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 38
    assert float(stream.average_rate) == pytest.approx(29.97, abs=0.01)
    i = 20
    scale = np.array([406 / 1080, 720 / 1920])
    knee = xy[i, L.LEFT_KNEE] * scale
    r, g, b = px(frames[i], knee)
    assert r > 170 and g < 90 and b < 90, f"expected red-ish at the left knee, got {(r, g, b)}"
    assert near(px(frames[i], xy[i, L.RIGHT_KNEE] * scale), GREEN, tol=60)


@pytest.mark.shared
def test_annotated_video_stops_at_the_shorter_of_poses_and_frames(tmp_path):
    src = shared_path(SHORT)
    xy = np.stack([figure(540, 250, 1400)] * 10)
    out = render_annotated_video(src, xy, tmp_path / "a.mp4", max_side=160)
    assert out.n_frames == 10
    _, frames = read_back(out.path)
    assert len(frames) == 10
    assert frames[0].shape == (160, 90, 3)
