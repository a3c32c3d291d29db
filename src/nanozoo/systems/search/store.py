"""The document store: one SQLite file in WAL mode (readers never wait for the writer) holding the documents
and the index's metadata.

Ingesting is idempotent: a document is keyed by its id; the same id with the same title and text again
changes nothing, with a new title or text it is updated (and counted as such). Each ingest is one
transaction, so a crash leaves the store as it was before or after it, never half of a batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nanozoo.systems.search.corpus import Document
from nanozoo.systems.serving import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    n INTEGER PRIMARY KEY,            -- the row of this document in the index matrices
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    digest TEXT NOT NULL              -- sha256 of title and text: an unchanged document is not rewritten
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int


def _digest(d: Document) -> str:
    return hashlib.sha256(json.dumps([d.title, d.text]).encode()).hexdigest()


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = connect(self.path)  # the server reads from its threads
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def ingest(self, docs: Iterable[Document]) -> IngestReport:
        added = updated = unchanged = 0
        with self.db:  # one transaction
            for d in docs:
                digest = _digest(d)
                row = self.db.execute("SELECT digest FROM documents WHERE id = ?", (d.id,)).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO documents (id, title, text, digest) VALUES (?, ?, ?, ?)",
                        (d.id, d.title, d.text, digest),
                    )
                    added += 1
                elif row[0] != digest:
                    self.db.execute(
                        "UPDATE documents SET title = ?, text = ?, digest = ? WHERE id = ?",
                        (d.title, d.text, digest, d.id),
                    )
                    updated += 1
                else:
                    unchanged += 1
        return IngestReport(added, updated, unchanged)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def documents(self) -> list[Document]:
        """Every document in index order (row n of the index matrices is the n-th of this list)."""
        rows = self.db.execute("SELECT id, title, text FROM documents ORDER BY n")
        return [Document(*r) for r in rows]

    def get(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT id, title, text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return Document(*row) if row else None

    def digest(self) -> str:
        """One hash of every document in index order: an index built from another state is stale."""
        h = hashlib.sha256()
        for (d,) in self.db.execute("SELECT digest FROM documents ORDER BY n"):
            h.update(d.encode())
        return h.hexdigest()

    def set_meta(self, key: str, value) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default
