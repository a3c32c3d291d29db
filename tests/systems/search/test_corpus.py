"""Loaders (JSONL, CSV, Cranfield, BEIR), malformed records reported by line, the idempotent store."""

import json
import sqlite3

import pytest

from nanozoo.systems.search.corpus import CorpusError, Document, read_documents, read_qrels, read_queries
from nanozoo.systems.search.store import Store


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_each_format_reads_the_same_documents(tmp_path):
    want = [Document("1", "Wings", "lift of a wing"), Document("2", "", "drag, of a body")]
    jsonl = write(
        tmp_path / "c.jsonl",
        "\n".join(json.dumps({"id": d.id, "title": d.title, "text": d.text}) for d in want) + "\n\n",
    )
    csv = write(tmp_path / "c.csv", 'id,title,text\n1,Wings,lift of a wing\n2,,"drag, of a body"\n')
    cran = write(
        tmp_path / "cran.all", ".I 1\n.T\nWings\n.A\nx\n.W\nlift of\na wing\n.I 2\n.W\ndrag, of a body\n"
    )
    beir = tmp_path / "beir"
    beir.mkdir()
    write(
        beir / "corpus.jsonl",
        "".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in want),
    )
    for path in (jsonl, csv, cran, beir):
        docs, bad = read_documents(path)
        assert docs == want and bad == [], path


def test_beir_queries_and_qrels(tmp_path):
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    write(beir / "queries.jsonl", '{"_id": "q1", "text": "lift"}\n{"_id": "q2", "text": "drag"}\n')
    write(beir / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\t1\t2\nq2\t2\t1\n")
    assert read_queries(beir) == {"q1": "lift", "q2": "drag"}
    assert read_qrels(beir) == {"q1": {"1": 2}, "q2": {"2": 1}}
    trec = write(tmp_path / "qrels.trec", "q1 0 1 2\nq1 0 3 0\n")
    assert read_qrels(trec) == {"q1": {"1": 2, "3": 0}}


@pytest.mark.parametrize(
    "name, text, line, reason, kept",
    [
        (
            "c.jsonl",
            '{"id": "1", "text": "a"}\n{"id": "2", "text": \n{"id": "3", "text": "c"}\n',
            2,
            "not JSON",
            "13",
        ),
        ("c.jsonl", '{"id": "1", "text": "a"}\n{"id": "1", "text": "b"}\n', 2, "duplicate id '1'", "1"),
        ("c.jsonl", '{"id": "1", "text": "a"}\n{"id": "2", "text": 5}\n', 2, "a string text", "1"),
        ("c.csv", "id,text\n1,a\n2,b,extra\n3,c\n", 3, "3 fields, the header has 2", "13"),
        ("cran.all", ".I 1\n.W\na\n.I x\n.W\nb\n.I 3\n.W\nc\n", 4, "not a number", "13"),
        ("cran.all", "stray\n.I 1\n.W\na\n", 1, "text outside a record", "1"),
    ],
)
def test_a_malformed_record_is_refused_or_skipped_with_its_line(tmp_path, name, text, line, reason, kept):
    path = write(tmp_path / name, text)
    with pytest.raises(CorpusError, match=f"{name}:{line}: "):
        read_documents(path)
    docs, bad = read_documents(path, on_error="skip")
    assert [b.line for b in bad] == [line] and reason in bad[0].reason
    assert "".join(d.id for d in docs) == kept


def test_an_empty_or_unknown_file_is_one_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        read_documents(tmp_path / "none.jsonl")
    with pytest.raises(CorpusError, match="no documents"):
        read_documents(write(tmp_path / "e.jsonl", "\n"))
    with pytest.raises(CorpusError, match="cannot tell the format"):
        read_documents(write(tmp_path / "e.txt", "x"))
    with pytest.raises(CorpusError, match="header with the columns id and text"):
        read_documents(write(tmp_path / "e.csv", "a,b\n1,2\n"))


def test_cranfield_and_its_query_numbering(cranfield):
    docs, bad = read_documents(cranfield["docs"])
    assert len(docs) == 1400 and bad == [] and docs[0].id == "1"
    assert docs[0].title.startswith("experimental investigation of the aerodynamics of a wing")
    queries = read_queries(cranfield["queries"])
    assert list(queries) == [str(i) for i in range(1, 226)]  # .I 001 002 004 ... renumbered by position
    assert queries["3"].startswith("what problems of heat conduction in composite slabs")  # the file's .I 004
    qrels = read_qrels(cranfield["qrels"])
    assert sorted(qrels, key=int) == list(queries)
    assert qrels["1"]["184"] == 3 and qrels["1"]["12"] == 2 and qrels["1"]["486"] == 0  # codes 2, 3, -1


def test_the_store_ingests_idempotently_in_wal_mode(tmp_path):
    docs = [Document("a", "t", "x"), Document("b", "", "y")]
    store = Store(tmp_path / "s.sqlite")
    r = store.ingest(docs)
    assert (r.added, r.updated, r.unchanged) == (2, 0, 0)
    r = store.ingest(docs)  # again: nothing changes
    assert (r.added, r.updated, r.unchanged) == (0, 0, 2) and len(store) == 2
    digest = store.digest()
    r = store.ingest([Document("a", "t", "x2"), Document("c", "", "z")])
    assert (r.added, r.updated, r.unchanged) == (1, 1, 0)
    assert [d.id for d in store.documents()] == ["a", "b", "c"] and store.get("a").text == "x2"
    assert store.digest() != digest and store.get("nope") is None
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
