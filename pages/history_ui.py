"""Streamlit pieces for the history: the store, the visitor's workspace, save and share.

Workspaces (see docs/sharing.md): a local install has one history. With FORM_COACH_HOSTED=1 each
visitor gets a private workspace whose secret token is in their link (?ws=...); without it they see
nothing saved. FORM_COACH_OWNER_PASSWORD (env or st.secrets) makes new workspaces need a password.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from pathlib import Path

import streamlit as st

from coach.pose import PoseSequence
from coach.store import HistoryStore, StoreError, Workspace, default_url
from pages import ui

HOSTED_ENV = "FORM_COACH_HOSTED"
PASSWORD_ENV = "FORM_COACH_OWNER_PASSWORD"


@st.cache_resource
def _store(url: str) -> HistoryStore:
    return HistoryStore(url)


def store() -> HistoryStore:
    """One store per database URL and server process (SQLAlchemy pools its connections)."""
    return _store(default_url())


def _setting(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        try:
            value = str(st.secrets.get(name, ""))
        except (FileNotFoundError, KeyError, OSError, st.errors.StreamlitSecretNotFoundError):
            value = ""
    return value.strip()


def hosted() -> bool:
    return _setting(HOSTED_ENV).lower() in ("1", "true", "yes")


def current_workspace() -> Workspace | None:
    """The visitor's workspace: the local one, or (hosted) the one named by ?ws= in the link.
    None when a hosted visitor has none yet (or a bad link: the message is shown)."""
    if not hosted():
        return store().local_workspace()
    # page switches drop query parameters: the session remembers the token and puts it back
    token = st.query_params.get("ws") or st.session_state.get("ws_token")
    if not token:
        return None
    st.session_state["ws_token"] = token
    if st.query_params.get("ws") != token:
        st.query_params["ws"] = token
    try:
        return store().open_workspace(token)
    except StoreError as exc:
        st.error(f"{exc}. Start a new private history below.", icon=":material/error:")
        return None


def workspace_gate() -> Workspace | None:
    """current_workspace(), or a box to start a private history (hosted mode)."""
    ws = current_workspace()
    if ws is not None:
        if hosted():
            st.caption(":material/lock: Private history: bookmark this page's link — it is the only key to your "
                       "saved sessions. Anyone with the link can see them.")
        return ws
    with st.container(border=True):
        st.markdown("**Keep a private history** — your sessions are saved under a secret link only you know.")
        password = _setting(PASSWORD_ENV)
        typed = st.text_input("Owner password", type="password", key="ws_password") if password else ""
        if st.button("Start my private history", key="ws_start", icon=":material/lock:"):
            if password and not hmac.compare_digest(typed.encode(), password.encode()):
                st.error("Wrong password: only the owner of this dashboard can keep a history here.",
                         icon=":material/error:")
                return None
            _ws, token = store().create_workspace()
            st.query_params["ws"] = token
            st.session_state["ws_token"] = token
            st.rerun()
    return None


def share_url(token: str) -> str:
    """An absolute link to the read-only Result page when the browser's URL is known."""
    base = ""
    try:
        url = st.context.url or ""
    except AttributeError:
        url = ""
    if url:
        base = url.split("?")[0].rstrip("/")
        for suffix in ("/live", "/references", "/progress", "/result"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
    # the app's root: a ?result= link is routed to the Result page alone (see app.py)
    return f"{base}/?result={token}"


def render_save_and_share(
    bundle: dict,
    poses: PoseSequence | None,
    *,
    source_path: str | Path | None,
    performed_default: dt.date | None,
    key: str,
) -> None:
    """"Save to history" (date performed, keep-the-video opt-in), then "Share" and "Revoke"."""
    st.markdown("#### Keep and share")
    ws = workspace_gate()
    if ws is None:
        return
    saved_key = f"{key}-saved"
    session_id = st.session_state.get(saved_key)
    if session_id is None:
        with st.form(f"{key}-save-form", border=True):
            c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
            day = c1.date_input("Date performed", value=performed_default or dt.date.today(),
                                max_value=dt.date.today(), key=f"{key}-date",
                                help="From the video's metadata when it has one; change it for an older clip.")
            can_keep = source_path is not None and Path(source_path).is_file()
            keep = c2.checkbox("Also keep the video", value=False, disabled=not can_keep, key=f"{key}-keep",
                               help="Off by default: only the keypoints and the results are saved.")
            if st.form_submit_button("Save to history", icon=":material/save:", type="primary"):
                rec = ui.run_safely("saving to the history", lambda: store().save_session(
                    ws, bundle, poses, performed_on=day, video_path=source_path if keep else None))
                if rec is not None:
                    st.session_state[saved_key] = rec.id
                    st.rerun()
        return
    try:
        rec = store().get_session(ws, session_id)
    except StoreError:
        st.session_state.pop(saved_key, None)
        st.info("This result is no longer in your history.")
        return
    st.success(f"Saved to your history (performed {rec.performed_on:%d %b %Y}). See it on the Progress page.",
               icon=":material/check_circle:")
    if st.button("Create a share link", key=f"{key}-share", icon=":material/share:"):
        token = ui.run_safely("creating a share link", lambda: store().create_share(ws, rec.id))
        if token:
            st.session_state[f"{key}-link"] = share_url(token)
    link = st.session_state.get(f"{key}-link")
    if link:
        st.markdown("Anyone with this link sees this one result, read-only (copy it now — it is shown once):")
        st.code(link, language=None)
    render_share_list(ws, rec.id, key=key)


def render_share_list(ws: Workspace, session_id: int, *, key: str) -> None:
    shares = [s for s in store().list_shares(ws, session_id) if not s.revoked]
    for s in shares:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.caption(f"Share link #{s.id}, created {s.created_at[:16].replace('T', ' ')} UTC")
        if c2.button("Revoke", key=f"{key}-revoke-{s.id}", icon=":material/link_off:"):
            ui.run_safely("revoking the link", lambda sid=s.id: store().revoke_share(ws, sid))
            st.session_state.pop(f"{key}-link", None)
            st.rerun()
