"""The HTTP API against a live uvicorn server on 127.0.0.1 (httpx), fuzzed from its own OpenAPI spec
(schemathesis), and the search page in a real headless browser (Debian's chromium driven by Playwright)."""

import os
import shutil

import pytest

from nanozoo.systems.search.index import Index, build

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory, need, hash_encoder):
    """The app over a small index (a stand-in encoder for dense/hybrid), served by uvicorn in a thread."""
    need("uvicorn")
    from nanozoo.systems.search.serve import create_app
    from nanozoo.systems.serving import in_thread

    d = tmp_path_factory.mktemp("serve")
    (d / "c.csv").write_text(
        "id,title,text\n1,Swept wings,the lift of a swept wing at high speed\n"
        "2,Blunt bodies,drag of a blunt body <b>in</b> supersonic flow\n"
        "3,Boundary layers,transition of the laminar boundary layer on a flat plate\n"
    )
    build(d / "c.csv", d / "ix")
    with in_thread(create_app(Index(d / "ix", encoder=hash_encoder()))) as url:
        yield url


def test_search_doc_health_and_openapi(server, need):
    httpx = need("httpx")
    assert httpx.get(f"{server}/health").json() == {"status": "ok", "documents": 3}
    body = httpx.get(f"{server}/search", params={"q": "swept wings", "k": 2}).json()
    top = body["results"][0]
    assert body["terms"] == ["swept", "wing"] and len(body["results"]) == 1  # only doc 1 holds the terms
    assert top["id"] == "1" and top["title_html"] == "<mark>Swept</mark> <mark>wings</mark>"
    assert "bm25" in top["stages"] and top["score"] == top["stages"]["bm25"]
    hybrid = httpx.get(f"{server}/search", params={"q": "blunt body", "mode": "hybrid"}).json()["results"][0]
    assert hybrid["id"] == "2" and set(hybrid["stages"]) == {"bm25", "dense", "hybrid"}
    assert "&lt;b&gt;in&lt;/b&gt;" in hybrid["snippet_html"]  # the document's own markup is escaped
    assert httpx.get(f"{server}/doc/3").json()["title"] == "Boundary layers"
    r = httpx.get(f"{server}/doc/nope")
    assert r.status_code == 404 and "no document with id 'nope'" in r.json()["detail"]
    spec = httpx.get(f"{server}/openapi.json").json()
    assert {"/search", "/doc/{doc_id}", "/health"} <= set(spec["paths"])


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"q": ""}, "q", "at least 1 character"),
        ({"q": "   "}, "q", "match pattern"),
        ({}, "q", "Field required"),
        ({"q": "wing", "k": 0}, "k", "greater than or equal to 1"),
        ({"q": "wing", "k": 101}, "k", "less than or equal to 100"),
        ({"q": "wing", "k": "ten"}, "k", "valid integer"),
        ({"q": "wing", "mode": "fuzzy"}, "mode", "'bm25', 'dense' or 'hybrid'"),
    ],
)
def test_bad_input_is_a_422_that_says_what_is_wrong(server, need, params, field, message):
    r = need("httpx").get(f"{server}/search", params=params)
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["query", field] and message in err["msg"]


def test_fuzzed_from_its_own_openapi_spec(server, openapi_fuzz):
    """schemathesis draws requests from the spec (bounded): no 5xx, and every 4xx carries a message."""
    seen = openapi_fuzz(server, max_examples=25)
    assert len(seen) >= 25 and all(code < 500 for code in seen)


def test_the_page_in_a_real_browser(server, need, tmp_path):
    if not os.path.exists(CHROMIUM) and shutil.which("chromium") is None:
        pytest.skip(f"no chromium at {CHROMIUM}: `make browser` installs Debian's (apt-get, as root)")
    sync_api = need("playwright.sync_api")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM, args=flags)
        try:
            page = browser.new_page()
            page.goto(server + "/")
            page.fill("#q", "laminar boundary layer")
            page.click("button[type=submit]")
            page.wait_for_selector("li.result")
            results = page.locator("li.result")
            assert results.count() == 1 and "Boundary layers" in results.first.inner_text()
            assert page.locator("li.result mark").count() >= 3  # the query's terms, highlighted
            assert "bm25" in page.locator(".stages").first.inner_text()
            page.screenshot(path=str(tmp_path / "search-page.png"))
        finally:
            browser.close()
    assert (tmp_path / "search-page.png").stat().st_size > 1000


def test_dense_is_ready_before_the_first_request_and_can_be_off(tmp_path, need, hash_encoder):
    need("httpx")
    from fastapi.testclient import TestClient

    from nanozoo.systems.search.serve import create_app

    (tmp_path / "c.csv").write_text("id,title,text\n1,Swept wings,lift of a swept wing\n2,Drag,blunt body\n")
    build(tmp_path / "c.csv", tmp_path / "ix")
    ix = Index(tmp_path / "ix", encoder=hash_encoder())
    with TestClient(create_app(ix)) as client:  # start-up has run: the embeddings exist before any query
        assert ix._dense is not None
        assert client.get("/search", params={"q": "wing", "mode": "dense"}).status_code == 200
    off = Index(tmp_path / "ix", encoder=hash_encoder())
    with TestClient(create_app(off, dense=False)) as client:
        assert off._dense is None and client.get("/search", params={"q": "wing"}).status_code == 200
        r = client.get("/search", params={"q": "wing", "mode": "hybrid"})
        assert r.status_code == 503 and "started without it" in r.json()["detail"]
