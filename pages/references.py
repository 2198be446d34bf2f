"""References: browse the library (with an animated skeleton preview), add a reference from a
video or keypoint file, delete user-added ones (built-ins are read-only)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from coach import results as R
from coach.errors import CoachError
from coach.exercises import EXERCISES
from coach.references import REFERENCE_VIEWS
from pages import ui

ui.route_through_app()

st.title("Reference library")
st.caption("The performers you are compared with. Built-in references are procedural models (read-only); "
           "add your own from a clip of a coach or of your best set.")

lib = ui.library()


@st.cache_data(show_spinner="Drawing the preview…", max_entries=64)
def preview_bytes(ref_id: str, sha256: str) -> bytes:
    """Animated skeleton of a reference as H.264 bytes; sha256 (of its keypoints) keys the cache."""
    with tempfile.TemporaryDirectory(prefix="form-coach-preview-") as folder:
        return R.reference_preview_video(ui.library(), ref_id, Path(folder) / "preview.mp4").read_bytes()


# messages and selections left by the previous run (widgets cannot be changed once drawn)
added = st.session_state.pop("refs_added", None)
if added:
    st.session_state.update(refs_ex="all", refs_view="all", refs_pick=added)
flash = st.session_state.pop("refs_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
problem = st.session_state.pop("refs_problem", None)
if problem:
    st.error(problem, icon=":material/error:")

# --- browse --------------------------------------------------------------------------------------
table = R.references_table(lib)
for p in lib.problems:
    st.warning(p, icon=":material/warning:")
f1, f2 = st.columns(2)
ex_filter = f1.selectbox("Exercise", ["all", *EXERCISES], key="refs_ex",
                         format_func=lambda e: "all exercises" if e == "all" else EXERCISES[e].label)
view_filter = f2.selectbox("View", ["all", *REFERENCE_VIEWS], key="refs_view",
                           format_func=lambda v: "all views" if v == "all" else v)
shown = table
if ex_filter != "all":
    shown = shown[shown["exercise"] == ex_filter]
if view_filter != "all":
    shown = shown[shown["View"] == view_filter]

left, right = st.columns([3, 2])
with left:
    st.dataframe(
        shown.drop(columns=["exercise"]), hide_index=True, width="stretch", key="refs_table",
        column_config={"id": st.column_config.TextColumn("Id"), "Built-in": st.column_config.CheckboxColumn("Built-in")},
    )
    st.caption(f"{len(shown)} of {len(table)} references.")
with right:
    ids = list(shown["id"])
    if ids:
        if st.session_state.get("refs_pick") not in ids:
            st.session_state["refs_pick"] = ids[0]
        names = dict(zip(table["id"], table["Name"], strict=True))
        pick = st.selectbox("Preview", ids, format_func=lambda i: f"{names[i]} ({i})", key="refs_pick")
        meta = lib.get(pick).meta
        video = ui.run_safely("drawing the preview", lambda: preview_bytes(pick, meta.keypoints_sha256))
        if video:
            st.video(video, format="video/mp4", autoplay=True, loop=True, muted=True)
        st.caption(f"{EXERCISES[meta.exercise].label}, {meta.view} view, {meta.reps} reps by {meta.performer}. "
                   f"Source: {meta.source}. Licence: {meta.licence}.")
        if lib.is_builtin(pick):
            st.caption(":material/lock: Built-in references are read-only.")
        else:
            with st.popover("Delete this reference", icon=":material/delete:"):
                st.write(f"Delete **{meta.name}** (`{pick}`)? This cannot be undone.")

                def _delete(ref_id: str = pick, name: str = meta.name) -> None:
                    try:
                        lib.delete(ref_id)
                    except CoachError as exc:
                        st.session_state["refs_problem"] = str(exc)
                        return
                    st.session_state["refs_flash"] = f"Deleted reference “{name}”."
                    st.session_state.pop("refs_pick", None)

                st.button("Delete", type="primary", key="refs_delete", on_click=_delete)
    else:
        st.info("No reference matches these filters.")

# --- add -----------------------------------------------------------------------------------------
st.subheader("Add a reference")
with st.form("refs_add", clear_on_submit=False, border=True):
    upload = st.file_uploader("Video or keypoint file of the reference performance",
                              type=["mp4", "mov", "webm", "avi", "npz", "csv", "zip", "npy"], key="refs_file")
    c1, c2 = st.columns(2)
    name = c1.text_input("Name", max_chars=80, placeholder="e.g. Coach Ana — back squat", key="refs_name")
    performer = c2.text_input("Performer", max_chars=80, placeholder="e.g. Ana", key="refs_performer")
    c3, c4 = st.columns(2)
    exercise = c3.selectbox("Exercise", list(EXERCISES), format_func=lambda e: EXERCISES[e].label, key="refs_exercise")
    view = c4.selectbox("View", list(REFERENCE_VIEWS), key="refs_add_view")
    submitted = st.form_submit_button("Add reference", type="primary", icon=":material/add:")

if submitted:
    if upload is None:
        st.error("Choose a video or keypoint file of the reference performance first.", icon=":material/error:")
    else:
        bar = ui.ProgressBar(f"Reading {upload.name}…")

        def _add():
            folder = ui.workdir() / "reference-uploads"
            path = R.save_upload(upload.getvalue(), upload.name, folder)
            try:
                return R.add_reference_from_file(path, library=lib, name=name, performer=performer,
                                                 exercise=exercise, view=view, progress=bar)
            finally:
                Path(path).unlink(missing_ok=True)

        meta = ui.run_safely("adding the reference", _add)
        bar.close()
        if meta is not None:
            st.session_state["refs_flash"] = f"Added reference “{meta.name}” (`{meta.id}`, {meta.reps} reps)."
            st.session_state["refs_added"] = meta.id
            st.rerun()
