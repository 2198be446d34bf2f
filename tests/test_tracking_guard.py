"""coach.pose.TrackingGuard: a tracker that latched onto an object is caught, and a fresh detection
stands in for it.

The real case: a side-view deadlift (deadlift-visual-analyzer Good/000001) mirrored left to
right. On the mirrored frames MediaPipe's tracker folds the skeleton onto the barbell plate at
lockout for about a second (torso at a third of its length); on the original frames it does not.
"""

from __future__ import annotations

import numpy as np
import pytest

from coach.pose import MediaPipeEstimator, TrackingGuard
from coach.schema import N_LANDMARKS, L
from tests.conftest import shared_path


def _body(torso_px: float, x0: float = 100.0, depth: float = 0.0) -> np.ndarray:
    """A standing side-view skeleton: shoulders torso_px above the hips, legs below."""
    xyz = np.zeros((N_LANDMARKS, 3))
    xyz[:, 0] = x0
    for lm in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER):
        xyz[lm] = (x0, 100.0, depth)
    for lm, y in ((L.LEFT_HIP, 100 + torso_px), (L.RIGHT_HIP, 100 + torso_px),
                  (L.LEFT_KNEE, 100 + 1.8 * torso_px), (L.RIGHT_KNEE, 100 + 1.8 * torso_px),
                  (L.LEFT_ANKLE, 100 + 2.6 * torso_px), (L.RIGHT_ANKLE, 100 + 2.6 * torso_px)):
        xyz[lm] = (x0, y, 0.0)
    return xyz


def _warm(guard: TrackingGuard, n: int = 20, torso_px: float = 60.0) -> None:
    for _ in range(n):
        guard.accept(_body(torso_px))


def _looks(guard: TrackingGuard, xyz: np.ndarray) -> list[bool]:
    """The guard's verdict on `persist` frames in a row showing the same skeleton."""
    return [guard.suspicious(xyz) for _ in range(guard.persist)]


def test_a_collapsed_torso_is_suspicious_after_enough_history():
    guard = TrackingGuard()
    assert not any(_looks(guard, _body(15.0)))  # nothing to compare with yet
    _warm(guard)
    assert not any(_looks(guard, _body(55.0)))
    assert _looks(guard, _body(15.0))[-1]  # a quarter of the typical torso
    assert _looks(guard, _body(60.0, depth=200.0))[-1]  # typical in 2-D, 3-D length ~3.6x


def test_persist_asks_for_a_collapse_that_lasts():
    guard = TrackingGuard(persist=3)
    _warm(guard)
    assert [guard.suspicious(_body(15.0)) for _ in range(3)] == [False, False, True]
    guard.suspicious(_body(60.0))  # back to normal: the count starts again
    assert not guard.suspicious(_body(15.0))


def test_a_small_person_is_left_alone():
    guard = TrackingGuard()
    _warm(guard, torso_px=12.0)  # under min_torso_px: jitter is as large as a collapse
    assert not any(_looks(guard, _body(3.0)))


def test_a_fresh_detection_wins_only_when_typical_and_elsewhere():
    guard = TrackingGuard()
    _warm(guard)
    folded = _body(15.0, x0=140.0)
    assert guard.prefer(_body(60.0), folded)
    guard = TrackingGuard()
    _warm(guard)
    # the detection agrees that the torso is short (a bow towards the camera): keep tracking,
    # and do not look again for `cooldown` frames
    assert not guard.prefer(_body(16.0, x0=140.0), folded)
    assert not any(guard.suspicious(folded) for _ in range(guard.cooldown))
    assert _looks(guard, folded)[-1]
    # a typical detection close to the tracked skeleton: tracking is right, look again next frame
    near = _body(55.0, depth=200.0)  # where the body is, but its depth runs wild
    assert guard.suspicious(near)
    assert not guard.prefer(_body(60.0), near)
    assert guard.suspicious(near)


def test_the_typical_torso_follows_the_person():
    guard = TrackingGuard(history=30)
    _warm(guard, 30, torso_px=60.0)
    _warm(guard, 30, torso_px=25.0)  # walked away from the camera
    assert not any(_looks(guard, _body(24.0)))
    assert _looks(guard, _body(10.0))[-1]


def test_bad_inputs_do_not_trip_the_guard():
    guard = TrackingGuard()
    _warm(guard)
    nan = np.full((N_LANDMARKS, 3), np.nan)
    assert not any(_looks(guard, nan))
    guard.accept(nan)  # ignored
    assert len(guard._lengths) == 20


def _mirrored_frames():
    from coach.video import iter_frames

    path = shared_path("videos/deadlift-visual-analyzer/Dataset_small/Good/000001.mp4")
    return [np.ascontiguousarray(rgb[:, ::-1]) for _t, rgb in iter_frames(path, max_side=640)]


@pytest.mark.parametrize("guard", [False, True])
def test_a_tracker_folded_onto_the_plate_is_replaced_by_fresh_detections(guard):
    frames = _mirrored_frames()
    est = MediaPipeEstimator(guard=guard)
    try:
        torso = []
        for rgb in frames:
            out = est.process(rgb)
            torso.append(TrackingGuard.torso(out[0])[0] if out is not None else np.nan)
    finally:
        est.close()
    torso = np.asarray(torso)
    standing = np.nanmedian(torso[20:60])  # before the lift, tracking is right either way
    lockout = torso[80:105]  # the lifter stands tall with the bar: the torso keeps its length
    if guard:
        assert est.refound >= 1
        assert np.nanmin(lockout) > 0.8 * standing, np.round(lockout / standing, 2)
    else:
        # without the guard the skeleton folds onto the plate: this is what the test guards against
        assert est.refound == 0
        assert np.nanmedian(lockout) < 0.5 * standing, np.round(lockout / standing, 2)
