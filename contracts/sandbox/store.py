"""The sandbox's state, in SQLite.

One connection, one lock: every request runs in a transaction of its own while holding the
lock, so a request applies fully or not at all and concurrent requests see each other's
effects in a serial order (the GIL serialises Python work anyway; only HTTP parsing and I/O
run in parallel). ``dry`` requests run the same code and roll back.

A file database uses WAL journaling with ``synchronous=NORMAL``: a commit is durable against a
crash of the process, and fsync happens at checkpoints rather than on every request.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ..errors import TalonContractsError
from .seed import Seed
from .times import iso

__all__ = ["Store", "dumps", "loads"]

SCHEMA_VERSION = "1"  # the database's format; a database of another format is refused
CatalogEntry = tuple[float | None, dict[str, Any]]  # price, attributes

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT UNIQUE NOT NULL,
    created TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    closed_sessions INTEGER NOT NULL DEFAULT 0,
    total_sales REAL NOT NULL DEFAULT 0,
    last_activity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT UNIQUE NOT NULL,
    profile_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    first_session INTEGER NOT NULL,
    data TEXT NOT NULL,
    effects TEXT NOT NULL DEFAULT '[]',
    committed TEXT
);
CREATE INDEX IF NOT EXISTS sessions_profile ON sessions(profile_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    profile_id TEXT,
    session_id TEXT,
    store_id TEXT,
    created TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    effects TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS events_profile ON events(profile_id);
CREATE TABLE IF NOT EXISTS returns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_integration_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    created TEXT NOT NULL,
    items TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS returns_session ON returns(session_integration_id);
CREATE TABLE IF NOT EXISTS audiences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    integration TEXT,
    integration_id TEXT,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audience_members (
    audience_id INTEGER NOT NULL,
    profile_integration_id TEXT NOT NULL,
    PRIMARY KEY (audience_id, profile_integration_id)
);
CREATE INDEX IF NOT EXISTS members_profile ON audience_members(profile_integration_id);
CREATE TABLE IF NOT EXISTS coupons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    value TEXT UNIQUE NOT NULL,
    campaign_id INTEGER NOT NULL,
    created TEXT NOT NULL,
    usage_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS coupon_redemptions (
    coupon_id INTEGER NOT NULL,
    profile_integration_id TEXT NOT NULL,
    session_integration_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS redemptions_coupon ON coupon_redemptions(coupon_id, profile_integration_id);
CREATE TABLE IF NOT EXISTS reservations (
    coupon_id INTEGER NOT NULL,
    profile_integration_id TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (coupon_id, profile_integration_id)
);
CREATE INDEX IF NOT EXISTS reservations_profile ON reservations(profile_integration_id);
CREATE TABLE IF NOT EXISTS referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT UNIQUE NOT NULL,
    campaign_id INTEGER NOT NULL,
    advocate TEXT NOT NULL,
    friend TEXT,
    start_date TEXT,
    expiry_date TEXT,
    usage_limit INTEGER NOT NULL DEFAULT 0,
    usage_counter INTEGER NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL DEFAULT '{}',
    batch_id TEXT,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS referrals_advocate ON referrals(advocate);
CREATE TABLE IF NOT EXISTS referral_uses (
    referral_id INTEGER NOT NULL,
    friend TEXT NOT NULL,
    session_integration_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id INTEGER NOT NULL,
    subledger_id TEXT NOT NULL DEFAULT '',
    profile_integration_id TEXT,
    card_identifier TEXT,
    kind TEXT NOT NULL,
    amount REAL NOT NULL,
    name TEXT NOT NULL,
    start_date TEXT,
    expiry_date TEXT,
    created TEXT NOT NULL,
    session_integration_id TEXT,
    transaction_type TEXT NOT NULL,
    ruleset_id INTEGER,
    rule_name TEXT,
    transaction_uuid TEXT,
    reverses INTEGER
);
CREATE INDEX IF NOT EXISTS ledger_profile ON ledger(program_id, profile_integration_id);
CREATE INDEX IF NOT EXISTS ledger_card ON ledger(program_id, card_identifier);
CREATE TABLE IF NOT EXISTS cards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id INTEGER NOT NULL,
    identifier TEXT UNIQUE NOT NULL,
    status TEXT NOT NULL,
    users_per_card_limit INTEGER NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS card_profiles (
    card_identifier TEXT NOT NULL,
    profile_integration_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (card_identifier, profile_integration_id)
);
CREATE INDEX IF NOT EXISTS card_profiles_profile ON card_profiles(profile_integration_id);
CREATE TABLE IF NOT EXISTS catalogs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_items (
    catalog_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    price REAL,
    product TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (catalog_id, sku)
);
CREATE INDEX IF NOT EXISTS catalog_items_sku ON catalog_items(sku);
"""


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


class StoreError(TalonContractsError, RuntimeError):
    """The sandbox's database cannot be used (another format ...)."""


class _Transaction:
    """The context manager behind :meth:`Store.transaction` (a class: it is on every request's path)."""

    __slots__ = ("rollback", "store")

    def __init__(self, store: Store, rollback: bool) -> None:
        self.store = store
        self.rollback = rollback

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            self.store.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store.conn

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            self.store.conn.execute("ROLLBACK" if kind is not None or self.rollback else "COMMIT")
        finally:
            self.store._lock.release()


