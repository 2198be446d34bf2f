"""History store: round trip, migration, crash safety, workspaces (visitor isolation) and share links."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from coach import results as R
from coach.analysis import analyze_poses
from coach.errors import CoachError
from coach.references import ReferenceLibrary
from coach.store import SCHEMA_VERSION, HistoryStore, StoreError, performed_date
from tests.conftest import ROOT

REF = "model-squat-side"


@pytest.fixture(scope="module")
def analysis():
    lib = ReferenceLibrary()
    # the front-view model against the side reference: a real, imperfect result
    return analyze_poses(lib.get("model-squat-front").poses, library=lib, reference_id=REF, source="front.mp4")


@pytest.fixture(scope="module")
def bundle(analysis) -> dict:
    return R.analysis_to_bundle(analysis)


def _postgres_bin() -> Path | None:
    """The folder of PostgreSQL's initdb / pg_ctl (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    return next((d for d in dirs if (d / "initdb").exists()), None)


@pytest.fixture(scope="module")
def postgres_server():
    """A throwaway PostgreSQL cluster on a Unix socket (no TCP), trust auth: (socket dir, port)."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql): history tested on SQLite only")
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install -r requirements.txt)")
    root = Path(tempfile.mkdtemp(prefix="fc-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    with socket.socket() as sk:  # a free port number names the socket file
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    data = root / "data"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "coach", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-w", "-l", str(root / "server.log"),
                    "-o", f"-k {root} -p {port} -c listen_addresses='' -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield root, port
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)  # best effort
        shutil.rmtree(root, ignore_errors=True)


_db_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same store tests on SQLite (the default) and on a real PostgreSQL server (hosted)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    else:
        sock, port = request.getfixturevalue("postgres_server")
        name = f"history_{os.getpid()}_{next(_db_names)}"
        admin = sa.create_engine(f"postgresql+psycopg://coach@/postgres?host={sock}&port={port}",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        url = f"postgresql://coach@/{name}?host={sock}&port={port}"  # as a host hands it out
        request.getfixturevalue("monkeypatch").setenv("FORM_COACH_HOME", str(tmp_path))  # kept videos go here
    s = HistoryStore(url)
    yield s
    s.close()


def _same_nan(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def test_round_trip_keeps_results_and_keypoints(store, analysis, bundle):
    ws = store.local_workspace()
    rec = store.save_session(ws, bundle, analysis.poses, performed_on=dt.date(2026, 3, 14))
    assert rec.performed_on == dt.date(2026, 3, 14)
    assert rec.exercise == "squat" and rec.reference == REF
    assert rec.score == pytest.approx(analysis.score, abs=0.05) and rec.reps == analysis.reps.count
    assert rec.has_keypoints and not rec.has_video  # the video is opt-in
    assert store.load_bundle(ws, rec.id) == json.loads(json.dumps(bundle))
    poses = store.load_poses(ws, rec.id)
    assert _same_nan(poses.xyz, analysis.poses.xyz) and _same_nan(poses.timestamps_s, analysis.poses.timestamps_s)
    assert [r.id for r in store.list_sessions(ws)] == [rec.id]
    assert store.list_sessions(ws, exercise="push_up") == []


def test_results_only_and_an_opted_in_video(store, bundle, tmp_path):
    ws = store.local_workspace()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(1000))
    a = store.save_session(ws, bundle, None, performed_on=dt.date(2026, 1, 2))
    b = store.save_session(ws, bundle, None, performed_on=dt.date(2026, 1, 1), video_path=clip)
    assert store.load_poses(ws, a.id) is None and store.video_path(ws, a.id) is None
    kept = store.video_path(ws, b.id)
    assert kept is not None and kept.read_bytes() == clip.read_bytes()
    assert [r.id for r in store.list_sessions(ws)] == [b.id, a.id]  # by date performed
    store.delete_session(ws, b.id)
    assert not kept.exists()
    with pytest.raises(StoreError, match="not found"):
        store.load_bundle(ws, b.id)


def test_orphan_video_files_are_swept_on_open(tmp_path, bundle):
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    s = HistoryStore(url)
    s.files_dir.mkdir(parents=True, exist_ok=True)
    orphan = s.files_dir / "deadbeef.mp4"  # a file whose row never committed (crash)
    orphan.write_bytes(b"x")
    fresh = s.files_dir / "cafebabe.mp4"  # maybe another process's save in progress: kept for now
    fresh.write_bytes(b"y")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    s.close()
    HistoryStore(url).close()
    assert not orphan.exists() and fresh.exists()


def test_a_v1_database_is_migrated_and_keeps_its_sessions(tmp_path, bundle):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, saved_at VARCHAR(40) NOT NULL,
            performed_on VARCHAR(10) NOT NULL, source VARCHAR(200) NOT NULL, exercise VARCHAR(40) NOT NULL,
            reference VARCHAR(80) NOT NULL, score FLOAT, verdict VARCHAR(8) NOT NULL, reps INTEGER NOT NULL,
            bundle_json TEXT NOT NULL, keypoints BLOB, video_file VARCHAR(80));
        """
    )
    con.execute(
        "INSERT INTO sessions (saved_at, performed_on, source, exercise, reference, score, verdict, reps, bundle_json)"
        " VALUES ('2026-01-01T00:00:00+00:00', '2025-12-31', 'old.mp4', 'squat', ?, 71.5, 'pass', 3, ?)",
        (REF, R.bundle_to_json(bundle)),
    )
    con.commit()
    con.close()
    s = HistoryStore(f"sqlite:///{path}")
    assert s.schema_version() == SCHEMA_VERSION == 2
    ws = s.local_workspace()
    (rec,) = s.list_sessions(ws)
    assert (rec.source, rec.performed_on, rec.score) == ("old.mp4", dt.date(2025, 12, 31), 71.5)
    assert s.load_bundle(ws, rec.id)["summary"]["reference"] == REF
    token = s.create_share(ws, rec.id)  # the v2 tables exist
    assert s.resolve_share(token)[0].id == rec.id
    s.close()


