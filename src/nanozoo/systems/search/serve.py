"""Serving an index over HTTP: a FastAPI app (run under uvicorn by `nanozoo search serve --index DIR`).

    GET /search?q=&k=&mode=   the top k (1..100) for q in mode bm25 | dense | hybrid, each result with the
                              score of every stage it went through and its title and snippet with the
                              query's terms marked (<mark>, the rest HTML-escaped)
    GET /doc/{id}             one document (404 if there is none)
    GET /health               {"status": "ok", "documents": N}
    GET /                     a search page: a query box and the results, from /search
    GET /openapi.json, /docs  the OpenAPI spec FastAPI writes from the signatures below

Bad input (an empty or blank query, k out of range, an unknown mode) is a 422 whose `detail` says what
was wrong, from FastAPI's validation of the declared parameters. One lock serialises the index (one
SQLite connection, one encoder) across the server's worker threads; a BM25 query takes well under a
millisecond on Cranfield (benchmarks/bench_search.py), so the lock is not what limits throughput. The dense
index (the documents' embeddings: computed once, then read from the index folder's cache) is made ready
at start-up, before the first request, so no request waits minutes for it behind the lock; `dense=False`
serves BM25 only, and a dense or hybrid query is then a 503 that says so.
"""

from __future__ import annotations

import html
import re
import threading
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse

from nanozoo.systems.search.analyze import analyze
from nanozoo.systems.search.index import Index

SNIPPET_WORDS = 40


def highlight(text: str, query_terms: set[str], limit: int | None = None) -> str:
    """`text` HTML-escaped, with each word whose index term is a query term in <mark>; the first `limit`
    words only (from the first marked word's sentence, roughly) when a limit is given."""
    words = re.findall(r"\S+", text)
    marked = [bool(set(analyze(w)) & query_terms) for w in words]
    if limit is not None and len(words) > limit:
        start = max(0, (marked.index(True) if any(marked) else 0) - limit // 4)
        words, marked = words[start : start + limit], marked[start : start + limit]
        words[-1] += " ..."
    return " ".join(
        f"<mark>{html.escape(w)}</mark>" if m else html.escape(w) for w, m in zip(words, marked, strict=True)
    )


def create_app(ix: Index, dense: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if dense:
            ix.dense  # noqa: B018  (embeds the documents, or reads the cached embeddings, once)
        yield

    description = __doc__.split("\n\n")[0]
    app = FastAPI(title="nanozoo search", version="1", description=description, lifespan=lifespan)
    lock = threading.Lock()

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "documents": len(ix.ids)}

    @app.get("/search", responses={503: {"description": "dense retrieval is off in this server"}})
    def search(
        q: str = Query(
            ...,
            min_length=1,
            max_length=1000,
            pattern=r"\S",
            description="the query (not blank)",
        ),
        k: int = Query(10, ge=1, le=100, description="how many results"),
        mode: Literal["bm25", "dense", "hybrid"] = Query("bm25", description="the retrieval mode"),
    ) -> dict:
        if mode != "bm25" and not dense:
            raise HTTPException(503, f"mode={mode} needs dense retrieval; this server was started without it")
        terms = set(analyze(q))
        with lock:
            hits = ix.search(q, k, mode)
        results = [
            {
                "id": h.doc.id,
                "title": h.doc.title,
                "score": h.score,
                "stages": h.stages,
                "title_html": highlight(h.doc.title, terms),
                "snippet_html": highlight(h.doc.text, terms, SNIPPET_WORDS),
            }
            for h in hits
        ]
        return {
            "query": q,
            "mode": mode,
            "k": k,
            "terms": sorted(terms),
            "results": results,
        }

    @app.get("/doc/{doc_id}", responses={404: {"description": "no document with this id"}})
    def doc(doc_id: str) -> dict:
        with lock:
            d = ix.doc(doc_id)
        if d is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return {"id": d.id, "title": d.title, "text": d.text}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return PAGE

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nanozoo search</title>
<style>
 body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
 form { display: flex; gap: .5rem; } input[type=search] { flex: 1; font-size: 1.1rem; padding: .4rem; }
 li { margin: 0 0 1rem 0; } .title { font-weight: 600; } mark { background: #ffe066; }
 .stages { color: #555; font-size: .85rem; } #status { color: #555; margin: 1rem 0; }
</style></head>
<body>
<h1>nanozoo search</h1>
<form id="form">
 <input type="search" id="q" name="q" placeholder="query" required autofocus>
 <select id="mode" name="mode"><option>bm25</option><option>dense</option><option>hybrid</option></select>
 <button type="submit">Search</button>
</form>
<div id="status"></div>
<ol id="results"></ol>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
const form = document.getElementById("form"), list = document.getElementById("results"),
      status = document.getElementById("status");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const params = new URLSearchParams({q: document.getElementById("q").value,
                                      mode: document.getElementById("mode").value, k: "10"});
  status.textContent = "searching ...";
  const response = await fetch("/search?" + params);
  const body = await response.json();
  if (!response.ok) {
    status.textContent = "error: " + (body.detail[0] ? body.detail[0].msg : body.detail);
    list.innerHTML = "";
    return;
  }
  status.textContent = body.results.length + " results (" + body.mode + ")";
  // title_html and snippet_html come escaped from the server, with only <mark> added
  list.innerHTML = body.results.map((r) => `<li class="result"><div class="title">${r.title_html}</div>
    <div class="snippet">${r.snippet_html}</div>
    <div class="stages">doc ${esc(r.id)} &middot; ${Object.entries(r.stages).map(([s, v]) =>
      s + " " + v.toFixed(4)).join(" &middot; ")}</div></li>`).join("");
});
</script>
</body></html>
"""
