"""coach.video: bad inputs give one-line errors, frames come out upright and timed, the writer is
atomic and browser-playable. Broken files are built in tmp_path with PyAV; real clips come from
../shared/data."""

from __future__ import annotations

import logging
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from coach.errors import InputTooLargeError, VideoError
from coach.video import FALLBACK_FPS, Cut, H264Writer, iter_frames, probe, scaled_size, split_at_keyframe
from tests.conftest import shared_path

ROTATED = "videos/compubox-shangar21/20231128_042445000_iOS.MOV"  # iPhone, rotation -90 in the file
ROTATED_JJ = "videos/pose-estimation-jintao/sample/Jumping-Jack.mp4"  # rotated, first pts is not 0
SHORT = "videos/compubox-shangar21/cross_hook.mp4"  # 38 frames, moov first, 1080x1920
MOOV_AT_END = "videos/pose-estimation-jintao/pose_gif/Plank.mp4"  # 22 kB, moov after mdat


def noise_clip(path: Path, n: int = 60, size: tuple[int, int] = (160, 120), fps: float = 30.0) -> Path:
    """A faststart H.264 clip of random frames (noise spreads the bytes evenly over time)."""
    rng = np.random.default_rng(0)
    with H264Writer(path, fps) as w:
        for _ in range(n):
            w.write(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return path


def truncate(src: Path, dst: Path, fraction: float = 0.3) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def read_back(path: Path) -> tuple[av.video.stream.VideoStream, list[np.ndarray], str]:
    """(stream facts, decoded RGB frames, container format) of a written file."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        return s, frames, c.format.name


def _mux_video(path: Path, fmt: str, codec: str, pix_fmt: str, n: int) -> None:
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=Fraction(30))
        s.width, s.height, s.pix_fmt = 64, 48, pix_fmt
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


@pytest.fixture
def no_fps_clip(tmp_path: Path) -> Path:
    """An MJPEG mp4 whose sample durations are all 0: FFmpeg then reports no frame rate and all
    frames share pts 0."""
    path = tmp_path / "no_fps.mp4"
    _mux_video(path, "mp4", "mjpeg", "yuvj420p", 3)
    data = bytearray(path.read_bytes())
    i = data.find(b"stts")
    (entries,) = struct.unpack(">I", data[i + 8 : i + 12])
    for k in range(entries):  # each entry is (sample count, sample delta): zero the delta
        data[i + 16 + 8 * k : i + 20 + 8 * k] = struct.pack(">I", 0)
    j = data.find(b"mdhd")
    assert data[j + 4] == 0  # version 0 box: 32-bit duration at offset 20
    data[j + 20 : j + 24] = struct.pack(">I", 0)
    path.write_bytes(bytes(data))
    return path


# --- bad input: one line, "expected ..., got ..." ------------------------------------------


def _text_as_mp4(tmp: Path) -> Path:
    p = tmp / "notes.mp4"
    p.write_text("this is a shopping list, not a video\n" * 20)
    return p


def _empty(tmp: Path) -> Path:
    p = tmp / "empty.mp4"
    p.write_bytes(b"")
    return p


def _folder(tmp: Path) -> Path:
    p = tmp / "clip.mp4"
    p.mkdir()
    return p


def _audio_only(tmp: Path) -> Path:
    p = tmp / "voice.m4a"
    with av.open(str(p), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=44100)
        for i in range(10):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 44100, i * 1024
            for pkt in s.encode(fr):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return p


BAD_INPUTS = [
    # (builder, message pattern)
    (lambda tmp: tmp / "missing.mp4", r"missing\.mp4: expected an existing video file, got a missing path"),
    (_text_as_mp4, r"notes\.mp4: expected a readable video, got unreadable data"),
    (_empty, r"empty\.mp4: expected a video file, got an empty file \(0 bytes\)"),
    (_folder, r"clip\.mp4: expected a video file, got a folder"),
    (_audio_only, r"voice\.m4a: expected a video stream, got audio only"),
]


@pytest.mark.parametrize("read", [probe, lambda p: next(iter_frames(p))], ids=["probe", "iter_frames"])
@pytest.mark.parametrize(("build", "pattern"), BAD_INPUTS, ids=["missing", "text", "empty", "folder", "audio"])
def test_bad_input_gives_one_line_video_error(tmp_path, build, pattern, read):
    path = build(tmp_path)
    with pytest.raises(VideoError, match=pattern) as err:
        read(path)
    assert "\n" not in str(err.value)


@pytest.mark.shared
def test_truncated_mp4_with_moov_at_end_is_unreadable(tmp_path):
    # the index (moov) is in the cut-off tail, so nothing can be located
    src = shared_path(MOOV_AT_END)
    data = src.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # the premise of this case
    bad = truncate(src, tmp_path / "plank_cut.mp4")
    with pytest.raises(VideoError, match=r"plank_cut\.mp4: expected a readable video, got unreadable data"):
        probe(bad)
    with pytest.raises(VideoError, match="expected a readable video"):
        list(iter_frames(bad))


@pytest.mark.shared
def test_a_file_cut_inside_its_first_frame_says_it_may_be_cut_short(tmp_path):
    # the index is at the start, so the container opens, but its first frame is incomplete
    bad = tmp_path / "squat_cut.mp4"
    bad.write_bytes(shared_path("videos/formfit-jrplatin/squat.mp4").read_bytes()[:60_000])
    with pytest.raises(VideoError, match=r"squat_cut\.mp4: expected a decodable frame, got an error .*cut short or damaged"):
        probe(bad)


@pytest.mark.parametrize("source", ["synthetic", pytest.param("real", marks=pytest.mark.shared)])
def test_truncated_faststart_mp4_yields_the_frames_before_the_cut(tmp_path, caplog, source):
    if source == "real":
        src, full = shared_path(SHORT), 38
    else:
        src, full = noise_clip(tmp_path / "full.mp4", n=60), 60
    cut = truncate(src, tmp_path / "cut.mp4")
    info = probe(cut)  # moov is at the start, so the container still opens and states the full length
    assert info.frames_estimate == full
    with caplog.at_level(logging.WARNING, logger="coach.video"):
        frames = list(iter_frames(cut, max_side=256))
    assert 0 < len(frames) < full * 0.6
    assert any("truncated" in r.getMessage() or "stopped" in r.getMessage() for r in caplog.records)


@pytest.mark.shared
def test_analysis_of_a_truncated_upload_says_so(tmp_path):
    """A cut-off faststart file still decodes its first part: the result must say that only that
    part was analysed (the frames are decoded in worker processes, whose log nobody sees)."""
    from coach.analysis import analyze_video

    src = shared_path("videos/kshitij-exercise-pose/exercise_videos/Front Raise.mp4")  # 6.3 s, 2 raises
    cut = truncate(src, tmp_path / "raise_cut.mp4", fraction=0.4)
    a = analyze_video(cut, use_cache=False)
    said = [w for w in a.warnings if "truncated" in w]
    assert len(said) == 1 and "of its 6.3 s" in said[0], a.warnings
    assert a.poses.duration_s < 5.0
    whole = analyze_video(src, use_cache=False)
    assert not any("truncated" in w for w in whole.warnings)


def test_whole_clip_logs_no_truncation_warning(tmp_path, caplog):
    clip = noise_clip(tmp_path / "full.mp4", n=30)
    with caplog.at_level(logging.WARNING, logger="coach.video"):
        assert len(list(iter_frames(clip))) == 30
    assert not caplog.records


def test_missing_frame_rate_is_rejected_by_probe(no_fps_clip):
    with pytest.raises(VideoError, match=r"no_fps\.mp4: expected a positive frame rate, got none"):
        probe(no_fps_clip)


def test_missing_frame_rate_and_equal_pts_still_give_increasing_times(no_fps_clip):
    times = [t for t, _ in iter_frames(no_fps_clip)]
    # every pts is 0 here, so times fall back to the frame clock
    np.testing.assert_allclose(times, np.arange(3) / FALLBACK_FPS)


def test_frames_without_pts_are_timed_at_the_frame_rate(tmp_path):
    raw = tmp_path / "raw.h264"  # Annex B elementary stream: the demuxer gives frames no pts
    _mux_video(raw, "h264", "libx264", "yuv420p", 5)
    with av.open(str(raw)) as c:
        assert all(f.pts is None for f in c.decode(video=0))  # the premise of this case
    fps = probe(raw).fps
    times = [t for t, _ in iter_frames(raw)]
    np.testing.assert_allclose(times, np.arange(5) / fps)


def test_size_and_duration_limits(tmp_path):
    clip = noise_clip(tmp_path / "two_s.mp4", n=60, fps=30.0)
    size = clip.stat().st_size
    with pytest.raises(InputTooLargeError, match=r"two_s\.mp4: expected at most [\d.]+ MB, got [\d.]+ MB"):
        probe(clip, max_bytes=size - 1)
    with pytest.raises(InputTooLargeError, match=r"expected at most 1 s of video, got 2\.0 s"):
        probe(clip, max_duration_s=1.0)
    info = probe(clip, max_bytes=size, max_duration_s=2.5)
    assert info.size_bytes == size
    assert info.duration_s == pytest.approx(2.0, abs=0.05)


def test_max_side_must_be_sensible(tmp_path):
    clip = noise_clip(tmp_path / "c.mp4", n=2)
    with pytest.raises(ValueError, match="max_side must be at least 16 px, got 4"):
        next(iter_frames(clip, max_side=4))


# --- geometry and timing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "h", "max_side", "expected"),
    [
        (1920, 1080, 720, (720, 406)),  # landscape: 405 rounds to even
        (1080, 1920, 720, (406, 720)),  # portrait
        (640, 480, 1000, (640, 480)),  # already small: untouched
        (641, 481, None, (641, 481)),  # no limit: untouched, even odd sides
        (640, 480, 100, (100, 76)),
    ],
)
def test_scaled_size(w, h, max_side, expected):
    assert scaled_size(w, h, max_side) == expected


def test_downscale_respects_max_side(tmp_path):
    clip = noise_clip(tmp_path / "c.mp4", n=3, size=(640, 480))
    shapes = {img.shape for _, img in iter_frames(clip, max_side=100)}
    assert shapes == {(76, 100, 3)}


@pytest.mark.shared
def test_downscale_real_portrait_clip():
    path = shared_path(SHORT)
    _, img = next(iter_frames(path, max_side=320))
    assert img.shape == (320, 180, 3)
    assert img.dtype == np.uint8
    assert img.flags.c_contiguous  # PyAV pads rows; cv2 drawing needs plain arrays


@pytest.mark.shared
def test_timestamps_are_strictly_increasing_and_span_the_duration():
    path = shared_path(SHORT)
    info = probe(path)
    times = np.array([t for t, _ in iter_frames(path, max_side=160)])
    assert len(times) == 38
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    # the last frame starts one frame period before the end
    assert times[-1] + 1 / info.fps == pytest.approx(info.duration_s, abs=1.5 / info.fps)


@pytest.mark.shared
def test_timestamps_start_at_zero_when_the_first_pts_does_not():
    path = shared_path(ROTATED_JJ)
    with av.open(str(path)) as c:
        assert next(c.decode(video=0)).time > 0.1  # the premise of this case
    times = np.array([t for t, _ in iter_frames(path, max_side=160)])
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)


@pytest.mark.shared
@pytest.mark.parametrize("rel", [ROTATED, ROTATED_JJ])
def test_rotated_phone_clip_decodes_portrait_and_matches_info(rel):
    path = shared_path(rel)
    info = probe(path)
    assert info.rotation_deg == 90  # as the manifest's rotation_deg column says
    assert (info.width, info.height) == (1080, 1920)
    _, img = next(iter_frames(path))
    assert img.shape == (info.height, info.width, 3)
    with av.open(str(path)) as c:
        stored = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert stored.shape == (1080, 1920, 3)  # stored sideways
    # rotation_deg is clockwise: np.rot90 turns counter-clockwise for positive k
    np.testing.assert_array_equal(img, np.rot90(stored, k=-1))


@pytest.mark.shared
@pytest.mark.slow
def test_rotated_phone_clip_shows_the_person_upright():
    pose = pytest.importorskip("coach.pose")
    pytest.importorskip("mediapipe")
    _, img = next(iter_frames(shared_path(ROTATED), max_side=640))
    est = pose.MediaPipeEstimator(static_image_mode=True)
    try:
        out = est.process(img)
    finally:
        est.close()
    assert out is not None, "expected a person in the first frame, got none"
    xyz, _ = out
    nose_y = xyz[0, 1]
    ankles_y = xyz[[27, 28], 1].mean()
    assert nose_y < ankles_y - 0.3 * img.shape[0]  # head well above the feet


# --- writer ------------------------------------------------------------------------------


def test_writer_round_trip_is_browser_playable(tmp_path):
    out = tmp_path / "out.mp4"
    levels = np.linspace(20, 230, 30).astype(np.uint8)
    with H264Writer(out, 29.97) as w:
        for v in levels:
            w.write(np.full((75, 101, 3), v, np.uint8))  # odd sides on purpose
    assert w.frames_written == 30
    stream, frames, fmt = read_back(out)
    assert "mp4" in fmt
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 30
    assert float(stream.average_rate) == pytest.approx(29.97, abs=0.01)
    assert frames[0].shape == (76, 102, 3)  # padded to even by one pixel
    assert abs(float(frames[10].mean()) - float(levels[10])) < 4  # content survives encoding
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: playable while downloading
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no temporary left behind


def test_timed_writer_keeps_uneven_frame_times_and_needs_them(tmp_path):
    """A source that dropped frames: each frame shows at its own time, not at i / fps."""
    out = tmp_path / "timed.mp4"
    times = [0.0, 0.033, 0.067, 0.2, 0.233, 0.5]
    with H264Writer(out, 30.0, timed=True) as w:
        for t in times:
            w.write(np.zeros((32, 32, 3), np.uint8), t)
        with pytest.raises(ValueError, match="a timed writer needs each frame's time in seconds, got None"):
            w.write(np.zeros((32, 32, 3), np.uint8))
    assert w.last_time_s == pytest.approx(0.5)
    got = [t for t, _ in iter_frames(out)]
    assert np.allclose(got, times, atol=0.0015)


def test_writer_failure_leaves_no_output(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"), H264Writer(out, 30.0) as w:
        for _ in range(5):
            w.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_writer_failure_keeps_an_existing_file(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(ValueError, match=r"frame must be \(32, 32, 3\) like the first, got \(16, 16, 3\)"):
        with H264Writer(out, 30.0) as w:
            w.write(np.zeros((32, 32, 3), np.uint8))
            w.write(np.zeros((16, 16, 3), np.uint8))
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_writer_with_no_frames_writes_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoError, match="expected at least one frame to write, got none"):
        with H264Writer(out, 30.0):
            pass
    assert not out.exists()


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (np.zeros((8, 8), np.uint8), r"frame must be \(H, W, 3\) uint8, got \(8, 8\) uint8"),
        (np.zeros((8, 8, 3), np.float32), r"got \(8, 8, 3\) float32"),
        (np.zeros((8, 8, 4), np.uint8), r"got \(8, 8, 4\) uint8"),
    ],
)
def test_writer_rejects_bad_frames(tmp_path, frame, pattern):
    with pytest.raises(ValueError, match=pattern), H264Writer(tmp_path / "o.mp4", 30.0) as w:
        w.write(frame)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), float("inf")])
def test_writer_rejects_bad_fps(tmp_path, fps):
    with pytest.raises(ValueError, match=r"fps must be in \(0, 1000\], got"):
        H264Writer(tmp_path / "o.mp4", fps)


def test_writer_keeps_ntsc_rate_exact(tmp_path):
    assert H264Writer(tmp_path / "o.mp4", 30000 / 1001).rate == Fraction(30000, 1001)


@pytest.mark.parametrize("rel", [SHORT, ROTATED])
def test_sample_frames_seeks_to_evenly_spread_upright_frames(rel):
    """The person search looks at a few frames of the clip without decoding all of it: each sample
    is exactly a decoded frame, spread over the clip, and upright like iter_frames."""
    from coach.video import sample_frames

    path = shared_path(rel)
    every = [img for _t, img in iter_frames(path, max_side=320)]
    samples = sample_frames(path, n=5, max_side=320, frames_estimate=len(every))
    assert len(samples) == 5
    where = []
    for s in samples:
        assert s.shape == every[0].shape  # upright (portrait for the phone clip), same size
        diffs = [np.abs(s.astype(np.int16) - f.astype(np.int16)).mean() for f in every]
        where.append(int(np.argmin(diffs)))
        assert min(diffs) < 1.0
    assert where == sorted(where) and len(set(where)) == 5
    assert where[0] < len(every) / 4 and where[-1] > 3 * len(every) / 4
    with pytest.raises(ValueError, match="expected n >= 1"):
        sample_frames(path, n=0)


SIXTY_FPS = "videos/gym-rom-wissem/squat.mp4"  # 60 fps phone-style clip, 787 frames


def test_stride_keeps_every_nth_frame_on_one_grid_across_halves():
    """stride=2 yields frames 0, 2, 4 ... with their own times; a second half starting at an odd
    frame index still lands on the same even frames, so two workers' halves join seamlessly."""
    path = shared_path(SIXTY_FPS)
    full = [t for t, _ in iter_frames(path, max_side=160)]
    assert len(full) > 700
    every2 = [t for t, _ in iter_frames(path, max_side=160, stride=2)]
    assert every2 == full[::2]
    first = [t for t, _ in iter_frames(path, max_side=160, frame_range=(0, 301), stride=2)]
    second = [t for t, _ in iter_frames(path, max_side=160, frame_range=(301, None), stride=2)]
    assert first + second == every2
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        next(iter_frames(path, stride=0))


# --- cutting a video in two at a keyframe (the second pose worker seeks instead of decoding) ---


@pytest.mark.shared
def test_two_cuts_at_a_keyframe_give_exactly_the_whole_video():
    src = shared_path("videos/deadlift-visual-analyzer/Dataset_small/Good/000003.mp4")  # keyframes every ~29 frames
    first, second = split_at_keyframe(src)
    assert first.seek_pts is None and first.stop_pts == second.start_pts
    assert second.seek_pts is not None and first.origin_pts < second.seek_pts <= second.start_pts
    whole = list(iter_frames(src, max_side=128))
    parts = list(iter_frames(src, max_side=128, cut=first)) + list(iter_frames(src, max_side=128, cut=second))
    assert len(parts) == len(whole)
    assert 0.4 < len(list(iter_frames(src, max_side=128, cut=first))) / len(whole) < 0.6
    assert np.allclose([t for t, _ in parts], [t for t, _ in whole], atol=1e-9)
    assert all(np.array_equal(a, b) for (_t, a), (_u, b) in zip(parts, whole, strict=True))


@pytest.mark.shared
def test_a_trimmed_clip_is_cut_in_halves_of_the_frames_it_shows():
    """An edit list hides the first 56 of 223 packets (a clip trimmed without re-encoding): the
    halves, the frame estimate and the clip's clock count the 167 frames shown."""
    src = shared_path("videos/deadlift-visual-analyzer/Dataset_small/Bad/000006.mp4")
    whole = list(iter_frames(src, max_side=128))
    assert len(whole) == 167 and abs(probe(src).frames_estimate - len(whole)) <= 1
    first, second = split_at_keyframe(src)
    a = list(iter_frames(src, max_side=128, cut=first))
    b = list(iter_frames(src, max_side=128, cut=second))
    assert abs(len(a) - len(b)) <= 1 and len(a) + len(b) == len(whole)
    assert a[0][0] == pytest.approx(0.0)  # the cut's clock starts at the first frame shown
    assert np.allclose([t for t, _ in a + b], [t for t, _ in whole], atol=1e-9)


def test_prefetch_keeps_order_hands_errors_to_the_caller_and_stops_when_closed():
    import threading

    from coach.video import prefetch

    assert list(prefetch(iter(range(50)), size=3)) == list(range(50))

    def broken():
        yield 1
        raise RuntimeError("decoder died")

    it = prefetch(broken())
    assert next(it) == 1
    with pytest.raises(RuntimeError, match="decoder died"):
        next(it)
    endless = prefetch(iter(range(10**9)), size=2)
    assert next(endless) == 0
    endless.close()  # a consumer that stops early (an error in the pose model) ends the thread
    assert not [t for t in threading.enumerate() if t.name == "decode-ahead"]


def test_frame_estimate_takes_the_smaller_of_count_and_duration():
    from coach.video import _frames_estimate

    assert _frames_estimate(223, 5.545, 30.0) == 166  # an edit list hides 56 counted packets
    assert _frames_estimate(150, 5.005, 29.97) == 150
    assert _frames_estimate(0, 5.0, 30.0) == 150 and _frames_estimate(90, 0.0, 30.0) == 90
    assert _frames_estimate(0, 0.0, 0.0) == 0


def test_only_yields_the_chosen_frames_without_converting_the_rest(tmp_path, caplog):
    clip = noise_clip(tmp_path / "noise.mp4", n=40)
    every = list(iter_frames(clip, max_side=64))
    with caplog.at_level(logging.WARNING, logger="coach.video"):
        picked = list(iter_frames(clip, max_side=64, only=[3, 17, 9]))
    assert [t for t, _ in picked] == [every[i][0] for i in (3, 9, 17)]
    assert all(np.array_equal(rgb, every[i][1]) for (_t, rgb), i in zip(picked, (3, 9, 17), strict=True))
    assert not caplog.records  # stopping after the last one chosen is not a truncated file
    every2 = list(iter_frames(clip, max_side=64, stride=2))
    assert [t for t, _ in iter_frames(clip, max_side=64, stride=2, only=[5])] == [every2[5][0]]
    assert list(iter_frames(clip, max_side=64, only=[])) == []


def test_no_keyframe_cut_without_a_keyframe_after_the_first(tmp_path):
    clip = noise_clip(tmp_path / "one_gop.mp4", n=40)  # x264's default interval (250) > 40 frames
    assert split_at_keyframe(clip) is None


def test_cut_words_round_trip_and_bad_combinations_are_refused(tmp_path):
    c = Cut(0, 3000, 3600, None)
    assert Cut.from_arg(c.arg()) == c and c.arg() == "0,3000,3600,-,-,0"
    w = Cut(0, 3000, 3600, None, warm_pts=3300, warm_frames=10)
    assert Cut.from_arg(w.arg()) == w
    with pytest.raises(ValueError, match="origin,seek,start,stop,warm,warm_frames"):
        Cut.from_arg("1,2,3,4")
    with pytest.raises(ValueError, match="a cut or a frame_range, got both"):
        list(iter_frames(noise_clip(tmp_path / "c.mp4", n=5), cut=Cut(0), frame_range=(0, 2)))
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        split_at_keyframe(noise_clip(tmp_path / "d.mp4", n=5), stride=0)
    with pytest.raises(ValueError, match="warmup must be at least 0 frames, got -1"):
        split_at_keyframe(noise_clip(tmp_path / "e.mp4", n=5), warmup=-1)


def _gop_clip(path: Path, n: int, gop: int) -> Path:
    """n noise frames at 30 fps with a keyframe exactly every gop frames (no B-frames)."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=30)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        st.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bf": "0"}
        for _ in range(n):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for pkt in st.encode(frame):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    return path


@pytest.mark.parametrize(("gop", "warm"), [(12, 15), (24, 6)])
def test_the_warm_up_is_shortened_to_the_last_keyframe_before_the_cut(tmp_path, gop, warm):
    """Keyframes every 24 frames and a cut at frame 30: no keyframe lies 15 frames before it, so
    the warm-up starts at the one at 24 (6 frames) instead of the second part decoding from 0."""
    clip = _gop_clip(tmp_path / f"g{gop}.mp4", 60, gop)
    first, second = split_at_keyframe(clip, 0.5, warmup=15)
    assert second.warm_frames == warm
    whole = [t for t, _ in iter_frames(clip)]
    a = [t for t, _ in iter_frames(clip, cut=first)]
    b = [t for t, _ in iter_frames(clip, cut=second)]
    assert len(a) == 30 and b[:warm] == a[-warm:]
    assert np.allclose(a + b[warm:], whole, atol=1e-9)


@pytest.mark.shared
@pytest.mark.parametrize("stride", [1, 2])
def test_a_warm_up_before_the_cut_yields_the_frames_just_before_it_first(stride):
    """The second cut yields `warm_frames` frames before its start, then exactly its own part:
    dropping the warm-up gives back the whole video (every stride-th frame) with the first cut."""
    src = shared_path(SIXTY_FPS)
    whole = [t for t, _ in iter_frames(src, max_side=96, stride=stride)]
    first, second = split_at_keyframe(src, 0.55, stride=stride, warmup=15)
    assert second.warm_frames == 15 and second.warm_pts < second.start_pts
    a = [t for t, _ in iter_frames(src, max_side=96, cut=first, stride=stride)]
    b = [t for t, _ in iter_frames(src, max_side=96, cut=second, stride=stride)]
    assert b[:15] == a[-15:]  # the warm-up is the end of the first part
    assert np.allclose(a + b[15:], whole, atol=1e-9)
    assert 0.5 < len(a) / len(whole) < 0.6


@pytest.mark.shared
def test_cuts_on_the_stride_grid_give_every_other_frame_of_a_60_fps_clip():
    """A 60 fps clip is analysed every 2nd frame; its two cuts must give exactly those frames,
    so the second worker can seek there too instead of decoding the first half."""
    src = shared_path(SIXTY_FPS)
    every2 = list(iter_frames(src, max_side=96, stride=2))
    cuts = split_at_keyframe(src, stride=2)
    assert cuts is not None, "expected a keyframe before the middle of the 60 fps clip"
    first, second = cuts
    assert first.stop_pts == second.start_pts and second.seek_pts is not None
    parts = [list(iter_frames(src, max_side=96, cut=c, stride=2)) for c in cuts]
    assert 0.4 < len(parts[0]) / len(every2) < 0.6
    both = parts[0] + parts[1]
    assert len(both) == len(every2)
    assert np.allclose([t for t, _ in both], [t for t, _ in every2], atol=1e-9)
    assert all(np.array_equal(a, b) for (_t, a), (_u, b) in zip(both, every2, strict=True))
