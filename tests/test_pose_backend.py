"""The two pose backends: MediaPipe's own graph and the same pipeline on OpenVINO
(coach/blazepose.py). They must give the same landmarks on real frames (to float rounding
without tracking; within MediaPipe's own run-to-run sensitivity with it), the same analysis,
and a backend is picked, validated and cached apart."""

from __future__ import annotations

import numpy as np
import pytest

from coach import blazepose
from coach.clean import torso_length_px
from coach.errors import PoseError
from coach.pose import POSE_BACKEND_ENV, MediaPipeEstimator, pose_backend, pose_cache_tag
from coach.video import iter_frames
from tests.conftest import shared_path

PUSH_UP = "videos/pushfit-riyer8/datasets/videos/correct/correct104.mp4"  # 5 s, 1080p, side view


def _frames(rel: str, n: int | None = None) -> list[np.ndarray]:
    frames = []
    for _t, rgb in iter_frames(shared_path(rel), max_side=640):
        frames.append(rgb)
        if n is not None and len(frames) == n:
            break
    return frames


def _run(backend: str, frames: list[np.ndarray], *, static: bool) -> list[tuple[np.ndarray, np.ndarray] | None]:
    with MediaPipeEstimator(backend=backend, static_image_mode=static, guard=False) as est:
        return [est.process(f) for f in frames]