def test_a_newer_schema_is_refused_not_damaged(tmp_path):
    path = tmp_path / "new.sqlite"
    HistoryStore(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="expected schema version <= 2, got 99"):
        HistoryStore(f"sqlite:///{path}")


def test_bad_url_and_damaged_rows_give_clear_errors(tmp_path, store, bundle):
    with pytest.raises(StoreError, match="database URL"):
        HistoryStore("not a url")
    ws = store.local_workspace()
    rec = store.save_session(ws, bundle, None, performed_on=dt.date(2026, 2, 2))
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sessions SET bundle_json = '{\"format\": \"x\"' WHERE id = :id"), {"id": rec.id})
    with pytest.raises(StoreError, match="stored results are damaged"):
        store.load_bundle(ws, rec.id)
    with pytest.raises(CoachError, match="expected format"):
        store.save_session(ws, {"format": "nope"}, None, performed_on=dt.date(2026, 2, 2))


_SAVER = """
import datetime as dt, json, sys
from coach.store import HistoryStore
from coach.results import bundle_from_json
from coach.pose import PoseSequence
store = HistoryStore(sys.argv[1])
bundle = bundle_from_json(open(sys.argv[2]).read())
poses = PoseSequence.load_npz(sys.argv[3])
ws = store.local_workspace()
print("ready", flush=True)
while True:
    store.save_session(ws, bundle, poses, performed_on=dt.date(2026, 5, 1))
"""


