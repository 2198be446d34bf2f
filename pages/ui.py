"""Streamlit pieces shared by the pages: cached resources, error display, progress, and the results
section (rendered from a results bundle, so it needs no pose model)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st

from coach import charts
from coach import results as R
from coach.errors import CoachError
from coach.paths import data_home
from coach.references import ReferenceLibrary

log = logging.getLogger("coach.ui")
T = TypeVar("T")


@st.cache_resource
def _library(home: str) -> ReferenceLibrary:
    return ReferenceLibrary(user_dir=Path(home) / "references")


def route_through_app() -> None:
    """Send a page opened straight by its URL through app.py's router.

    Streamlit sees the pages/ folder at start-up and, until some session has run app.py's
    st.navigation, serves /live or /references (or a shared ?result= link) as bare scripts with an
    automatic sidebar. Switching that legacy mode off and rerunning runs app.py for the page."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest's stand-in runtime (a mock) resets the flag on every run and routes pages itself
    real_server = Runtime.exists() and type(Runtime.instance()) is Runtime
    if real_server and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource
def _pose_pool() -> None:
    from coach.pose import start_pose_pool

    start_pose_pool()


@st.cache_resource
def _warm_up_analysis(home: str) -> None:
    import threading

    from coach.analysis import warm_up_analysis

    threading.Thread(target=warm_up_analysis, args=(_library(home),), name="warm-library", daemon=True).start()


def warm_up() -> None:
    """Once per server process, while the user picks a clip: warm pose workers (an analysis then
    skips ~0.5 s of worker start-up; FORM_COACH_POSE_POOL=0 turns them off), and scipy imported
    and the reference library loaded on a background thread (~0.9 s the first upload would wait
    for)."""
    if os.environ.get("FORM_COACH_POSE_POOL", "1") != "0":
        _pose_pool()
    _warm_up_analysis(str(data_home()))


def library() -> ReferenceLibrary:
    """One library per data folder and server process (thread-safe: it reads files and re-lists
    its folders on each call)."""
    return _library(str(data_home()))


@st.cache_resource(ttl=3600)
def _sweep_once() -> None:
    """At most hourly per server process: old sessions' scratch folders go (coach.results)."""
    removed = R.sweep_scratch_dirs()
    if removed:
        log.info("removed %d idle scratch folder(s)", len(removed))


def workdir() -> Path:
    """This session's scratch folder (uploads, annotated videos)."""
    path = st.session_state.get("workdir")
    if not path or not Path(path).is_dir():
        _sweep_once()
        path = tempfile.mkdtemp(prefix=R.SCRATCH_PREFIX)
        st.session_state["workdir"] = path
    return Path(path)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_safely(what: str, fn: Callable[[], T]) -> T | None:
    """Run fn; show a CoachError/ValueError as its one-line message, anything else as a short
    message with the traceback logged (never shown). Returns None after an error."""
    try:
        return fn()
    except (CoachError, ValueError) as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception:
        log.exception("unexpected error while %s", what)
        st.error(f"Something went wrong while {what}. The details are in the server log.", icon=":material/error:")
    return None


class ProgressBar:
    """A st.progress bar fed by the engine's progress(stage, done, total)."""

    def __init__(self, text: str = "Starting…") -> None:
        self._bar = st.progress(0.0, text=text)
        self.callback = R.ProgressText(lambda frac, txt: self._bar.progress(frac, text=txt))

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.callback(stage, done, total)

    def close(self) -> None:
        self._bar.empty()


# --- the results section ---------------------------------------------------------------------------


def _fmt(v, spec: str = ".0f", none: str = "–") -> str:
    return none if v is None else format(v, spec)


def render_summary(bundle: dict) -> None:
    s = bundle["summary"]
    st.subheader(f"{s['exercise_label']} compared with “{s['reference_name']}”")
    # the verdict's words ("Needs work") need more room than a rep count or a similarity
    c1, c2, c3, c4 = st.columns([1, 1.4, 0.6, 0.8])
    c1.metric("Score", f"{_fmt(s['score'])} / 100", help=f"0-100; {s.get('score_formula', '')}")
    unsure = " Unsure: the exercise was only guessed; pick it above for a pass or fail." if s["verdict"] == "unsure" else ""
    c2.metric("Verdict", R.verdict_label(s["verdict"]),
              help=f"pass at a score of {_fmt(s.get('pass_threshold'))} or more.{unsure}")
    partial = f" (+{s['partial_reps']} partial)" if s.get("partial_reps") else ""
    counted = (f"; counted from the motion in the video, the pose model counted {s['pose_reps']}"
               if s.get("rep_method") == "flow" and "pose_reps" in s else "")
    c3.metric("Reps", f"{s['reps']}", help=f"complete repetitions counted{partial}{counted}")
    c4.metric("Similarity", _fmt(s.get("similarity_mean"), ".2f"), help="mean weighted cosine similarity, 0-1")
    conf = s.get("confidence")
    bits = [
        f"verdict confidence **{_fmt(None if conf is None else 100 * conf)}%**",
        f"exercise **{s['exercise_label']}** ({_fmt(100 * s['exercise_confidence'])}% sure)",
        f"view **{s['view']}{', at an angle' if s.get('view_oblique') else ''}** ({_fmt(100 * s['view_confidence'])}% sure)",
        f"reference `{s['reference']}` ({s['reference_view']} view)",
        R.clip_rate_text(s),
    ]
    st.caption(" · ".join(bits))