def _differences(a: list, b: list) -> tuple[int, np.ndarray]:
    """Frames found by one backend only, and each landmark's x-y distance over the torso length
    on the frames both found."""
    one_only = sum((x is None) != (y is None) for x, y in zip(a, b, strict=True))
    rel = [np.linalg.norm(x[0][:, :2] - y[0][:, :2], axis=1) / torso_length_px(x[0][None, :, :2])
           for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return one_only, np.concatenate(rel)


def test_the_backend_comes_from_the_environment_and_is_checked(monkeypatch):
    monkeypatch.delenv(POSE_BACKEND_ENV, raising=False)
    assert pose_backend() == "openvino"
    monkeypatch.setenv(POSE_BACKEND_ENV, " MediaPipe ")
    assert pose_backend() == "mediapipe"
    assert pose_cache_tag() == ""  # keypoints cached before there was a choice stay valid
    monkeypatch.setenv(POSE_BACKEND_ENV, "openvino")
    assert pose_cache_tag() == "-openvino"
    monkeypatch.setenv(POSE_BACKEND_ENV, "tensorflow")
    with pytest.raises(PoseError, match="expected one of openvino, mediapipe, got 'tensorflow'"):
        pose_backend()
    with pytest.raises(ValueError, match="expected a pose backend in openvino, mediapipe, got 'gpu'"):
        MediaPipeEstimator(backend="gpu")


def test_without_openvino_installed_the_default_is_mediapipes_graph(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.delenv(POSE_BACKEND_ENV, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    assert pose_backend() == "mediapipe"
    assert pose_cache_tag() == ""


def test_a_missing_model_file_says_which_and_where(monkeypatch, tmp_path):
    monkeypatch.setattr(blazepose, "mediapipe_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"expected MediaPipe's model file at .*pose_landmark_full\.tflite"):
        blazepose.model_path(blazepose.LANDMARK_MODEL)


@pytest.mark.parametrize("static", [True, False])
def test_an_empty_frame_has_no_person_and_a_bad_frame_is_refused(static):
    with blazepose.BlazePoseGraph(static_image_mode=static) as graph:
        assert graph.process(np.zeros((360, 640, 3), dtype=np.uint8)) is None
        with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 RGB image, got \(360, 640\)"):
            graph.process(np.zeros((360, 640), dtype=np.uint8))


def test_without_tracking_the_backends_agree_to_rounding():
    """Detection on every frame: nothing feeds back, so each step's match shows directly."""
    frames = _frames(PUSH_UP, 20)
    mp, ov = _run("mediapipe", frames, static=True), _run("openvino", frames, static=True)
    one_only, rel = _differences(mp, ov)
    assert one_only == 0
    assert sum(x is not None for x in ov) == len(frames)
    assert np.median(rel) < 0.001 and np.percentile(rel, 95) < 0.005  # of the torso length
    vis = [abs(x[1] - y[1]).max() for x, y in zip(mp, ov, strict=True)]
    assert max(vis) < 0.01


def test_with_tracking_the_backends_agree_on_a_steady_clip():
    """The tracking loop (landmarks -> next crop) amplifies float differences, as it does
    MediaPipe's own for invisible input noise; on a steady side-view clip they stay small."""
    frames = _frames(PUSH_UP)
    mp, ov = _run("mediapipe", frames, static=False), _run("openvino", frames, static=False)
    one_only, rel = _differences(mp, ov)
    assert one_only == 0
    assert np.median(rel) < 0.005 and np.percentile(rel, 95) < 0.02


def test_either_backend_gives_the_same_analysis(monkeypatch, tmp_path):
    from coach.analysis import analyze_video

    path = shared_path(PUSH_UP)
    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path))
    results = {}
    for backend in ("mediapipe", "openvino"):
        monkeypatch.setenv(POSE_BACKEND_ENV, backend)
        results[backend] = analyze_video(path, exercise="push_up")
    mp, ov = results["mediapipe"], results["openvino"]
    assert mp.poses.meta["model"] == "mediapipe-pose-full-0.10.21"
    assert ov.poses.meta["model"] == "blazepose-full-openvino"
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2  # cached apart
    assert ov.reps.count == mp.reps.count == 3
    assert abs(ov.score - mp.score) < 3.0


def test_compiled_models_are_kept_in_the_data_folder_and_a_damaged_one_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path))
    cache = tmp_path / blazepose.MODEL_CACHE_DIR
    black = np.zeros((360, 640, 3), dtype=np.uint8)
    monkeypatch.setattr(blazepose, "_compiled", {})  # as a new process
    with blazepose.BlazePoseGraph() as graph:
        assert graph.process(black) is None  # no person: a detection ran, so both models compiled
    blobs = sorted(cache.glob("*.blob"))
    assert len(blobs) == 2
    sizes = [b.stat().st_size for b in blobs]
    for b in blobs:
        b.write_bytes(b"not a compiled model")
    monkeypatch.setattr(blazepose, "_compiled", {})
    with blazepose.BlazePoseGraph() as graph:
        assert graph.process(black) is None
    assert [b.stat().st_size for b in sorted(cache.glob("*.blob"))] == sizes  # compiled again, rewritten


def test_a_model_cache_that_fails_to_write_only_costs_start_up(monkeypatch, tmp_path):
    """Two new workers writing the same cache entry at once failed in OpenVINO ("cannot set
    permissions: No such file", 2 of 12 trials of three processes): the model is then compiled
    without the cache."""
    import openvino as ov

    compile_model = ov.Core.compile_model
    calls = []

    def failing_with_cache(self, model, device=None, config=None):
        calls.append(dict(config or {}))
        if len(calls) == 1:  # the first compile, with the cache, meets the race
            raise RuntimeError("Exception from src/inference/src/cpp/core.cpp:117:\nfilesystem error")
        return compile_model(self, model, device, config)

    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path))
    monkeypatch.setattr(ov.Core, "compile_model", failing_with_cache)
    monkeypatch.setattr(blazepose, "_compiled", {})
    with blazepose.BlazePoseGraph() as graph:
        assert graph.process(np.zeros((360, 640, 3), dtype=np.uint8)) is None
    assert set(blazepose._compiled) == {blazepose.LANDMARK_MODEL, blazepose.DETECTION_MODEL}
    assert "CACHE_DIR" in calls[0] and "CACHE_DIR" not in calls[1]  # the retry runs without the cache