def test_a_crash_during_saves_leaves_every_saved_session_readable(tmp_path, analysis, bundle):
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    s = HistoryStore(url)
    ws = s.local_workspace()
    before = s.save_session(ws, bundle, analysis.poses, performed_on=dt.date(2026, 4, 1))
    s.close()
    (tmp_path / "b.json").write_text(R.bundle_to_json(bundle))
    big = analysis.poses
    for _ in range(4):  # bigger rows make the kill more likely to land inside a write
        big = big.replace(xyz=np.concatenate([big.xyz, big.xyz]), visibility=np.concatenate([big.visibility] * 2),
                          timestamps_s=np.arange(2 * big.n_frames) / big.fps)
    big.save_npz(tmp_path / "p.npz")
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, url, str(tmp_path / "b.json"), str(tmp_path / "p.npz")],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)  # no clean-up of any kind, as in a power cut of the process
    proc.wait(timeout=30)
    proc.stdout.close()

    s = HistoryStore(url)
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    sessions = s.list_sessions(ws)
    assert sessions[0].id == before.id and len(sessions) >= 2  # the earlier save, and the loop's commits
    for rec in sessions:  # every committed row is whole
        assert s.load_bundle(ws, rec.id)["summary"]["exercise"] == "squat"
        assert s.load_poses(ws, rec.id).n_frames in (analysis.poses.n_frames, big.n_frames)
    s.close()


def test_visitors_see_only_their_own_workspace(store, bundle):
    (a, token_a), (b, token_b) = store.create_workspace(), store.create_workspace()
    assert len(token_a) >= 22 and token_a != token_b  # >= 128 random bits, URL-safe
    ra = store.save_session(a, bundle, None, performed_on=dt.date(2026, 6, 1))
    rb = store.save_session(b, bundle, None, performed_on=dt.date(2026, 6, 2))
    assert store.open_workspace(token_a) == a and store.open_workspace(token_b) == b
    assert [r.id for r in store.list_sessions(a)] == [ra.id]
    assert [r.id for r in store.list_sessions(b)] == [rb.id]
    assert store.list_sessions(store.local_workspace()) == []
    for call in (store.load_bundle, store.load_poses, store.get_session, store.create_share, store.delete_session):
        with pytest.raises(StoreError, match="not found in this workspace"):
            call(b, ra.id)
    with pytest.raises(StoreError, match="unknown workspace"):
        store.open_workspace(token_a[:-2] + "xx")
    with store.engine.connect() as conn:  # only hashes of the tokens are stored
        stored = " ".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM workspaces"))
    assert token_a not in stored and token_b not in stored


def test_share_links_open_one_result_and_can_be_revoked(store, bundle):
    a, _ = store.create_workspace()
    b, _ = store.create_workspace()
    shown = store.save_session(a, bundle, None, performed_on=dt.date(2026, 7, 1))
    store.save_session(a, bundle, None, performed_on=dt.date(2026, 7, 2))  # not shared
    token = store.create_share(a, shown.id)
    rec, shared = store.resolve_share(token)
    assert rec.id == shown.id and shared["summary"]["reference"] == REF
    (share,) = store.list_shares(a, shown.id)
    with pytest.raises(StoreError, match="not found in this workspace"):
        store.revoke_share(b, share.id)  # another visitor cannot revoke it
    store.revoke_share(a, share.id)
    assert store.list_shares(a, shown.id)[0].revoked
    with pytest.raises(StoreError, match="revoked"):
        store.resolve_share(token)
    with pytest.raises(StoreError, match="unknown link"):
        store.resolve_share("A" * 32)
    with pytest.raises(StoreError, match="not valid"):
        store.resolve_share("short")
    new = store.create_share(a, shown.id)
    store.delete_session(a, shown.id)
    with pytest.raises(StoreError, match="unknown link"):
        store.resolve_share(new)


def test_date_performed_comes_from_the_clip_metadata():
    assert performed_date({"creation_time": "2025-09-30T18:01:02.000000Z"}) == dt.date(2025, 9, 30)
    assert performed_date({"com.apple.quicktime.creationdate": "2024-02-29T07:00:00+0100"}) == dt.date(2024, 2, 29)
    assert performed_date({"creation_time": "garbage"}, dt.date(2020, 1, 1)) == dt.date(2020, 1, 1)
    assert performed_date(None, dt.date(2021, 5, 5)) == dt.date(2021, 5, 5)
