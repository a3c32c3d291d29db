"""The recommender's HTTP API: recommendations against the model's own vectors, cold start, 404s, events
that change a history at once and survive a restart and a `kill -9` of the server process (uvicorn in a
child process), and a fuzz from its own OpenAPI spec (schemathesis)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nanozoo.systems import serving
from nanozoo.systems.recsys import synthetic
from nanozoo.systems.recsys.data import Interactions
from nanozoo.systems.recsys.serve import Service, create_app
from nanozoo.systems.recsys.store import EventStore
from nanozoo.systems.recsys.two_tower import TwoTower, TwoTowerConfig, fill_features, pad, sized

COLD = 60  # the data's last user: known (they rated), but no interaction in the history


def make_service(events: str | Path) -> Service:
    """A small random two-tower over synthetic data (60 users with histories, one without, 40 items)."""
    inter, items = synthetic.interactions(COLD, n_items=40, n_clusters=4, seed=0)
    inter = Interactions(inter.user, inter.item, inter.time, inter.weight, np.arange(COLD + 1), inter.n_items)
    torch.manual_seed(0)
    model = TwoTower(sized(TwoTowerConfig(n_embd=8, history=5), items, inter))
    fill_features(model, items, inter)
    return Service(model, items, inter, EventStore(events))


@pytest.fixture
def client(tmp_path, need):
    need("httpx")
    from fastapi.testclient import TestClient

    service = make_service(tmp_path / "events.sqlite")
    with TestClient(create_app(service)) as c:
        c.service = service
        yield c


def test_recommend_ranks_unseen_items_by_the_towers(client):
    s = client.service
    body = client.get("/recommend/3", params={"k": 5}).json()
    hist = s.history[3]
    assert body["source"] == "two-tower" and body["history_length"] == len(hist) and len(body["items"]) == 5
    cfg = s.model.cfg
    with torch.no_grad():
        q = s.model.user_vectors(torch.tensor([3]), pad([hist], cfg.history, cfg.n_items))[0].numpy()
    scores = s.vectors @ q
    scores[hist] = -np.inf  # seen items are never recommended
    expected = np.argsort(-scores, kind="stable")[:5]
    assert [r["item_id"] for r in body["items"]] == expected.tolist()  # item i has id i here
    np.testing.assert_allclose([r["score"] for r in body["items"]], scores[expected], rtol=1e-5)
    assert body["items"][0]["title"] == f"item {expected[0]}"


def test_cold_start_gets_popularity_and_unknown_ids_are_404(client):
    body = client.get("/recommend/60", params={"k": 3}).json()
    counts = np.bincount(np.concatenate(client.service.history[:COLD]), minlength=40)  # users per item
    assert body["source"] == "popularity" and body["cold_start"] and body["history_length"] == 0
    assert [r["score"] for r in body["items"]] == sorted(counts, reverse=True)[:3]
    r = client.get("/recommend/nobody")
    assert r.status_code == 404 and "unknown user 'nobody'" in r.json()["detail"]
    r = client.get("/similar/999")
    assert r.status_code == 404 and r.json()["detail"] == "unknown item '999': not in the catalogue"
    r = client.post("/events", json={"user_id": 1, "item_id": "x"})
    assert r.status_code == 404 and "unknown item 'x'" in r.json()["detail"]
    assert client.get("/recommend/1", params={"k": 0}).status_code == 422


def test_similar_items_are_the_nearest_vectors(client):
    v = client.service.vectors
    body = client.get("/similar/7", params={"k": 4}).json()
    sims = v @ v[7]
    sims[7] = -np.inf  # not itself
    assert [r["item_id"] for r in body["items"]] == np.argsort(-sims, kind="stable")[:4].tolist()


def test_an_event_changes_the_history_at_once_and_survives_a_restart(client, tmp_path):
    top = client.get("/recommend/3", params={"k": 1}).json()["items"][0]["item_id"]
    before = client.get("/users/3").json()["history_length"]
    r = client.post("/events", json={"user_id": 3, "item_id": top, "timestamp": 1_700_000_000})
    assert r.json() == {"stored": 1, "history_length": {"3": before + 1}}
    after = client.get("/recommend/3", params={"k": 40}).json()["items"]
    assert top not in [x["item_id"] for x in after]  # now seen: left out
    assert client.get("/users/3").json()["latest"][0]["item_id"] == top
    # a new user and a cold one, in one batch; the cold one is cold no more
    batch = [{"user_id": "new-user", "item_id": 5}, {"user_id": 60, "item_id": 6, "weight": 4.5}]
    assert client.post("/events", json=batch).json()["stored"] == 2
    assert client.get("/recommend/new-user").json()["source"] == "two-tower"
    assert client.get("/recommend/60").json()["source"] == "two-tower"
    # a batch with one unknown item stores nothing
    r = client.post("/events", json=[{"user_id": 3, "item_id": 1}, {"user_id": 3, "item_id": "nope"}])
    assert r.status_code == 404 and "unknown item 'nope'" in r.json()["detail"]
    assert len(client.service.store) == 3
    again = make_service(tmp_path / "events.sqlite")  # a restart replays the log
    assert again.history == client.service.history and again.user_ids == client.service.user_ids


def test_fuzzed_from_its_own_openapi_spec(tmp_path, need, openapi_fuzz):
    need("uvicorn")
    with serving.in_thread(create_app(make_service(tmp_path / "events.sqlite"))) as url:
        seen = openapi_fuzz(url, max_examples=30)
    assert len(seen) >= 100 and {200, 404} <= set(seen)  # /health has no input to vary


CHILD = """
import sys, uvicorn
sys.path.insert(0, sys.argv[1])
from test_recsys_serve import make_service
from nanozoo.systems.recsys.serve import create_app
app = create_app(make_service(sys.argv[2]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def test_events_survive_kill_9_of_the_server(tmp_path, need):
    """uvicorn in a child process: post events, SIGKILL it (no shutdown, no flush), start it again."""
    httpx = need("httpx")
    (tmp_path / "child.py").write_text(CHILD)
    port = serving.free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable,
        str(tmp_path / "child.py"),
        str(Path(__file__).parent),
        str(tmp_path / "ev.sqlite"),
        str(port),
    ]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    with serving.process(argv, url, env=env, stderr=subprocess.PIPE) as proc:
        posted = [{"user_id": u, "item_id": i} for u, i in [(1, 2), (1, 3), ("someone", 4)]]
        for e in posted:
            assert httpx.post(url + "/events", json=e).status_code == 200
        lengths = {u: httpx.get(f"{url}/users/{u}").json()["history_length"] for u in (1, "someone")}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
    with serving.process(argv, url, env=env, stderr=subprocess.PIPE):
        assert httpx.get(url + "/health").json()["events"] == 3
        for u, n in lengths.items():
            info = httpx.get(f"{url}/users/{u}").json()
            assert info["history_length"] == n
        assert [x["item_id"] for x in httpx.get(f"{url}/users/1").json()["latest"][:2]] == [3, 2]
