"""Analyze: upload a video or keypoint file -> coach.results.run_upload_analysis -> results."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from coach import results as R
from coach.exercises import EXERCISES
from coach.references import REFERENCE_VIEWS
from coach.settings import DEFAULT_SETTINGS
from pages import history_ui, ui

ui.route_through_app()

LIMITS = DEFAULT_SETTINGS.video
VIDEO_TYPES = ["mp4", "mov", "webm", "avi"]
KEYPOINT_TYPES = ["npz", "csv", "zip", "npy"]

st.title("Analyze a performance")
st.caption(
    "Upload a video of one exercise set, filmed from the side or the front with your whole body in view. "
    "Form Coach finds your pose, recognises the exercise, counts the reps and compares you with a reference performer."
)

lib = ui.library()
upload = st.file_uploader(
    "Video or keypoint file",
    type=VIDEO_TYPES + KEYPOINT_TYPES,
    key="an_upload",
    help="Keypoint files: Form Coach .npz or .csv, a .zip of OpenPose JSON frames, or a .npy array.",
)
st.caption(
    f"Videos: {', '.join(VIDEO_TYPES)} — at most {LIMITS.max_bytes / 1e6:.0f} MB and "
    f"{LIMITS.max_duration_s / 60:.0f} minutes; 720p or 1080p is plenty (4K, or an iPhone's "
    "“High Efficiency” format, takes about twice as long to analyse as 1080p in “Most Compatible”). "
    f"Keypoints: {', '.join(KEYPOINT_TYPES)}."
)
if upload is None:
    st.info("Upload a clip to start. A side view works best for squats, lunges, push-ups and deadlifts.",
            icon=":material/upload:")
    st.stop()

data = upload.getvalue()
digest = ui.digest(data)
if st.session_state.get("an_digest") != digest:  # a new file: let the engine choose the reference
    st.session_state["an_digest"] = digest
    st.session_state["an_reference"] = None
    st.session_state["an_preselect"] = True

ref_id = st.session_state.get("an_reference")
cache = st.session_state["analyses"]
entry = cache.get(f"{digest}:{ref_id or 'auto'}")
if entry is None:
    folder = ui.workdir() / digest[:16]
    bar = ui.ProgressBar(f"Reading {upload.name}…")

    saved: dict[str, Path] = {}

    def _analyse() -> R.UploadResult:
        path = saved["path"] = R.save_upload(data, upload.name, folder)
        return R.run_upload_analysis(
            path, library=lib, reference_id=ref_id,
            annotated_path=folder / f"annotated-{ref_id or 'auto'}.mp4", progress=bar,
        )

    result = ui.run_safely(f"analysing {upload.name}", _analyse)
    bar.close()
    if result is None:
        st.stop()
    info = result.analysis.video
    entry = {
        "bundle": result.bundle, "video": str(result.annotated_video) if result.annotated_video else None,
        "poses": result.analysis.poses, "source": str(saved["path"]) if result.kind == "video" else None,
        "performed": info.created.date() if info is not None and info.created is not None else None,
    }
    cache[f"{digest}:{ref_id or 'auto'}"] = entry
    cache[f"{digest}:{result.bundle['summary']['reference']}"] = entry

bundle = entry["bundle"]
summary = bundle["summary"]

# --- the reference: recognised exercise and view pre-selected, with their confidence -------------
if st.session_state.pop("an_preselect", False):
    st.session_state["an_ex"] = summary["exercise"]
    st.session_state["an_view"] = summary["view"] if summary["view"] in REFERENCE_VIEWS else "any"
    st.session_state["an_ref_pick"] = summary["reference"]

with st.container(border=True):
    st.markdown(f"**Reference:** {summary['reference_name']} — change it to compare with someone else.")
    # two rows: in one, the labels ("Deadlift (recognised, 58%)") were cut short at ~1100 px
    c1, c2 = st.columns(2)
    c3, c4 = st.columns([3, 1], vertical_alignment="bottom")
    recognised, detected = summary["exercise"], summary["view"]

    def _ex_label(ex: str) -> str:
        tag = f" (recognised, {100 * summary['exercise_confidence']:.0f}%)" if ex == recognised else ""
        return EXERCISES[ex].label + tag

    def _view_label(v: str) -> str:
        tag = f" (detected, {100 * summary['view_confidence']:.0f}%)" if v == detected else ""
        return ("any view" if v == "any" else v) + tag

    ex = c1.selectbox("Exercise", list(EXERCISES), format_func=_ex_label, key="an_ex")
    view = c2.selectbox("View", ["any", *REFERENCE_VIEWS], format_func=_view_label, key="an_view")
    metas = lib.find(exercise=ex, view=None if view == "any" else view)
    ids = [m.id for m in metas]
    names = {m.id: f"{m.name} — {m.performer} ({m.view}, {m.reps} reps)" for m in metas}
    if not ids:
        c3.info("No reference for this exercise and view.")
    else:
        if st.session_state.get("an_ref_pick") not in ids:
            st.session_state["an_ref_pick"] = ids[0]
        pick = c3.selectbox("Reference", ids, format_func=names.get, key="an_ref_pick")

        def _use() -> None:
            st.session_state["an_reference"] = st.session_state["an_ref_pick"]

        c4.button("Compare with this reference", on_click=_use, disabled=pick == summary["reference"],
                  type="primary", key="an_use_ref")

ui.render_results(bundle, video_path=entry["video"], key="an")
history_ui.render_save_and_share(bundle, entry["poses"], source_path=entry["source"],
                                 performed_default=entry["performed"], key=f"an-{digest[:12]}-{summary['reference']}")
