"""Reading a test collection: documents, queries and relevance judgements (qrels) from the formats people
ship them in.

- documents: JSONL (one object per line: `id` or BEIR's `_id`, optional `title`, `text`), CSV (a header with
  `id` and `text`, optional `title`), the Cranfield format (`.I n` then `.T` title, `.A`, `.B`, `.W` text
  fields) and a BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`);
- queries: Cranfield's `cran.qry`, BEIR's `queries.jsonl`, or a TSV of `id<TAB>text`;
- qrels: Cranfield's `query doc code`, TREC's `query 0 doc gain`, BEIR's TSV with a `query-id` header.

A malformed record is never dropped silently: with `on_error="refuse"` (the default) the first one raises a
`CorpusError` naming the file and the line; with `on_error="skip"` each is logged with its line number and
left out, and the caller gets the list of them.

Cranfield's two quirks (../shared/datasets/SOURCES.md): the `.I` numbers of `cran.qry` run 001, 002, 004, ...
365, but `cranqrel` numbers the queries 1..225 in order of appearance, so a query's id here is its position;
and its relevance codes run the wrong way for nDCG (1 is "a complete answer", 4 "of minimum interest", -1 one
odd line per query), so they become gains explicitly: 1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1, -1 -> 0 (judged, not
relevant).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nanozoo.core.errors import UserError

log = logging.getLogger(__name__)

FORMATS = ("auto", "jsonl", "csv", "cranfield", "beir")
ON_ERROR = ("refuse", "skip")
CRANFIELD_GAIN = {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}


class CorpusError(UserError, ValueError):
    """A corpus, query or qrels file that cannot be read: the message names the file and the line."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Bad:
    """A malformed record: where it is and what is wrong with it."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class _Reader:
    """Collects the records of one file, refusing or skipping (and remembering) the malformed ones."""

    def __init__(self, path: Path, on_error: str):
        if on_error not in ON_ERROR:
            raise CorpusError(f"on_error={on_error!r}; allowed: {', '.join(ON_ERROR)}")
        self.path, self.on_error, self.bad = path, on_error, []
        self.first_line: dict[str, int] = {}

    def reject(self, line: int, reason: str) -> None:
        bad = Bad(self.path, line, reason)
        if self.on_error == "refuse":
            raise CorpusError(f"{bad} (pass on_error='skip' / --on-error skip to leave such records out)")
        log.warning("skipped %s", bad)
        self.bad.append(bad)

    def new_id(self, line: int, id_: str) -> bool:
        """False (and the record rejected) if the id is empty or was seen before in this file."""
        if not id_:
            self.reject(line, "empty id")
            return False
        if id_ in self.first_line:
            self.reject(line, f"duplicate id {id_!r} (first at line {self.first_line[id_]})")
            return False
        self.first_line[id_] = line
        return True


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for n, line in enumerate(f, 1):
                yield n, line.rstrip("\r\n")
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


# ---------------------------------------------------------------------------------------------------
# Documents


def _jsonl(path: Path, r: _Reader, kind: str = "document") -> Iterator[Document]:
    for n, line in _lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            r.reject(n, f"not JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(obj, dict):
            r.reject(n, f"a JSON {type(obj).__name__}, expected an object")
            continue
        id_, text, title = obj.get("_id", obj.get("id")), obj.get("text"), obj.get("title", "")
        if not isinstance(text, str) or not isinstance(title, str) or not isinstance(id_, (str, int)):
            r.reject(n, f"a {kind} needs an id (or _id) and a string text (optional string title)")
        elif r.new_id(n, str(id_).strip()):
            yield Document(str(id_).strip(), title, text)


def _csv(path: Path, r: _Reader) -> Iterator[Document]:
    rows = csv.reader(line for _, line in _lines(path))
    header = next(rows, None)
    if header is None or "id" not in header or "text" not in header:
        raise CorpusError(f"{path}:1: a CSV corpus needs a header with the columns id and text (and title)")
    col = {name: j for j, name in enumerate(header)}
    for row in rows:
        n = rows.line_num
        if len(row) != len(header):
            r.reject(n, f"{len(row)} fields, the header has {len(header)}")
        elif r.new_id(n, row[col["id"]].strip()):
            yield Document(
                row[col["id"]].strip(), row[col["title"]] if "title" in col else "", row[col["text"]]
            )


def _cranfield_records(path: Path, r: _Reader) -> Iterator[tuple[int, str, dict[str, list[str]]]]:
    """(line, .I number, {field letter: lines}) per record; a repeated field is appended to."""
    record, fields, field = None, {}, None
    for n, line in _lines(path):
        if line.startswith(".I"):
            if record is not None:
                yield record[0], record[1], fields
            record, fields, field = (n, line[2:].strip()), {}, None
        elif line.rstrip() in (".T", ".A", ".B", ".W"):
            field = line.strip()[1]
            fields.setdefault(field, [])
        elif record is None or field is None:
            if line.strip():
                r.reject(n, "text outside a record: expected a line `.I NUMBER` and then `.T` or `.W`")
        else:
            fields[field].append(line)
    if record is not None:
        yield record[0], record[1], fields


def _cranfield(path: Path, r: _Reader) -> Iterator[Document]:
    for n, num, fields in _cranfield_records(path, r):
        if not num.isdigit():
            r.reject(n, f"`.I {num}`: the record number is not a number")
        elif "W" not in fields:
            r.reject(n, f"record {num} has no .W (text) field")
        elif r.new_id(n, str(int(num))):
            title = " ".join(fields.get("T", [])).strip()
            yield Document(str(int(num)), title, " ".join(fields["W"]).strip())


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "beir"
    name = path.name.lower()
    if name.endswith(".jsonl") or name.endswith(".json"):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.startswith("cran") or name.endswith(".all.1400"):
        return "cranfield"
    raise CorpusError(f"{path}: cannot tell the format from the name; say one of {', '.join(FORMATS[1:])}")


def read_documents(
    path: str | Path, fmt: str = "auto", on_error: str = "refuse"
) -> tuple[list[Document], list[Bad]]:
    """All documents of a corpus file (or BEIR folder), and the malformed records that were skipped."""
    path = Path(path)
    if fmt not in FORMATS:
        raise CorpusError(f"format {fmt!r}; allowed: {', '.join(FORMATS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "beir":
        path = path / "corpus.jsonl" if path.is_dir() else path
    r = _Reader(path, on_error)
    read = {"jsonl": _jsonl, "beir": _jsonl, "csv": _csv, "cranfield": _cranfield}[fmt]
    docs = list(read(path, r))
    if not docs:
        raise CorpusError(f"{path}: no documents in it")
    return docs, r.bad


# ---------------------------------------------------------------------------------------------------
# Queries and qrels


def read_queries(path: str | Path, on_error: str = "refuse") -> dict[str, str]:
    """{query id: text} from cran.qry (ids 1..N in order: see the module docstring), a BEIR queries.jsonl
    (or a BEIR folder) or a TSV `id<TAB>text`."""
    path = Path(path)
    path = path / "queries.jsonl" if path.is_dir() else path
    r = _Reader(path, on_error)
    if path.name.lower().endswith(".jsonl"):
        return {d.id: d.text for d in _jsonl(path, r, "query")}
    if path.name.lower().startswith("cran"):
        records = list(_cranfield_records(path, r))
        return {str(i): " ".join(f.get("W", [])).strip() for i, (_, _, f) in enumerate(records, 1)}
    out = {}
    for n, line in _lines(path):
        parts = line.split("\t")
        if len(parts) != 2:
            r.reject(n, "expected `id<TAB>text`")
        elif r.new_id(n, parts[0].strip()):
            out[parts[0].strip()] = parts[1]
    return out


def read_qrels(path: str | Path, on_error: str = "refuse") -> dict[str, dict[str, int]]:
    """{query id: {doc id: gain}}; the format is told by the line: `q d code` (Cranfield, codes mapped to
    gains as in the module docstring), `q 0 d gain` (TREC), or BEIR's TSV after a `query-id` header."""
    path = Path(path)
    path = path / "qrels" / "test.tsv" if path.is_dir() else path
    r, qrels = _Reader(path, on_error), {}
    for n, line in _lines(path):
        parts = line.split()
        if not parts or (n == 1 and parts[0] == "query-id"):
            continue
        try:
            if len(parts) == 3 and "\t" not in line:  # Cranfield
                q, d, gain = parts[0], parts[1], CRANFIELD_GAIN[int(parts[2])]
            elif len(parts) == 3:  # BEIR
                q, d, gain = parts[0], parts[1], int(parts[2])
            elif len(parts) == 4:  # TREC
                q, d, gain = parts[0], parts[2], int(parts[3])
            else:
                raise ValueError(f"{len(parts)} fields")
        except (KeyError, ValueError) as e:
            r.reject(
                n, f"expected `query doc code` (Cranfield), `query 0 doc gain` (TREC) or BEIR's TSV: {e}"
            )
            continue
        qrels.setdefault(q, {})[d] = gain
    if not qrels:
        raise CorpusError(f"{path}: no judgements in it")
    return qrels
