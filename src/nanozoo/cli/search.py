"""`nanozoo search index CORPUS -o DIR | query DIR TEXT | eval DIR --queries Q --qrels R`, and
`nanozoo search serve --index DIR` (the HTTP API and search page)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from nanozoo.cli import app

search_app = typer.Typer(no_args_is_help=True, help="The search system: index, query and evaluate a corpus.")
app.add_typer(search_app, name="search")


@search_app.command()
def index(
    corpus: Path = typer.Argument(
        ..., help="a .jsonl, .csv, Cranfield file (cran.all.1400) or a BEIR folder"
    ),
    out: Path = typer.Option(..., "-o", "--out", help="the index folder (made or updated)"),
    fmt: str = typer.Option("auto", "--format", help="auto | jsonl | csv | cranfield | beir"),
    on_error: str = typer.Option("refuse", "--on-error", help="a malformed record: refuse (stop) | skip"),
    variant: str = typer.Option("okapi", "--variant", help="BM25 term weight: okapi | bm25l | bm25+"),
    k1: float = typer.Option(1.5, "--k1"),
    b: float = typer.Option(0.75, "--b"),
    dense: bool = typer.Option(
        False, "--dense", help="also embed the documents now (MiniLM; else on first use)"
    ),
) -> None:
    """Ingest CORPUS into the index folder (idempotent) and build its BM25 index."""
    from nanozoo.systems.search.bm25 import BM25Config
    from nanozoo.systems.search.corpus import CorpusError
    from nanozoo.systems.search.index import build

    try:
        cfg = BM25Config(variant, k1, b)
    except ValueError as e:
        raise CorpusError(str(e)) from None
    r = build(corpus, out, fmt, on_error, cfg)
    if dense:
        from nanozoo.systems.search.index import Index

        _ = Index(out).dense  # embeds the documents into out/dense.safetensors, or finds them there
    print(
        f"{out}: {r.n_docs} documents ({r.ingest.added} added, {r.ingest.updated} updated, "
        f"{r.ingest.unchanged} unchanged), {r.n_terms} terms"
        + (f"; skipped {len(r.skipped)} malformed records (first: {r.skipped[0]})" if r.skipped else "")
    )


@search_app.command()
def query(
    index_dir: Path = typer.Argument(..., metavar="DIR", help="an index folder"),
    text: str = typer.Argument(..., help="the query"),
    k: int = typer.Option(10, "-k", min=1, help="how many results"),
    mode: str = typer.Option("bm25", "--mode", help="bm25 | dense | hybrid"),
) -> None:
    """The top K documents of DIR for the query TEXT: rank, score, id, title."""
    from nanozoo.systems.search.index import Index

    ix = Index(index_dir)
    for rank, hit in enumerate(ix.search(text, k, mode), 1):
        print(f"{rank:3d}  {hit.score:8.4f}  {hit.doc.id:>8s}  {hit.doc.title[:80]}")


@search_app.command("eval")
def eval_(
    index_dir: Path = typer.Argument(..., metavar="DIR", help="an index folder"),
    queries: Path = typer.Option(
        ..., "--queries", help="cran.qry, a BEIR queries.jsonl or a TSV id<TAB>text"
    ),
    qrels: Path = typer.Option(..., "--qrels", help="cranqrel, a TREC qrels file or a BEIR qrels TSV"),
    run_out: Path = typer.Option(None, "--run", help="also write the run here (TREC run format)"),
    per_query: bool = typer.Option(False, "--per-query", help="print every query's metrics as JSON lines"),
    mode: str = typer.Option("bm25", "--mode", help="bm25 | dense | hybrid"),
) -> None:
    """nDCG@10, MAP, MRR@10, Recall@100 and P@10 of a retrieval mode over the queries with judgements."""
    from nanozoo.systems.search import metrics
    from nanozoo.systems.search.corpus import read_qrels, read_queries
    from nanozoo.systems.search.index import Index

    ix, qs, judged = Index(index_dir), read_queries(queries), read_qrels(qrels)
    run = ix.run({q: t for q, t in qs.items() if q in judged}, mode)
    if run_out:
        metrics.write_run(run_out, run, tag=f"nanozoo-{mode}")
    per = metrics.evaluate(run, judged)
    if per_query:
        for q, m in per.items():
            print(json.dumps({"query": q, **m}))
    print("  ".join(f"{m} {v:.4f}" for m, v in metrics.mean(per).items()) + f"  ({len(per)} queries)")


@search_app.command()
def serve(
    index_dir: Path = typer.Option(..., "--index", metavar="DIR", help="an index folder"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    dense: bool = typer.Option(
        True, "--dense/--no-dense", help="embed (or load the cached embeddings) at start-up for dense/hybrid"
    ),
) -> None:
    """Serve DIR over HTTP: GET /search?q=&k=&mode=, /doc/{id}, /health; the page at /; OpenAPI at /docs."""
    import uvicorn

    from nanozoo.core.errors import UserError
    from nanozoo.systems.search.index import Index
    from nanozoo.systems.search.serve import create_app

    ix = Index(index_dir)
    if dense:
        print("preparing dense retrieval (the first time embeds every document; --no-dense skips it)")
        try:
            ix.dense  # noqa: B018  (the app's start-up finds it ready)
        except (UserError, ImportError) as e:
            raise UserError(f"dense retrieval cannot start ({e}); --no-dense serves BM25 only") from None
    app = create_app(ix, dense=dense)
    print(f"serving {index_dir} at http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
