"""History of analyses: saved sessions, private workspaces and revocable share links.

One database URL (SQLAlchemy Core): SQLite by default, in the data folder, with no server to run; a
hosted deployment points `FORM_COACH_DB_URL` at PostgreSQL. Each row keeps the results bundle
(validated JSON), the cleaned keypoints (npz bytes, never pickle) and, only when the user opts in,
the video (a file written atomically beside the database).

Isolation: every session belongs to a workspace. The *local* workspace serves a single-user
install. A hosted app gives each visitor a private workspace whose secret token lives only in the
visitor's link; the database keeps its SHA-256, so a leaked database reveals no link. Share links
are separate tokens that open one result read-only and can be revoked.

Crash safety: a save is one transaction (SQLite's journal makes it all-or-nothing); a video file is
renamed into place before the row that names it commits, and files no row names are swept on open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from coach.errors import CoachError
from coach.paths import data_home
from coach.pose import PoseSequence

log = logging.getLogger(__name__)

DB_URL_ENV = "FORM_COACH_DB_URL"
SCHEMA_VERSION = 2
TOKEN_BYTES = 24  # 192 random bits per workspace or share token (>= 128 asked for)
LOCAL_WORKSPACE = "local"
_MAX_BUNDLE_CHARS = 20_000_000
_MAX_SOURCE_CHARS = 200


_SWEEP_AGE_S = 3600.0  # orphan kept-video files older than this are removed when a store opens


class StoreError(CoachError):
    """The history database cannot do what was asked (unknown session, revoked link, bad row)."""


@dataclass(frozen=True)
class Workspace:
    """A private history. id: database key; name: "local" or "visitor"."""

    id: int
    name: str


@dataclass(frozen=True)
class SessionRecord:
    """One saved analysis (the numbers a history list shows; the bundle is loaded on demand).
    performed_on: the day the set was done (editable); saved_at: UTC time of the save."""

    id: int
    workspace_id: int
    performed_on: dt.date
    saved_at: str
    source: str
    exercise: str
    reference: str
    score: float | None
    verdict: str
    reps: int
    has_keypoints: bool
    has_video: bool


@dataclass(frozen=True)
class ShareRecord:
    """A share link's row (its token is only shown once, when it is made)."""

    id: int
    session_id: int
    created_at: str
    revoked: bool


def default_url() -> str:
    env = os.environ.get(DB_URL_ENV, "").strip()
    return env or f"sqlite:///{data_home() / 'history.sqlite'}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- schema ------------------------------------------------------------------------------------

_md = sa.MetaData()
META = sa.Table("meta", _md, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text))
WORKSPACES = sa.Table(
    "workspaces", _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), unique=True, nullable=True),  # NULL: the local workspace
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
SESSIONS = sa.Table(
    "sessions", _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False, index=True),
    sa.Column("saved_at", sa.String(40), nullable=False),
    sa.Column("performed_on", sa.String(10), nullable=False),
    sa.Column("source", sa.String(_MAX_SOURCE_CHARS), nullable=False),
    sa.Column("exercise", sa.String(40), nullable=False),
    sa.Column("reference", sa.String(80), nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("reps", sa.Integer, nullable=False),
    sa.Column("bundle_json", sa.Text, nullable=False),
    sa.Column("keypoints", sa.LargeBinary, nullable=True),
    sa.Column("video_file", sa.String(80), nullable=True),
)
SHARES = sa.Table(
    "shares", _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), unique=True, nullable=False),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False, index=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40), nullable=True),
)


def _migrate_1_to_2(conn: sa.Connection) -> None:
    """v1 (one person's history, no workspaces or shares): its sessions join the local workspace."""
    WORKSPACES.create(conn, checkfirst=True)
    SHARES.create(conn, checkfirst=True)
    conn.execute(sa.text("ALTER TABLE sessions ADD COLUMN workspace_id INTEGER REFERENCES workspaces(id)"))
    local = _local_workspace_id(conn)
    conn.execute(sa.text("UPDATE sessions SET workspace_id = :w WHERE workspace_id IS NULL"), {"w": local})
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_sessions_workspace_id ON sessions (workspace_id)"))


# version -> migration to the next version; each runs in the same transaction as its version bump
MIGRATIONS: Mapping[int, Callable[[sa.Connection], None]] = {1: _migrate_1_to_2}


def _local_workspace_id(conn: sa.Connection) -> int:
    row = conn.execute(sa.select(WORKSPACES.c.id).where(WORKSPACES.c.name == LOCAL_WORKSPACE,
                                                       WORKSPACES.c.token_hash.is_(None))).first()
    if row is not None:
        return int(row[0])
    return int(conn.execute(WORKSPACES.insert().values(token_hash=None, name=LOCAL_WORKSPACE,
                                                       created_at=_now())).inserted_primary_key[0])


