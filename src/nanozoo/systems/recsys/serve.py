"""Serving the recommender over HTTP: a FastAPI app (run under uvicorn by `nanozoo recsys serve RUN`).

    GET  /recommend/{user_id}?k=   the user's top k (1..500) items they have not interacted with, from
                                   the two-tower over the FAISS index, or popularity for a user without
                                   history (cold start); 404 for a user id the server has never seen
    GET  /similar/{item_id}?k=     the k items nearest to it by the item tower's vectors; 404 if unknown
    POST /events                   one event or a list (up to 1000): {"user_id", "item_id", "timestamp"?,
                                   "weight"?}; stored in SQLite (WAL) in one transaction, then the users'
                                   histories change at once; an unknown item is a 404 and nothing is stored
    GET  /users/{user_id}          the user's history length and latest items
    GET  /health                   {"status": "ok", "users", "items", "events"}
    GET  /openapi.json, /docs      the OpenAPI spec FastAPI writes from the signatures below

Ids are the data set's own (MovieLens' userId and movieId), as strings or integers. A user is known if
the data set has them (with any rating, even one below the positive threshold: that user has an empty
history and gets popularity) or an event has named them; the first event of a new user creates them. A
user the model never trained on has no id vector (TwoTower.user_vectors): the tower uses their history.

The log of events is replayed at start-up on top of the data (store.py): a restart, even after a
`kill -9`, serves the same histories. One lock serialises the state across the server's worker threads;
a recommendation is one user-tower forward and one FAISS search (well under a millisecond of work at
MovieLens' size, benchmarks/bench_recsys_serve.py).
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import numpy as np
import torch
from fastapi import FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, Field

from nanozoo.systems.recsys import index as faiss_index
from nanozoo.systems.recsys.baselines import item_users
from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.recsys.store import Event, EventStore
from nanozoo.systems.recsys.two_tower import TwoTower, pad

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)] | Annotated[int, Field(ge=0, le=2**62)]
MAX_BATCH = 1000


class EventIn(BaseModel):
    user_id: Id
    item_id: Id
    timestamp: int | None = Field(None, ge=0, le=2**40, description="seconds since the epoch; default now")
    weight: float = Field(1.0, ge=0, le=1e6, description="e.g. a rating; stored for retraining")


class Service:
    """The state behind the API, built once at start-up:
    1. the item side: every item's vector from the item tower, in an exact FAISS index;
    2. the user side: each user's history, the data's interactions in time order then the logged events
       in arrival order, and the set of items to leave out of their recommendations;
    3. popularity (distinct users per item in the data), the cold-start list."""

    def __init__(self, model: TwoTower, items: Items, data: Interactions, store: EventStore):
        self.model, self.items, self.store = model.eval(), items, store
        self.item_of = {str(x): i for i, x in enumerate(items.ids.tolist())}
        self.user_ids = [str(u) for u in data.user_ids.tolist()]
        self.user_of = {u: i for i, u in enumerate(self.user_ids)}
        self.history = [h.tolist() for h in data.by_user()]
        self.popular = np.argsort(-item_users(data), kind="stable")
        self.pop_count = item_users(data)
        with torch.no_grad():
            self.vectors = model.all_item_vectors().numpy()  # (N, C) unit vectors
        self.index = faiss_index.build(self.vectors)
        self.lock = threading.Lock()
        self.n_events = 0
        self._apply(list(store))

    # -- the state

    def _apply(self, events: list[Event]) -> None:
        for e in events:
            u = self.user_of.get(e.user_id)
            if u is None:  # a new user: the next index
                u = self.user_of[e.user_id] = len(self.user_ids)
                self.user_ids.append(e.user_id)
                self.history.append([])
            self.history[u].append(self.item_of[e.item_id])
        self.n_events += len(events)

    def user(self, user_id: str) -> int:
        u = self.user_of.get(user_id)
        if u is None:
            raise HTTPException(
                404,
                f"unknown user {user_id!r}: not in the data and named by no event "
                "(POST /events with the user's first interaction creates them)",
            )
        return u

    def item(self, item_id: str) -> int:
        i = self.item_of.get(item_id)
        if i is None:
            raise HTTPException(404, f"unknown item {item_id!r}: not in the catalogue")
        return i

    def _row(self, i: int, score: float) -> dict:
        return {"item_id": self.items.ids[i].item(), "title": self.items.titles[i], "score": float(score)}

    # -- the endpoints' work

    def recommend(self, user_id: str, k: int) -> dict:
        with self.lock:
            u = self.user(user_id)
            hist = list(self.history[u])
        if not hist:  # cold start: the most popular items
            top = self.popular[:k]
            rows = [self._row(i, self.pop_count[i]) for i in top]
            return {"user_id": user_id, "source": "popularity", "cold_start": True, "history_length": 0,
                    "items": rows}  # fmt: skip
        cfg = self.model.cfg
        with self.lock, torch.no_grad():
            q = self.model.user_vectors(torch.tensor([u]), pad([hist], cfg.history, cfg.n_items)).numpy()
            top = faiss_index.search(self.index, q, k, [np.asarray(hist)])[0]
            top = top[top >= 0]
        scores = self.vectors[top] @ q[0]
        rows = [self._row(i, s) for i, s in zip(top, scores, strict=True)]
        return {"user_id": user_id, "source": "two-tower", "cold_start": False, "history_length": len(hist),
                "items": rows}  # fmt: skip

    def similar(self, item_id: str, k: int) -> dict:
        i = self.item(item_id)
        v = self.vectors
        with self.lock:
            top = faiss_index.search(self.index, v[i : i + 1], k, [np.array([i])])[0]
        top = top[top >= 0]
        return {"item_id": self.items.ids[i].item(), "title": self.items.titles[i],
                "items": [self._row(j, v[j] @ v[i]) for j in top]}  # fmt: skip

    def add(self, events: list[EventIn]) -> dict:
        now = int(time.time())
        batch = [Event(str(e.user_id), str(e.item_id), e.timestamp or now, e.weight) for e in events]
        for e in batch:
            self.item(e.item_id)  # every item known before anything is written
        with self.lock:
            self.store.add(batch)  # committed (on disk) before the histories change
            self._apply(batch)
            lengths = {e.user_id: len(self.history[self.user_of[e.user_id]]) for e in batch}
        return {"stored": len(batch), "history_length": lengths}

    def user_info(self, user_id: str, latest: int = 10) -> dict:
        with self.lock:
            hist = list(self.history[self.user(user_id)])
        rows = [self._row(i, 0.0) | {"score": None} for i in reversed(hist[-latest:])]
        return {"user_id": user_id, "history_length": len(hist), "latest": rows}


def create_app(service: Service) -> FastAPI:
    description = __doc__.split("\n\n")[0]
    app = FastAPI(title="nanozoo recsys", version="1", description=description)
    user_path = Path(..., max_length=64, description="the user's id in the data set, or one an event created")
    item_path = Path(..., max_length=64, description="the item's id in the catalogue")
    k_query = Query(10, ge=1, le=500, description="how many items")
    not_found = {404: {"description": "an unknown user or item id; `detail` says which"}}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "users": len(service.user_ids), "items": len(service.items),
                "events": service.n_events}  # fmt: skip

    @app.get("/recommend/{user_id}", responses=not_found)
    def recommend(user_id: str = user_path, k: int = k_query) -> dict:
        return service.recommend(user_id, k)

    @app.get("/similar/{item_id}", responses=not_found)
    def similar(item_id: str = item_path, k: int = k_query) -> dict:
        return service.similar(item_id, k)

    @app.post("/events", responses=not_found)
    def events(body: EventIn | Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]) -> dict:
        return service.add(body if isinstance(body, list) else [body])

    @app.get("/users/{user_id}", responses=not_found)
    def user(user_id: str = user_path) -> dict:
        return service.user_info(user_id)

    return app
