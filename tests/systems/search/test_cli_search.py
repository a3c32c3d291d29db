"""`nanozoo search index | query | eval` end to end on small files and on Cranfield."""

import json


def test_index_query_eval_on_a_small_corpus(cli, tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "title": t, "text": x}) + "\n"
            for i, (t, x) in enumerate(
                [
                    ("Wings", "lift of a swept wing"),
                    ("Bodies", "drag of a blunt body"),
                    ("Flow", "laminar flow over a wing"),
                ]
            )
        )
    )
    code, out, _ = cli(["search", "index", str(corpus), "-o", str(tmp_path / "ix")])
    assert code == 0 and "3 documents (3 added, 0 updated, 0 unchanged)" in out
    code, out, _ = cli(["search", "index", str(corpus), "-o", str(tmp_path / "ix")])
    assert code == 0 and "(0 added, 0 updated, 3 unchanged)" in out
    code, out, _ = cli(["search", "query", str(tmp_path / "ix"), "swept wings", "-k", "2"])
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and "d0" in lines[0] and "d2" in lines[1]
    (tmp_path / "q.tsv").write_text("q1\twing lift\n")
    (tmp_path / "qrels").write_text("q1 0 d0 2\nq1 0 d2 1\n")
    code, out, _ = cli(
        [
            "search",
            "eval",
            str(tmp_path / "ix"),
            "--queries",
            str(tmp_path / "q.tsv"),
            "--qrels",
            str(tmp_path / "qrels"),
            "--run",
            str(tmp_path / "run.trec"),
        ]
    )
    assert code == 0 and "nDCG@10 1.0000" in out and "(1 queries)" in out
    assert (tmp_path / "run.trec").read_text().startswith("q1 Q0 d0 1 ")


def test_user_errors_are_one_line(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "a"}\nnot json\n')
    for args, message in [
        (["search", "index", str(bad), "-o", str(tmp_path / "ix")], "bad.jsonl:2: not JSON"),
        (["search", "query", str(tmp_path / "none"), "x"], "not an index folder"),
        (["search", "index", str(bad), "-o", str(tmp_path / "ix"), "--variant", "x"], "variant='x'"),
    ]:
        code, _, err = cli(args)
        assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "ix").exists()  # a refused corpus writes nothing
    code, out, _ = cli(["search", "index", str(bad), "-o", str(tmp_path / "ix"), "--on-error", "skip"])
    assert code == 0 and "skipped 1 malformed records (first: " in out and "bad.jsonl:2" in out


def test_eval_on_cranfield(cli, cranfield, cran_index):
    code, out, _ = cli(
        [
            "search",
            "eval",
            str(cran_index),
            "--queries",
            str(cranfield["queries"]),
            "--qrels",
            str(cranfield["qrels"]),
        ]
    )
    assert code == 0 and "(225 queries)" in out
    figures = dict(zip(out.split()[0:10:2], map(float, out.split()[1:10:2]), strict=True))
    assert figures["nDCG@10"] > 0.37 and figures["Recall@100"] > 0.7
