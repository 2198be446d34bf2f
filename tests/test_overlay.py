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
