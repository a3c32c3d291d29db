"""The event log of the recommender's server: one SQLite file in WAL mode (systems/serving.py).

An event is one interaction a client reports (user, item, time, weight) under the data's original ids.
`add` writes a batch in one transaction: after it returns, every event of the batch is on disk and
survives a `kill -9` of the server; a crash before it returns leaves none of them. The server replays the
log at start-up, in arrival order, on top of the data set's interactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nanozoo.systems.serving import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    n INTEGER PRIMARY KEY,            -- arrival order
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    time INTEGER NOT NULL,            -- seconds since the epoch
    weight REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Event:
    user_id: str
    item_id: str
    time: int
    weight: float = 1.0


class EventStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = connect(self.path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, events: Iterable[Event]) -> int:
        """Store `events` in one transaction; returns how many."""
        rows = [(e.user_id, e.item_id, e.time, e.weight) for e in events]
        with self.db:
            self.db.executemany(
                "INSERT INTO events (user_id, item_id, time, weight) VALUES (?, ?, ?, ?)", rows
            )
        return len(rows)

    def __iter__(self) -> Iterator[Event]:
        """Every stored event, in arrival order."""
        for row in self.db.execute("SELECT user_id, item_id, time, weight FROM events ORDER BY n"):
            yield Event(*row)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
