"""coach.overlay: what the annotated video draws per frame, from an analysis (no video, no model)."""

from __future__ import annotations

import numpy as np

from coach.analysis import analyze_poses
from coach.overlay import overlay_tracks
from coach.references import ReferenceLibrary

REF = "model-squat-side"


def test_the_ghost_follows_the_person_and_is_not_drawn_where_no_one_is_in_view(tmp_path):
    library = ReferenceLibrary(user_dir=tmp_path)
    poses = library.get(REF).poses
    xyz = np.array(poses.xyz)
    t = len(xyz)
    gone = np.zeros(t, dtype=bool)
    gone[: t // 5] = True  # a title card before the set
    gone[-t // 6 :] = True  # the person walked out
    xyz[gone] = np.nan
    a = analyze_poses(poses.replace(xyz=xyz), library=library, reference_id=REF, source="card.npz")
    sev, ghost, captions = overlay_tracks(a)
    assert ghost.shape == (a.poses.n_frames, 33, 2) and len(captions) == a.poses.n_frames
    person = np.isfinite(a.poses.xy[..., 0]).any(axis=1)
    assert person[~gone].all() and not person[gone].any()
    assert np.isnan(ghost[~person]).all()  # before: the ghost stood at the first hip position
    assert np.isfinite(ghost[person][:, [23, 24]]).all()  # hips of the ghost on every person frame
    assert np.isnan(sev[~person]).all()


def test_captions_number_the_reps_counted_by_the_videos_motion_when_that_is_the_count(tmp_path):
    """An analysis whose count came from optical flow (three reps, the pose counted fewer): the
    captions number flow's reps by their times and give its count, not the pose's."""
    import dataclasses

    from coach.reps import Rep, RepResult

    library = ReferenceLibrary(user_dir=tmp_path)
    a = analyze_poses(library.get(REF).poses, library=library, reference_id=REF, source="ref.npz")
    ts = a.poses.timestamps_s
    third = ts[-1] / 3
    reps = tuple(Rep(k + 1, 0, 0, 0, k * third + 0.05, (k + 0.5) * third, (k + 1) * third - 0.05, 1.0, False)
                 for k in range(3))
    flow = RepResult(reps, (), "flow", np.zeros(5), 0.9, third)
    b = dataclasses.replace(a, flow_reps=flow)
    _sev, _ghost, captions = overlay_tracks(b)
    mid = [int(np.argmin(np.abs(ts - r.peak_s))) for r in reps]
    assert [captions[f].split()[:2] for f in mid] == [["rep", "1/3"], ["rep", "2/3"], ["rep", "3/3"]]
    assert captions[0].startswith("reps 3")  # before the first rep starts
    assert b.rep_count == 3 and b.to_dict()["pose_reps"] == a.reps.count
