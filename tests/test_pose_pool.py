"""The warm pose-worker pool (coach.pose.PosePool) the dashboard starts once: the same landmarks
as cold workers, and a busy, dead or failing worker never loses an analysis."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_path

pytestmark = [pytest.mark.shared, pytest.mark.slow]

LONG = "videos/yuyoujiang-test_video/squat.mp4"  # 322 frames: two workers
SHORT = "videos/nadamarie-dataset/hammer curl_12.mp4"  # 93 frames: one worker


@pytest.fixture
def pool():
    from coach import pose

    p = pose.start_pose_pool()
    yield p
    pose.stop_pose_pool()


def _same(a, b) -> bool:
    return (a.xyz.shape == b.xyz.shape and np.array_equal(a.timestamps_s, b.timestamps_s)
            and np.array_equal(np.nan_to_num(a.xyz, nan=-1.0), np.nan_to_num(b.xyz, nan=-1.0)))


@pytest.mark.parametrize("rel", [LONG, SHORT])
def test_warm_workers_give_the_cold_landmarks(rel, pool):
    """Each job gets a fresh graph, so tracking starts as in a new process: identical output."""
    from coach import pose
    from coach.analysis import extract_video_poses

    path = shared_path(rel)
    pose.stop_pose_pool()
    cold, _i, _t = extract_video_poses(path, use_cache=False)
    warm_pool = pose.start_pose_pool()
    warm, _i, _t = extract_video_poses(path, use_cache=False)
    assert _same(cold, warm) and warm_pool.served == 1
    assert warm.meta["workers"] == (2 if rel == LONG else 1)
    again, _i, _t = extract_video_poses(path, use_cache=False)  # the graph of a used worker is renewed
    assert _same(cold, again)
    assert all(p.poll() is None for p in warm_pool._procs)


def test_a_busy_pool_falls_back_to_cold_workers(pool):
    from coach.analysis import extract_video_poses

    held = pool.acquire(2)
    served = pool.served
    assert held is not None and pool.acquire(2) is None and not pool.free
    try:
        seq, _i, _t = extract_video_poses(shared_path(LONG), use_cache=False)
    finally:
        pool.release(held)
    assert pool.served == served  # cold workers did it
    assert seq.meta["workers"] == 2 and np.isfinite(seq.xyz[..., 0]).any(axis=1).mean() > 0.9
    assert pool.free


def test_a_dead_worker_is_replaced_and_a_failed_job_keeps_the_pool(pool, tmp_path):
    from coach.analysis import extract_video_poses
    from coach.errors import CoachError
    from coach.pose import _run_jobs

    first = pool._procs[0]
    first.kill()
    first.wait()
    seq, _i, _t = extract_video_poses(shared_path(LONG), use_cache=False)
    assert seq.meta["workers"] == 2 and pool._procs[0] is not first and pool._procs[0].poll() is None

    # a job that fails inside the worker: its message comes back, the worker stays for the next one
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"this is not a video")
    err = _run_jobs([[str(bad), "640", "0", "-1", "640.0", str(tmp_path / "o.npz"), "-", "1", "0", "-", "0"]],
                    1, None)
    assert err is not None and "not-a-video.mp4" in err
    kept = pool._procs[0]
    assert kept.poll() is None
    seq2, _i, _t = extract_video_poses(shared_path(SHORT), use_cache=False)
    assert seq2.meta["workers"] == 1 and pool._procs[0] is kept
    with pytest.raises(CoachError):
        extract_video_poses(bad, use_cache=False)
