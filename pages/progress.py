"""Progress: past sessions over time (score, range of motion, tempo, body parts), a batch import of
past clips each with its date, and a before/after comparison of any two sessions."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from coach import progress as P
from coach import results as R
from coach.settings import DEFAULT_SETTINGS
from pages import history_ui, ui

ui.route_through_app()

VIDEO_TYPES = ["mp4", "mov", "webm", "avi"]
KEYPOINT_TYPES = ["npz", "csv", "zip", "npy"]
LIMITS = DEFAULT_SETTINGS.video

st.title("Progress over time")
st.caption("Every saved analysis is a point on these charts, dated by when you performed it. "
           "Add past sets below, or save a result from the Analyze page.")

ws = history_ui.workspace_gate()
if ws is None:
    st.stop()
store = history_ui.store()
lib = ui.library()


# --- batch import ------------------------------------------------------------------------------
def _import_section() -> None:
    gen = st.session_state.setdefault("pg_upload_gen", 0)
    files = st.file_uploader(
        "Past videos or keypoint files", type=VIDEO_TYPES + KEYPOINT_TYPES, accept_multiple_files=True,
        key=f"pg_upload_{gen}",
        help=f"Several at once. Videos at most {LIMITS.max_bytes / 1e6:.0f} MB and "
             f"{LIMITS.max_duration_s / 60:.0f} minutes each.")
    if not files:
        return
    dates = st.session_state.setdefault("pg_dates", {})
    items: list[tuple[str, object]] = []
    st.markdown("**When was each set performed?** (read from the video's metadata where it has a date)")
    saved = st.session_state.setdefault("pg_saved", {})  # upload id -> (digest, path): write each file once
    for f in files:
        if f.file_id in saved and saved[f.file_id][1].is_file():
            digest, path = saved[f.file_id]
        else:
            data = f.getvalue()
            digest = ui.digest(data)
            path = ui.run_safely(f"saving {f.name}", lambda d=data, n=f.name, g=digest:
                                 R.save_upload(d, n, ui.workdir() / "progress" / g[:16]))
            if path is None:
                continue
            saved[f.file_id] = (digest, path)
        if digest not in dates:
            dates[digest] = P.clip_date(path)
        day = st.date_input(f.name, value=dates[digest], max_value=dt.date.today(), key=f"pg_date_{digest[:16]}")
        items.append((path, day))
    refs = {m.id: m for m in lib.list()}
    ref_choice = st.selectbox(
        "Reference", ["auto", *refs], key="pg_ref",
        format_func=lambda r: "Recognise each clip's exercise and pick its reference" if r == "auto"
        else f"{refs[r].name} ({refs[r].view} view)")
    if not items or not st.button(f"Analyse and save {len(items)} clip{'s' if len(items) != 1 else ''}",
                                  type="primary", icon=":material/playlist_add:", key="pg_go"):
        return
    bars = [st.progress(0.0, text=f"{path.name}: waiting") for path, _day in items]
    current = {"k": 0}
    feeders = [R.ProgressText(lambda frac, txt, b=b, n=path.name: b.progress(frac, text=f"{n}: {txt}"))
               for b, (path, _day) in zip(bars, items, strict=True)]

    def on_item(k: int, _name: str) -> None:
        if k > 0:
            bars[k - 1].progress(1.0, text=f"{items[k - 1][0].name}: done")
        current["k"] = k

    def on_progress(stage: str, done: int, total: int) -> None:  # feeds the bar of the clip in work
        feeders[current["k"]](stage, done, total)

    outcomes = ui.run_safely("importing the clips", lambda: P.import_sessions(
        [P.BatchItem(path, day) for path, day in items], store=store, workspace=ws, library=lib,
        reference_id=None if ref_choice == "auto" else ref_choice, on_item=on_item,
        progress=on_progress))
    for b in bars:
        b.empty()
    if outcomes is None:
        return
    saved = [o for o in outcomes if o.record is not None]
    lines = [f"- **{o.name}**: saved — score {o.record.score:.0f}, {o.record.reps} reps" if o.record is not None
             and o.record.score is not None else f"- **{o.name}**: saved" if o.record is not None
             else f"- **{o.name}**: not saved — {o.error.removeprefix(o.name + ': ')}" for o in outcomes]
    st.session_state["pg_report"] = (len(saved), len(outcomes), "\n".join(lines))
    st.session_state["pg_upload_gen"] = gen + 1  # empties the uploader
    st.rerun()


with st.container(border=True):
    st.markdown("#### :material/upload: Add past sessions")
    _import_section()
report = st.session_state.pop("pg_report", None)
if report:
    n_ok, n_all, lines = report
    (st.success if n_ok == n_all else st.warning)(f"Saved {n_ok} of {n_all} clips.\n\n{lines}")

# --- charts ------------------------------------------------------------------------------------
records = store.list_sessions(ws)
if not records:
    st.info("No saved sessions yet. Add past clips above, or analyse a set on the Analyze page and "
            "press “Save to history”.", icon=":material/history:")
    st.stop()

by_ex: dict[str, list] = {}
for r in records:
    by_ex.setdefault(r.exercise, []).append(r)
c1, c2 = st.columns(2)
# labels without counts: a widget keeps its shown label when only the label changes
exercise = c1.selectbox("Exercise", sorted(by_ex, key=lambda e: -len(by_ex[e])), key="pg_ex", format_func=R.label)
ref_ids = sorted({r.reference for r in by_ex[exercise]})
reference = c2.selectbox("Reference", ["any", *ref_ids], key="pg_refilter",
                         format_func=lambda r: "Any reference" if r == "any" else r)
chosen = [r for r in by_ex[exercise] if reference in ("any", r.reference)]
st.caption(f"{len(chosen)} saved session{'s' if len(chosen) != 1 else ''} of {R.label(exercise).lower()}"
           f"{'' if reference == 'any' else ' against ' + reference}.")


@st.cache_data(max_entries=256, show_spinner=False)
def _point(ws_id: int, session_id: int, performed_on: dt.date, _saved_at: str) -> P.SessionPoint | None:
    """One session's progress figures (cached by id and save time: a stored result never changes)."""
    rec_ws = ws if ws.id == ws_id else None
    if rec_ws is None:
        return None
    return P.session_point(store.load_bundle(rec_ws, session_id), performed_on, session_id=session_id)


