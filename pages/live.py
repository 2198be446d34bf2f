"""Live coach: camera (WebRTC) -> coach.live on the newest frame -> reps, similarity and a cue while
you train; the session is recorded and "Analyze this recording" runs the upload pipeline on it.

The frame callback runs on streamlit-webrtc's media thread: it only talks to the LiveSlot kept in
session_state (thread-safe) and never calls st.*. The page polls the slot's state in a fragment."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from coach import results as R
from coach.analysis import choose_reference
from coach.exercises import EXERCISES
from coach.live import (
    ICE_SERVERS_ENV,
    LiveCoach,
    LiveRecorder,
    LiveSession,
    LiveSlot,
    LiveState,
    parse_ice_servers,
    rtc_configuration,
)
from coach.settings import DEFAULT_SETTINGS
from pages import history_ui, ui

ui.route_through_app()

log = logging.getLogger("coach.ui.live")
POLL_S = 0.5  # how often the panel re-reads the live state while the camera runs
CAMERA = {
    "video": {"width": {"ideal": 640}, "height": {"ideal": 480}, "frameRate": {"ideal": 30, "max": 30}},
    "audio": False,
}


def _ice_servers() -> list[dict]:
    """TURN/STUN servers from st.secrets [webrtc] ice_servers, else $FORM_COACH_ICE_SERVERS (JSON);
    none by default (enough on localhost). A malformed setting is shown and ignored."""
    try:
        value, source = st.secrets["webrtc"]["ice_servers"], "secrets [webrtc] ice_servers"
    except (FileNotFoundError, KeyError):
        value, source = os.environ.get(ICE_SERVERS_ENV, ""), ICE_SERVERS_ENV
    try:
        return parse_ice_servers(value, source=source)
    except ValueError as exc:
        st.error(f"{exc} — connecting without STUN/TURN servers (works on this computer only).",
                 icon=":material/error:")
        return []


def _frame_callback(slot: LiveSlot):
    """The media-thread callback: every queued frame goes to the slot (recorded), the newest is
    analysed and returned with the skeleton drawn on; frames pass through when nothing runs."""

    async def on_frames(frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        if not slot.armed:
            return frames[-1:]
        try:
            now = time.monotonic()
            batch = [(f.to_ndarray(format="rgb24"), f.time if f.time is not None else now) for f in frames]
            out = slot.process_frames(batch)
        except Exception:  # a bad frame must not end the stream; the server log has the details
            log.exception("live frame analysis failed")
            return frames[-1:]
        return frames[-1:] if out is None else [av.VideoFrame.from_ndarray(out, format="rgb24")]

    return on_frames


def _panel(state: LiveState | None, running: bool) -> None:
    if state is None:
        st.info("Press **START** and allow the camera. Stand back so it sees your whole body, head to feet.",
                icon=":material/videocam:")
        return
    if not running:
        st.caption("Last session")
    c1, c2 = st.columns(2)
    c1.metric("Reps", state.reps, help="complete repetitions, counted like an upload")
    c2.metric("Similarity", "–" if state.similarity is None else f"{state.similarity:.2f}",
              help="your pose against the nearest pose of the reference, 0-1 (mean over the last second)")
    if running:
        st.info(state.cue, icon=":material/sports:")
    else:
        st.caption(f"Last cue: {state.cue}")
    latency = "–" if state.latency_ms is None else f"{state.latency_ms:.0f} ms"
    absent = "" if state.person_visible or not running else " · no one in view"
    st.caption(f"{state.fps:.0f} frames analysed per second · {latency} each · {state.frames_seen} received, "
               f"{state.frames_dropped} skipped to keep up{absent}")


st.title("Live coach")
st.caption(
    "Train in front of your camera: Form Coach draws your skeleton, counts your reps and compares your pose with "
    "the reference as you move. The session is recorded, so you can analyse it in full when you stop."
)
lib = ui.library()
ice_servers = _ice_servers()
slot: LiveSlot = st.session_state.setdefault("live_slot", LiveSlot())
st.session_state.setdefault("live_recording", None)
st.session_state.setdefault("live_results", {})

choice = st.container()
video_col, panel_col = st.columns([3, 2], gap="large")
with video_col:
    ctx = webrtc_streamer(
        key="live-camera",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=rtc_configuration(ice_servers),
        media_stream_constraints=CAMERA,
        queued_video_frames_callback=_frame_callback(slot),
        on_video_ended=slot.stop,  # the camera track ended (tab closed, network lost): finish the recording
        async_processing=True,
        video_html_attrs={"autoPlay": True, "controls": False, "muted": True, "style": {"width": "100%"}},
    )
running = bool(ctx.state.playing or ctx.state.signalling)

with choice:
    c1, c2 = st.columns([1, 2])
    ex = c1.selectbox("Exercise", list(EXERCISES), format_func=lambda e: EXERCISES[e].label, key="live_ex",
                      disabled=running)
    metas = lib.find(exercise=ex)
    names = {m.id: m.name + (f" ({m.reps} reps)" if m.view in m.name.lower() else f" ({m.view} view, {m.reps} reps)")
             for m in metas}
    if st.session_state.get("live_ref") not in names and metas:
        st.session_state["live_ref"] = choose_reference(lib, ex, "side").id
    ref_id = c2.selectbox("Reference", list(names), format_func=names.get, key="live_ref", disabled=running,
                          help="Stop the camera to change the exercise or the reference.")

if ref_id is None:
    st.warning("No reference for this exercise yet — add one on the References page.", icon=":material/warning:")
elif running:
    if not slot.armed:
        reference = lib.get(ref_id)
        record_to = ui.workdir() / f"live-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        limit_s = DEFAULT_SETTINGS.video.max_duration_s

        def _start(reference=reference, exercise=ex, path=record_to, limit_s=limit_s) -> LiveSession:
            # runs on the media thread at the first frame: plain Python only
            return LiveSession(LiveCoach(reference, exercise), LiveRecorder(path, max_duration_s=limit_s))

        slot.arm(_start)
        st.session_state["live_recording"] = None
        st.session_state["live_armed_with"] = {"reference": ref_id, "exercise": ex}
else:
    slot.stop()
    recording = slot.take_recording()
    if recording is not None:
        armed_with = st.session_state.get("live_armed_with") or {"reference": ref_id, "exercise": ex}
        st.session_state["live_recording"] = {
            "path": str(recording.path), "duration_s": recording.duration_s, "frames": recording.n_frames,
            "truncated": recording.truncated, **armed_with,
        }


with panel_col:

    @st.fragment(run_every=POLL_S if running else None)
    def live_panel() -> None:
        with st.container(key="live_panel"):
            _panel(slot.state(), running)

    live_panel()

rec = st.session_state["live_recording"]
if rec is not None and not running and Path(rec["path"]).is_file():
    st.divider()
    limit_min = DEFAULT_SETTINGS.video.max_duration_s / 60
    note = f" (stopped at the {limit_min:.0f}-minute limit)" if rec["truncated"] else ""
    ref_name = names.get(rec["reference"], rec["reference"])
    st.markdown(f"**Recorded:** {rec['duration_s']:.1f} s, {rec['frames']} frames{note} — compared with "
                f"“{ref_name}”.")
    entry = st.session_state["live_results"].get(rec["path"])
    button = st.empty()
    if entry is None and button.button("Analyze this recording", type="primary", icon=":material/analytics:",
                                       key="live_analyze"):
        button.empty()
        path = Path(rec["path"])
        bar = ui.ProgressBar(f"Reading {path.name}…")

        def _analyse() -> R.UploadResult:
            return R.run_upload_analysis(
                path, library=lib, reference_id=rec["reference"], exercise=rec["exercise"],
                annotated_path=path.with_name(path.stem + "-annotated.mp4"), progress=bar,
            )

        result = ui.run_safely(f"analysing {path.name}", _analyse)
        bar.close()
        if result is not None:
            entry = {"bundle": result.bundle, "video": str(result.annotated_video) if result.annotated_video else None,
                     "poses": result.analysis.poses}
            st.session_state["live_results"][rec["path"]] = entry
    if entry is not None:
        with st.container(key="live_results_box"):
            ui.render_results(entry["bundle"], video_path=entry["video"], key="live")
        # a live set was performed today; keeping the recording is opt-in like an upload
        history_ui.render_save_and_share(entry["bundle"], entry.get("poses"), source_path=rec["path"],
                                         performed_default=None, key=f"live-{Path(rec['path']).stem}")
elif rec is not None and not running:
    st.session_state["live_recording"] = None  # the scratch folder was cleaned up