def render_feedback(bundle: dict) -> None:
    s = bundle["summary"]
    warnings = s.get("warnings", [])
    if warnings:
        st.warning("**About the recording** — these make the numbers less certain:\n"
                   + "\n".join(f"- {w}" for w in warnings), icon=":material/videocam:")
    st.markdown("#### What to work on")
    cues = s.get("cues", [])
    if cues:
        st.markdown("\n".join(f"{i}. {c}" for i, c in enumerate(cues, 1)))
    else:
        st.success("No clear deviation from the reference — keep it up.", icon=":material/check_circle:")


def render_charts(bundle: dict) -> None:
    st.altair_chart(charts.similarity_chart(bundle), width="stretch")
    st.altair_chart(charts.angles_chart(bundle), width="content")
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.dtw_bars(bundle), width="stretch")
    with right:
        st.altair_chart(charts.proportions_chart(bundle), width="stretch")
    # three phase columns of grouped bars need ~620 px: in half the page they ran off its edge
    st.altair_chart(charts.tempo_chart(bundle), width="content")
    if bundle["exercise"]["id"] == "squat":
        st.altair_chart(charts.moment_arm_chart(bundle), width="stretch")


def render_results(bundle: dict, *, video_path: str | Path | None = None, key: str = "results") -> None:
    """The whole results section, from a bundle (and the annotated video when there is one)."""
    render_summary(bundle)
    render_feedback(bundle)
    left, right = st.columns([2, 3])
    with left:
        st.markdown("#### Body map")
        # the column is ~250 px at 1100 px windows: a fixed 300 px image ran under the rep table
        st.image(R.body_map_image(bundle), caption=R.body_map_caption(bundle), width="stretch")
    with right:
        st.markdown("#### Score per rep")
        table = R.rep_table(bundle)
        if table.empty:
            st.info("No complete repetition was found, so there is no per-rep score.")
        else:
            st.dataframe(
                table, hide_index=True, width="stretch",
                column_config={"Score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f", width="medium")},
            )
            note = R.rep_table_note(bundle)
            if note:
                st.caption(note)
    st.markdown("#### Charts")
    render_charts(bundle)
    if video_path is not None and Path(video_path).is_file():
        st.markdown("#### Annotated video")
        vid, text = st.columns([3, 2])
        vid.video(str(video_path), format="video/mp4")
        text.markdown(
            "- **Your skeleton**: joints coloured by deviation from the reference (green within tolerance, "
            "amber up to 2×, red beyond, grey not judged).\n"
            "- **Light-blue ghost**: the reference, scaled to your limb lengths and aligned in time.\n"
            "- **Top line**: exercise, current rep, similarity and the overall score."
        )
    st.markdown("#### Downloads")
    render_downloads(bundle, video_path=video_path, key=key)


@st.cache_data(show_spinner="Building the report…", max_entries=16)
def html_report_bytes(bundle_json: bytes) -> bytes:
    """The self-contained HTML report of a bundle (cached: it takes a second or two)."""
    from coach.report import html_report

    return html_report(R.bundle_from_json(bundle_json)).encode("utf-8")


def render_downloads(bundle: dict, *, video_path: str | Path | None, key: str) -> None:
    stem = Path(bundle["summary"].get("source") or "analysis").stem or "analysis"
    c1, c2, c3, c4, c5 = st.columns(5)
    report = run_safely("building the HTML report", lambda: html_report_bytes(R.bundle_bytes(bundle)))
    if report:
        c5.download_button("Report (HTML)", report, file_name=f"{stem}-report.html", mime="text/html",
                           key=f"{key}-html", icon=":material/download:", on_click="ignore",
                           help="One file with the charts inside; opens offline in any browser.")
    c1.download_button("Results (JSON)", R.bundle_bytes(bundle), file_name=f"{stem}-results.json",
                       mime="application/json", key=f"{key}-json", icon=":material/download:", on_click="ignore")
    c2.download_button("Per-rep table (CSV)", R.reps_csv(bundle).encode(), file_name=f"{stem}-reps.csv",
                       mime="text/csv", key=f"{key}-csv", icon=":material/download:", on_click="ignore")
    c3.download_button("Time series (CSV)", R.timeseries_csv(bundle).encode(), file_name=f"{stem}-timeseries.csv",
                       mime="text/csv", key=f"{key}-ts", icon=":material/download:", on_click="ignore")
    if video_path is not None and Path(video_path).is_file():
        c4.download_button("Annotated video (MP4)", Path(video_path).read_bytes(), file_name=f"{stem}-annotated.mp4",
                           mime="video/mp4", key=f"{key}-mp4", icon=":material/download:", on_click="ignore")