# --- the store ---------------------------------------------------------------------------------


class HistoryStore:
    """Saved analyses behind a database URL (default: SQLite in the data folder).

    Every call that reads or changes a session takes the Workspace it must belong to: a session
    of another workspace is reported as unknown, never returned."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            u = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"database URL: expected e.g. sqlite:///path/history.sqlite, got {self.url!r}") from exc
        if u.drivername in ("postgres", "postgresql"):
            # a plain postgres(ql):// URL (as hosting providers hand out) uses the bundled psycopg 3
            u = u.set(drivername="postgresql+psycopg")
            self.url = u.render_as_string(hide_password=False)
        self._sqlite = u.get_backend_name() == "sqlite"
        if self._sqlite and u.database:
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.files_dir = Path(u.database).expanduser().parent / "history-videos"
        else:
            self.files_dir = data_home() / "history-videos"
        self.engine = sa.create_engine(self.url, future=True)
        if self._sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._upgrade()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"history database {self._where()}: cannot open ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0][:160]})") from exc
        self._sweep_files()

    def _where(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # schema version and migrations
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return _read_version(conn)

    def _upgrade(self) -> None:
        with self.engine.begin() as conn:
            insp = sa.inspect(conn)
            if not insp.has_table("meta"):
                if insp.has_table("sessions"):
                    raise StoreError(f"history database {self._where()}: expected a version table, found none")
                _md.create_all(conn)
                conn.execute(META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                _local_workspace_id(conn)
                return
        while True:
            with self.engine.begin() as conn:
                v = _read_version(conn)
                if v == SCHEMA_VERSION:
                    _local_workspace_id(conn)
                    return
                if v > SCHEMA_VERSION:
                    raise StoreError(f"history database {self._where()}: expected schema version <= "
                                     f"{SCHEMA_VERSION}, got {v} (written by a newer Form Coach)")
                if v not in MIGRATIONS:
                    raise StoreError(f"history database {self._where()}: no migration from schema version {v}")
                log.info("history database: migrating schema %d -> %d", v, v + 1)
                MIGRATIONS[v](conn)
                conn.execute(META.update().where(META.c.key == "schema_version").values(value=str(v + 1)))

    # workspaces
    def local_workspace(self) -> Workspace:
        with self.engine.begin() as conn:
            return Workspace(_local_workspace_id(conn), LOCAL_WORKSPACE)

    def create_workspace(self) -> tuple[Workspace, str]:
        """A new private workspace and its secret token (put it in the visitor's link; only its
        hash is stored)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as conn:
            wid = conn.execute(WORKSPACES.insert().values(token_hash=_hash(token), name="visitor",
                                                          created_at=_now())).inserted_primary_key[0]
        return Workspace(int(wid), "visitor"), token

    def open_workspace(self, token: str) -> Workspace:
        if not isinstance(token, str) or not 16 <= len(token) <= 100:
            raise StoreError("workspace link: expected a private workspace token, got an invalid one")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(WORKSPACES.c.id, WORKSPACES.c.name)
                               .where(WORKSPACES.c.token_hash == _hash(token))).first()
        if row is None:
            raise StoreError("workspace link: unknown workspace (the link may be mistyped)")
        return Workspace(int(row[0]), row[1])

    # sessions
    def save_session(
        self,
        ws: Workspace,
        bundle: Mapping,
        poses: PoseSequence | None,
        *,
        performed_on: dt.date,
        video_path: str | Path | None = None,
    ) -> SessionRecord:
        """Save one analysis (all or nothing). poses: the cleaned keypoints (None: keep only the
        results); video_path: a copy of the clip is kept only when given (opt-in)."""
        from coach.results import bundle_to_json, check_bundle

        check_bundle(bundle)
        if not isinstance(performed_on, dt.date):
            raise StoreError(f"date performed: expected a date, got {type(performed_on).__name__}")
        s = bundle["summary"]
        text = bundle_to_json(bundle)
        if len(text) > _MAX_BUNDLE_CHARS:
            raise StoreError(f"results: expected at most {_MAX_BUNDLE_CHARS} characters, got {len(text)}")
        blob = poses.to_npz_bytes() if poses is not None else None
        video_file = self._keep_video(Path(video_path)) if video_path is not None else None
        row = {
            "workspace_id": ws.id, "saved_at": _now(), "performed_on": performed_on.isoformat(),
            "source": str(s.get("source") or "")[:_MAX_SOURCE_CHARS], "exercise": str(s["exercise"]),
            "reference": str(s["reference"]), "score": number_or_none(s.get("score")), "verdict": str(s.get("verdict", "")),
            "reps": int(s.get("reps") or 0), "bundle_json": text, "keypoints": blob, "video_file": video_file,
        }
        try:
            with self.engine.begin() as conn:
                sid = int(conn.execute(SESSIONS.insert().values(**row)).inserted_primary_key[0])
        except BaseException:
            if video_file is not None:  # the row never committed: do not leave its file behind
                (self.files_dir / video_file).unlink(missing_ok=True)
            raise
        return self.get_session(ws, sid)

    def _keep_video(self, src: Path) -> str:
        if not src.is_file():
            raise StoreError(f"{src.name}: expected a video file to keep, found none")
        self.files_dir.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(16)}{src.suffix.lower()[:8]}"
        fd, tmp = tempfile.mkstemp(dir=self.files_dir, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                while chunk := inp.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.files_dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def _sweep_files(self) -> None:
        """Delete kept-video files no committed row names (a crash between file and row)."""
        if not self.files_dir.is_dir():
            return
        with self.engine.connect() as conn:
            named = {r[0] for r in conn.execute(sa.select(SESSIONS.c.video_file).where(SESSIONS.c.video_file.isnot(None)))}
        now = time.time()
        for f in self.files_dir.iterdir():
            # young files may belong to a save in progress in another process sharing the folder
            if f.is_file() and f.name not in named and now - f.stat().st_mtime > _SWEEP_AGE_S:
                f.unlink(missing_ok=True)

    def list_sessions(self, ws: Workspace, *, exercise: str | None = None) -> list[SessionRecord]:
        """The workspace's sessions, oldest performed first."""
        q = sa.select(*_RECORD_COLS).where(SESSIONS.c.workspace_id == ws.id)
        if exercise:
            q = q.where(SESSIONS.c.exercise == exercise)
        q = q.order_by(SESSIONS.c.performed_on, SESSIONS.c.id)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q)]

    def get_session(self, ws: Workspace, session_id: int) -> SessionRecord:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(*_RECORD_COLS).where(SESSIONS.c.id == int(session_id),
                                                            SESSIONS.c.workspace_id == ws.id)).first()
        if r is None:
            raise StoreError(f"session {session_id}: not found in this workspace")
        return _record(r)

    def load_bundle(self, ws: Workspace, session_id: int) -> dict:
        return self._bundle_of(self._row(ws, session_id, SESSIONS.c.bundle_json)[0], session_id)

    def load_poses(self, ws: Workspace, session_id: int) -> PoseSequence | None:
        blob = self._row(ws, session_id, SESSIONS.c.keypoints)[0]
        if blob is None:
            return None
        return PoseSequence.from_npz_bytes(bytes(blob), name=f"session {session_id} keypoints")

    def video_path(self, ws: Workspace, session_id: int) -> Path | None:
        name = self._row(ws, session_id, SESSIONS.c.video_file)[0]
        if not name:
            return None
        p = self.files_dir / Path(name).name
        return p if p.is_file() else None

    def set_performed_on(self, ws: Workspace, session_id: int, performed_on: dt.date) -> None:
        self._row(ws, session_id, SESSIONS.c.id)
        with self.engine.begin() as conn:
            conn.execute(SESSIONS.update().where(SESSIONS.c.id == int(session_id), SESSIONS.c.workspace_id == ws.id)
                         .values(performed_on=performed_on.isoformat()))

    def delete_session(self, ws: Workspace, session_id: int) -> None:
        """Delete a session, its share links and its kept video."""
        video = self._row(ws, session_id, SESSIONS.c.video_file)[0]
        with self.engine.begin() as conn:
            conn.execute(SHARES.delete().where(SHARES.c.session_id == int(session_id)))
            conn.execute(SESSIONS.delete().where(SESSIONS.c.id == int(session_id), SESSIONS.c.workspace_id == ws.id))
        if video:
            (self.files_dir / Path(video).name).unlink(missing_ok=True)

    def _row(self, ws: Workspace, session_id: int, *cols) -> tuple:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(*cols).where(SESSIONS.c.id == int(session_id),
                                                    SESSIONS.c.workspace_id == ws.id)).first()
        if r is None:
            raise StoreError(f"session {session_id}: not found in this workspace")
        return tuple(r)

    @staticmethod
    def _bundle_of(text: str, session_id: int) -> dict:
        from coach.results import bundle_from_json

        try:
            return bundle_from_json(text)
        except CoachError as exc:
            raise StoreError(f"session {session_id}: stored results are damaged ({exc})") from exc

    # share links
    def create_share(self, ws: Workspace, session_id: int) -> str:
        """A new read-only link token for one session (shown once; only its hash is stored)."""
        self._row(ws, session_id, SESSIONS.c.id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as conn:
            conn.execute(SHARES.insert().values(token_hash=_hash(token), session_id=int(session_id),
                                                created_at=_now(), revoked_at=None))
        return token

    def list_shares(self, ws: Workspace, session_id: int) -> list[ShareRecord]:
        self._row(ws, session_id, SESSIONS.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(SHARES.c.id, SHARES.c.session_id, SHARES.c.created_at, SHARES.c.revoked_at)
                                .where(SHARES.c.session_id == int(session_id)).order_by(SHARES.c.id))
            return [ShareRecord(int(r[0]), int(r[1]), r[2], r[3] is not None) for r in rows]

    def revoke_share(self, ws: Workspace, share_id: int) -> None:
        with self.engine.begin() as conn:
            owned = conn.execute(
                sa.select(SHARES.c.id).join(SESSIONS, SESSIONS.c.id == SHARES.c.session_id)
                .where(SHARES.c.id == int(share_id), SESSIONS.c.workspace_id == ws.id)
            ).first()
            if owned is None:
                raise StoreError(f"share link {share_id}: not found in this workspace")
            conn.execute(SHARES.update().where(SHARES.c.id == int(share_id)).values(revoked_at=_now()))

    def resolve_share(self, token: str) -> tuple[SessionRecord, dict]:
        """The one session a share token opens, and its results. Unknown or revoked: StoreError."""
        if not isinstance(token, str) or not 16 <= len(token) <= 100:
            raise StoreError("share link: this link is not valid (it may be cut short)")
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(SHARES.c.session_id, SHARES.c.revoked_at)
                             .where(SHARES.c.token_hash == _hash(token))).first()
            if r is None:
                raise StoreError("share link: unknown link — it may be mistyped or its result was deleted")
            if r[1] is not None:
                raise StoreError("share link: this link was revoked by its owner")
            row = conn.execute(sa.select(*_RECORD_COLS, SESSIONS.c.bundle_json).where(SESSIONS.c.id == r[0])).first()
        if row is None:
            raise StoreError("share link: the shared result was deleted")
        rec = _record(row[:-1])
        return rec, self._bundle_of(row[-1], rec.id)


    def shared_poses(self, token: str) -> PoseSequence | None:
        """The keypoints of the session a live share token opens (None when not kept)."""
        rec, _bundle = self.resolve_share(token)
        with self.engine.connect() as conn:
            blob = conn.execute(sa.select(SESSIONS.c.keypoints).where(SESSIONS.c.id == rec.id)).scalar()
        return None if blob is None else PoseSequence.from_npz_bytes(bytes(blob), name=f"session {rec.id} keypoints")