points = []
for r in chosen:
    p = ui.run_safely(f"reading session {r.id}", lambda r=r: _point(ws.id, r.id, r.performed_on, r.saved_at))
    if p is not None:
        points.append(p)
points.sort(key=lambda p: (p.performed_on, p.session_id or 0))
charts = P.progress_charts(points)
if len(points) < 2:
    st.info("One session so far: add another to see a trend.", icon=":material/trending_up:")
left, right = st.columns(2)
for k, name in enumerate(("score", "rom", "tempo", "parts")):
    if name in charts:
        (left if k % 2 == 0 else right).altair_chart(charts[name], width="stretch")

# --- before / after ----------------------------------------------------------------------------
if len(points) >= 2:
    st.markdown("### Compare two sessions")
    names = {p.session_id: p for p in points}
    by_id_saved = {r.id: r.saved_at for r in chosen}

    def _fmt(sid: int) -> str:
        p = names[sid]
        score = "–" if p.score is None else f"{p.score:.0f}"
        return f"{p.performed_on:%d %b %Y} · score {score} · {p.reps} reps (#{sid})"

    ids = [p.session_id for p in points]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Before", ids, index=0, format_func=_fmt, key="pg_before")
    b = c2.selectbox("After", ids, index=len(ids) - 1, format_func=_fmt, key="pg_after")
    if a == b:
        st.info("Pick two different sessions.")
    else:
        cmp = P.compare_sessions(names[a], names[b])
        st.markdown(f"**{cmp.headline}**")
        g, w = st.columns(2)
        with g:
            st.markdown(":green[**Better**]")
            st.markdown("\n".join(f"- {t}" for t in cmp.improved) or "_nothing clearly better_")
        with w:
            st.markdown(":orange[**Worse**]")
            st.markdown("\n".join(f"- {t}" for t in cmp.worse) or "_nothing clearly worse_")
        if cmp.same:
            st.caption("About the same or neither better nor worse: " + " ".join(cmp.same))
        stamp = ui.digest(f"{by_id_saved[a]}|{by_id_saved[b]}".encode())[:10]  # ids can be reused after a delete
        out = ui.workdir() / "progress" / f"compare-{ws.id}-{a}-{b}-{stamp}.mp4"
        if not out.is_file():
            before_poses, after_poses = store.load_poses(ws, a), store.load_poses(ws, b)
            if before_poses is None or after_poses is None:
                st.info("The keypoints of one of these sessions were not kept, so there is no side-by-side replay.")
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                with st.spinner("Aligning the two sessions and drawing them side by side…"):
                    ui.run_safely("drawing the side-by-side replay", lambda: P.write_comparison_video(
                        before_poses, after_poses, out,
                        labels=(f"{names[a].performed_on:%d %b %Y}", f"{names[b].performed_on:%d %b %Y}")))
        if out.is_file():
            st.markdown("Side by side, the same moment of each rep together (aligned by DTW):")
            st.video(str(out), loop=True, muted=True)

# --- the list ----------------------------------------------------------------------------------
st.markdown("### Saved sessions")
table = [{"id": r.id, "Performed": r.performed_on, "Clip": r.source, "Exercise": R.label(r.exercise),
          "Reference": r.reference, "Score": r.score, "Verdict": R.verdict_label(r.verdict), "Reps": r.reps,
          "Video kept": r.has_video} for r in sorted(records, key=lambda r: r.performed_on, reverse=True)]
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"Score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f")})
with st.form("pg_manage", border=True):
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    by_id = {r.id: r for r in records}
    sid = c1.selectbox("Session", list(by_id), key="pg_manage_id",
                       format_func=lambda i: f"#{i} · {by_id[i].performed_on:%d %b %Y} · {by_id[i].source}")
    day = c2.date_input("Date performed", value=None, max_value=dt.date.today(), key="pg_manage_day")
    action = c3.radio("Action", ["Change date", "Delete"], key="pg_manage_action", horizontal=True)
    if st.form_submit_button("Apply", icon=":material/edit:"):
        if action == "Delete":
            ui.run_safely("deleting the session", lambda: store.delete_session(ws, sid))
        elif day is None:
            st.error("Pick the new date first.")
            st.stop()
        else:
            ui.run_safely("changing the date", lambda: store.set_performed_on(ws, sid, day))
        st.rerun()
