"""Progress, shared Result and hosted workspaces under AppTest (no browser, no pose model): saved
sessions chart over time, a share link opens one result read-only, a revoked or unknown one does
not, and on a hosted dashboard one visitor never sees another's history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach import results as R
from coach.analysis import analyze_poses
from coach.references import ReferenceLibrary
from coach.store import HistoryStore

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 90
DAYS = (dt.date(2026, 1, 10), dt.date(2026, 2, 14), dt.date(2026, 3, 21))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FORM_COACH_DB_URL", raising=False)
    monkeypatch.delenv("FORM_COACH_HOSTED", raising=False)
    monkeypatch.delenv("FORM_COACH_OWNER_PASSWORD", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def sessions():
    """Three different real analyses of the model performers against the side squat reference."""
    lib = ReferenceLibrary()
    out = []
    for ref in ("model-squat-side", "model-squat-front", "model-squat-side"):
        a = analyze_poses(lib.get(ref).poses, library=lib, reference_id="model-squat-side", source=f"{ref}.npz")
        out.append((R.analysis_to_bundle(a, pass_threshold=60.0), a.poses))
    return out


def _store(home: Path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{home / 'history.sqlite'}")


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def test_progress_page_without_sessions_offers_the_batch_upload():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/progress.py").run()
    _no_exception(at)
    assert [t.value for t in at.title] == ["Progress over time"]
    uploads = at.get("file_uploader")
    assert len(uploads) == 1 and uploads[0].proto.multiple_files
    assert any("No saved sessions yet" in i.value for i in at.info)


def test_progress_page_charts_saved_sessions_and_compares_two(home, sessions):
    s = _store(home)
    ws = s.local_workspace()
    for (bundle, poses), day in zip(sessions, DAYS, strict=True):
        s.save_session(ws, bundle, poses, performed_on=day)
    s.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/progress.py").run()
    _no_exception(at)
    assert len(_charts(at)) == 4  # score, range of motion, tempo, body parts
    assert len(at.dataframe[0].value) == 3
    # before/after defaults to the first and the last session, in words and side by side
    assert any(m.value.startswith("**21 Mar 2026 (70 days later) vs 10 Jan 2026") for m in at.markdown)
    assert len(at.get("video")) == 1


def test_progress_page_deletes_a_session(home, sessions):
    s = _store(home)
    ws = s.local_workspace()
    recs = [s.save_session(ws, b, p, performed_on=d) for (b, p), d in zip(sessions[:2], DAYS, strict=False)]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/progress.py").run()
    at.selectbox(key="pg_manage_id").set_value(recs[0].id)
    at.radio(key="pg_manage_action").set_value("Delete")
    next(b for b in at.button if b.label == "Apply").click().run()
    _no_exception(at)
    assert [r.id for r in s.list_sessions(ws)] == [recs[1].id]
    s.close()


def test_a_share_link_opens_one_result_read_only_and_a_revoked_one_does_not(home, sessions):
    s = _store(home)
    ws = s.local_workspace()
    shared = s.save_session(ws, sessions[0][0], sessions[0][1], performed_on=DAYS[0])
    s.save_session(ws, sessions[1][0], sessions[1][1], performed_on=DAYS[1])  # must not show
    token = s.create_share(ws, shared.id)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["result"] = token
    at.run()
    _no_exception(at)
    assert [t.value for t in at.title] == ["Shared result"]
    assert not at.get("file_uploader") and not at.get("date_input")  # read-only
    assert any("model-squat-side" in c.value and "read-only" not in c.value for c in at.caption)
    assert len(_charts(at)) >= 3 and len(at.get("video")) == 1  # charts and the skeleton replay
    assert any(m.label == "Score" for m in at.metric)
    assert not any("model-squat-front" in c.value for c in at.caption)  # nothing else from the history

    share_id = s.list_shares(ws, shared.id)[0].id
    s.revoke_share(ws, share_id)
    s.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["result"] = token
    at.run()
    _no_exception(at)
    assert any("revoked" in e.value for e in at.error)
    assert not _charts(at) and not at.metric and not at.get("file_uploader")

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["result"] = "x" * 43
    at.run()
    assert any("unknown" in e.value.lower() for e in at.error) and not _charts(at)


def test_hosted_visitors_only_see_their_own_workspace(home, sessions, monkeypatch):
    monkeypatch.setenv("FORM_COACH_HOSTED", "1")
    s = _store(home)
    s.save_session(s.local_workspace(), sessions[0][0], None, performed_on=DAYS[0])  # the owner's, local
    ws_a, token_a = s.create_workspace()
    _ws_b, token_b = s.create_workspace()
    s.save_session(ws_a, sessions[1][0], None, performed_on=DAYS[1])
    s.close()

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a visitor with no link sees nothing saved
    at.switch_page("pages/progress.py").run()
    _no_exception(at)
    assert not at.dataframe and not _charts(at)
    assert any(b.label == "Start my private history" for b in at.button)

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)  # visitor A: only A's session
    at.query_params["ws"] = token_a
    at.switch_page("pages/progress.py").run()
    _no_exception(at)
    assert list(at.dataframe[0].value["Performed"]) == [DAYS[1]]

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)  # visitor B: nothing, not A's, not the owner's
    at.query_params["ws"] = token_b
    at.switch_page("pages/progress.py").run()
    _no_exception(at)
    assert not at.dataframe and any("No saved sessions yet" in i.value for i in at.info)

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a made-up link opens nothing
    at.query_params["ws"] = "y" * 32
    at.switch_page("pages/progress.py").run()
    assert not at.dataframe and at.error


def test_an_owner_password_guards_new_private_histories(home, monkeypatch):
    monkeypatch.setenv("FORM_COACH_HOSTED", "1")
    monkeypatch.setenv("FORM_COACH_OWNER_PASSWORD", "open sesame")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/progress.py").run()
    at.text_input(key="ws_password").input("guess")
    at.button(key="ws_start").click().run()
    _no_exception(at)
    assert any("Wrong password" in e.value for e in at.error)
    s = _store(home)
    assert s.list_sessions(s.local_workspace()) == []
    at.text_input(key="ws_password").input("open sesame")
    at.button(key="ws_start").click().run()
    _no_exception(at)
    assert at.query_params.get("ws") and any(i.value.startswith("No saved sessions yet") for i in at.info)
    s.close()
