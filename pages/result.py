"""A shared result, read-only: opened by a link `…/?result=<token>`. It shows that one result
(charts, cues, a skeleton replay) and nothing else from the owner's history; no upload widgets."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from coach.render import render_pose_video
from coach.store import StoreError
from pages import history_ui, ui

ui.route_through_app()

token = st.query_params.get("result", "")


@st.cache_data(show_spinner="Drawing the skeleton replay…", max_entries=32, ttl=3600)
def replay_bytes(share_token: str) -> bytes | None:
    """The shared session's skeleton as H.264 bytes (None when its keypoints were not kept)."""
    poses = history_ui.store().shared_poses(share_token)
    if poses is None:
        return None
    with tempfile.TemporaryDirectory(prefix="form-coach-replay-") as folder:
        out = Path(folder) / "replay.mp4"
        render_pose_video(poses.xy, poses.fps, poses.frame_size, out, max_side=480)
        return out.read_bytes()


st.title("Shared result")
if not token:
    st.info("This page shows a result someone shared with you. Open the full link you were given "
            "(it ends in `?result=…`).", icon=":material/link:")
    st.stop()
try:
    record, bundle = history_ui.store().resolve_share(token)
except StoreError as exc:
    st.error(f"{exc}. Ask the person who shared it for a new link.", icon=":material/link_off:")
    st.stop()

st.caption(f"Performed {record.performed_on:%d %B %Y} · read-only: shared by its owner, who can revoke this link.")
ui.render_results(bundle, video_path=None, key="shared")
replay = ui.run_safely("drawing the skeleton replay", lambda: replay_bytes(token))
if replay:
    st.markdown("#### Skeleton replay")
    # beside its caption, as the annotated video on the Analyze page: full width, a phone clip's
    # replay stood taller than the screen
    vid, text = st.columns([3, 2])
    vid.video(replay, format="video/mp4", loop=True, muted=True)
    text.markdown("The body landmarks this result was computed from, frame by frame. The video itself "
                  "is not shared: a link carries only the results and these keypoints.")