class Store:
    """SQLite state of one sandbox Application."""

    def __init__(
        self, seed: Seed, path: str | Path = ":memory:", clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self.seed = seed
        self.path = str(path)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self._catalog: dict[str, CatalogEntry] | None = None
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints (which fsync) run in a thread of their own, not inside some request's COMMIT:
            # an automatic checkpoint costs the unlucky request several milliseconds.
            self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.executescript(_TABLES)
        with self.transaction() as db:
            schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if schema is not None and schema["value"] != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} holds sandbox state of format {schema['value']}; this version reads format "
                    f"{SCHEMA_VERSION}. Use another --db file."
                )
            if db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone() is None:
                self._apply_seed(db)
            else:
                self._apply_configuration(db)  # a changed seed: add its new coupons, cards and catalogs
        if self.path != ":memory:":
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            while not self._stopping.wait(0.5):
                # PASSIVE: copies what it can without blocking writers (sqlite releases the GIL meanwhile)
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()

    def close(self) -> None:
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
        with self._lock:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()

    def transaction(self, *, rollback: bool = False) -> _Transaction:
        """A unit of work (``with store.transaction() as db``): committed on success, rolled back
        on error or when ``rollback``; one at a time."""
        return _Transaction(self, rollback)

    def catalog(self, db: sqlite3.Connection) -> dict[str, CatalogEntry]:
        """SKU -> (price, attributes) of the Application's catalog (the lowest catalog id wins).

        Cached: read on every session update, changed only by SyncCatalog and reset(), which call
        :meth:`forget_catalog` (a SyncCatalog that rolls back is re-read too). Treat it as read-only.
        """
        cached = self._catalog
        if cached is None:
            cached = {}
            for row in db.execute(
                "SELECT sku, price, attributes FROM catalog_items ORDER BY catalog_id DESC"
            ):
                cached[row["sku"]] = (row["price"], loads(row["attributes"]))
            self._catalog = cached
        return cached

    def forget_catalog(self) -> None:
        self._catalog = None

    def reset(self) -> None:
        """Forget everything and start again from the seed."""
        with self._lock:
            self.forget_catalog()  # under the lock: a request in flight cannot re-fill it with the old catalog
            tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            with self.transaction() as db:
                for table in tables:
                    if table != "sqlite_sequence":
                        db.execute(f"DELETE FROM {table}")
                if "sqlite_sequence" in tables:
                    db.execute("DELETE FROM sqlite_sequence")
                self._apply_seed(db)

    # -- seeding

    def _apply_configuration(self, db: sqlite3.Connection) -> list[int]:
        """The seed's coupons, cards and catalogs the database does not hold yet; returns the new catalogs' ids."""
        seed = self.seed
        now = iso(self.clock())
        for campaign in seed.campaigns:
            for coupon in campaign.coupons:
                db.execute(
                    "INSERT OR IGNORE INTO coupons (value, campaign_id, created) VALUES (?, ?, ?)",
                    (coupon.value, campaign.id, now),
                )
        for program in seed.programs.values():
            for card in program.cards:
                db.execute(
                    "INSERT OR IGNORE INTO cards (program_id, identifier, status, users_per_card_limit, created,"
                    " modified) VALUES (?, ?, 'active', ?, ?, ?)",
                    (program.id, card, program.users_per_card_limit, now, now),
                )
        added = []
        for catalog in seed.catalogs.values():
            cursor = db.execute(
                "INSERT OR IGNORE INTO catalogs (id, name, description, version, created, modified)"
                " VALUES (?, ?, ?, 1, ?, ?)",
                (catalog.id, catalog.name, catalog.description, now, now),
            )
            if cursor.rowcount:
                added.append(catalog.id)
                for item in catalog.items:
                    db.execute(
                        "INSERT INTO catalog_items (catalog_id, sku, price, product, attributes) VALUES (?, ?, ?, ?, ?)",
                        (catalog.id, item.sku, item.price, dumps(item.product) if item.product else None,
                         dumps(dict(item.attributes))),
                    )  # fmt: skip
        return added

    def _apply_seed(self, db: sqlite3.Connection) -> None:
        """The whole seed, into an empty database: configuration and the seeded customers' data."""
        seed = self.seed
        now = iso(self.clock())
        self._apply_configuration(db)
        for profile in seed.profiles:
            db.execute(
                "INSERT INTO profiles (integration_id, created, attributes, last_activity) VALUES (?, ?, ?, ?)",
                (profile["integrationId"], now, dumps(profile.get("attributes") or {}), now),
            )
        for link in seed.card_links:
            db.execute(
                "INSERT INTO card_profiles (card_identifier, profile_integration_id, timestamp) VALUES (?, ?, ?)",
                (link["card"], link["profile"], now),
            )
        for entry in seed.ledger:
            db.execute(
                "INSERT INTO ledger (program_id, subledger_id, profile_integration_id, card_identifier, kind, amount,"
                " name, created, transaction_type) VALUES (?, ?, ?, ?, 'addition', ?, ?, ?, ?)",
                (
                    entry["program"],
                    entry.get("subledger", ""),
                    entry.get("profile"),
                    entry.get("card"),
                    entry["amount"],
                    entry.get("name", "Imported points"),
                    now,
                    entry.get("type", "import"),
                ),
            )
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', ?)", (seed.source,))
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