_RECORD_COLS = (
    SESSIONS.c.id, SESSIONS.c.workspace_id, SESSIONS.c.performed_on, SESSIONS.c.saved_at, SESSIONS.c.source,
    SESSIONS.c.exercise, SESSIONS.c.reference, SESSIONS.c.score, SESSIONS.c.verdict, SESSIONS.c.reps,
    SESSIONS.c.keypoints.isnot(None).label("has_keypoints"), SESSIONS.c.video_file.isnot(None).label("has_video"),
)


def _record(r) -> SessionRecord:
    try:
        day = dt.date.fromisoformat(r[2])
    except (TypeError, ValueError) as exc:
        raise StoreError(f"session {r[0]}: expected a date performed like 2026-03-14, got {r[2]!r}") from exc
    return SessionRecord(
        id=int(r[0]), workspace_id=int(r[1]), performed_on=day, saved_at=str(r[3]), source=str(r[4]),
        exercise=str(r[5]), reference=str(r[6]), score=None if r[7] is None else float(r[7]), verdict=str(r[8]),
        reps=int(r[9]), has_keypoints=bool(r[10]), has_video=bool(r[11]),
    )


def number_or_none(x) -> float | None:
    """A finite float, or None for missing, non-numeric, NaN or infinite values."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _read_version(conn: sa.Connection) -> int:
    row = conn.execute(sa.select(META.c.value).where(META.c.key == "schema_version")).first()
    try:
        return int(row[0]) if row else 1
    except ValueError as exc:
        raise StoreError(f"history database: expected an integer schema version, got {row[0]!r}") from exc


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")  # several Streamlit sessions write from their own threads
    cur.execute("PRAGMA synchronous=FULL")  # a commit is on disk before save_session returns
    cur.close()


def performed_date(metadata: Mapping[str, str] | None, fallback: dt.date | None = None) -> dt.date:
    """The day a clip was filmed, from its container's creation_time tag, else `fallback` (today)."""
    for key in ("creation_time", "com.apple.quicktime.creationdate", "date"):
        v = (metadata or {}).get(key)
        if not v:
            continue
        try:
            return dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).date()
        except ValueError:
            try:
                return dt.date.fromisoformat(str(v)[:10])
            except ValueError:
                continue
    return fallback or dt.date.today()


def bundle_summary_json(bundle: Mapping) -> str:
    """Compact JSON of a bundle's summary (for logs and exports)."""
    return json.dumps(bundle.get("summary", {}), sort_keys=True)
