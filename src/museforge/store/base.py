"""What every table of the store shares: the schema, job states, ids and names checked before they reach a path,
and :class:`Database`, the connection plumbing (WAL, short-lived connections, ``BEGIN IMMEDIATE`` transactions)."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from museforge import paths
from museforge.errors import MuseforgeError, NotFoundError

#: Version of the schema below; :meth:`Database.__init__` migrates older databases up to it (see :data:`MIGRATIONS`).
SCHEMA_VERSION = 2
#: Job states. A job waits ``queued``, runs ``training`` and ends in one of the final states.
QUEUED, TRAINING = "queued", "training"
COMPLETED, FAILED, STOPPED, INTERRUPTED = "completed", "failed", "stopped", "interrupted"
ACTIVE_STATES = (QUEUED, TRAINING)
FINAL_STATES = (COMPLETED, FAILED, STOPPED, INTERRUPTED)
#: Final states a job can be resumed from (its model folder holds a checkpoint).
RESUMABLE_STATES = (INTERRUPTED, STOPPED)

_ID = re.compile(r"[0-9a-f]{32}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    architecture TEXT,
    genre TEXT,
    status TEXT,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    hyperparameters TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    model_name TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    resume INTEGER NOT NULL DEFAULT 0,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    error TEXT,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_model ON jobs (model_name);
CREATE TABLE IF NOT EXISTS job_epochs (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
CREATE TABLE IF NOT EXISTS compositions (
    id TEXT PRIMARY KEY,
    melody TEXT NOT NULL,
    model TEXT NOT NULL,
    genre TEXT,
    seed INTEGER,
    midi_path TEXT NOT NULL,
    wav_path TEXT,
    png_path TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    technique TEXT NOT NULL DEFAULT 'compose'
);
CREATE TABLE IF NOT EXISTS melodies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    info TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
"""


#: How long opening a store waits for others opening (and migrating) it at the same moment.
OPEN_WAIT_SECONDS = 30.0

#: What made a composition: ``compose`` (a GAN's accompaniment), ``enhance`` (the AR-CNN), ``extend`` (the
#: melody Transformer).
TECHNIQUES = ("compose", "enhance", "extend")

#: ``(version, table, column, definition)``: the columns each schema version added. A database of an older version
#: gets them (``ALTER TABLE ... ADD COLUMN``), its existing rows the column's default.
MIGRATIONS: tuple[tuple[int, str, str, str], ...] = (
    (2, "compositions", "technique", "TEXT NOT NULL DEFAULT 'compose'"),
)


def new_id() -> str:
    """A fresh random id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a store id (32 lowercase hex digits), else raise NotFoundError."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise NotFoundError(f"no {what} {value!r}: ids are 32 hex digits")
    return value


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row["name"]) for row in db.execute(f"PRAGMA table_info({table})")}


class Database:
    """The SQLite database under the store: connections, transactions and the data home's folders.

    Parameters
    ----------
    path : the database file; default :func:`museforge.paths.store_path`. Its folder is the data home: uploaded
        melodies go to ``<folder>/melodies`` and the studio's compositions to ``<folder>/compositions``.

    Each call opens its own short-lived connection, so one Store may be shared by threads and processes.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.store_path()
        self.home = self.path.parent
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._open()
        except (OSError, sqlite3.Error) as error:
            raise MuseforgeError(f"cannot open the store {self.path}: {error}") from None

    def _open(self) -> None:
        """Switch the database to WAL, create what is missing and migrate it.

        Switching an older (rollback-journal) database to WAL needs it to itself and does not wait for the busy
        timeout: processes opening it at the same moment retry for up to :data:`OPEN_WAIT_SECONDS`.
        """
        deadline = time.monotonic() + OPEN_WAIT_SECONDS
        while True:
            try:
                with self._connect() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(_SCHEMA)
                self._migrate()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        """Bring the database to :data:`SCHEMA_VERSION`: add the columns of every later version, once.

        A new database already has every column (``CREATE TABLE`` above); one written by an older museforge has
        ``schema_version`` below the current one and gets the :data:`MIGRATIONS` it lacks. It runs in one
        ``BEGIN IMMEDIATE`` transaction, so processes opening the store at once (the server, its workers, the
        CLI) migrate it exactly once. A database from a newer museforge is left as it is.
        """
        if self._stored_version() >= SCHEMA_VERSION:
            return
        with self._transaction() as db:
            version = self._stored_version(db)
            for target, table, column, definition in MIGRATIONS:
                if version < target and column not in _columns(db, table):
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            db.execute(
                """INSERT INTO meta (key, value) VALUES ('schema_version', ?)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < ?""",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )

    def _stored_version(self, db: sqlite3.Connection | None = None) -> int:
        """The ``schema_version`` in the meta table (1 when absent: a new database, or one from before it)."""
        if db is None:
            with self._connect() as fresh:
                return self._stored_version(fresh)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row["value"]) if row is not None else 1

    def schema_version(self) -> int:
        """The schema version the database is at."""
        return self._stored_version()

    # ------------------------------------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on error."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def journal_mode(self) -> str:
        """The database's journal mode (``wal``)."""
        with self._connect() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def melodies_dir(self) -> Path:
        return self.home / "melodies"

    @property
    def compositions_dir(self) -> Path:
        return self.home / "compositions"

    @property
    def jobs_dir(self) -> Path:
        """Folder of the training workers' log files."""
        return self.home / "jobs"
