"""Two-tower candidate retrieval (Covington et al. 2016; Yi et al. 2019): a user tower and an item tower map
each side to a unit vector, and the score of an item for a user is their dot product, so the whole
catalogue can be ranked by a nearest-neighbour index (FAISS, `index.py`) instead of by the model.

- item tower: its id, the bag of its tags (MovieLens: genres and the decade from the title's year) and the
  bag of its title's words -> MLP -> unit vector.
- user tower: its id, the bag of the last `history` items it interacted with before the moment being
  predicted (so a training label is never in its own history), and log(1 + history length) -> MLP.
- loss: in-batch sampled softmax. Row b's positive is item b; the other items of the batch are its
  negatives. Popular items are negatives more often than the catalogue's distribution says, so each logit
  has log q_j subtracted, q_j the probability that item j is drawn into a batch (Yi et al. 2019, the logQ
  correction). Deviation: q is the exact frequency of the item among training pairs, not their streaming
  estimate; a batch's duplicate of the positive item is masked, not counted as a negative.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.config import ConfigError
from nanozoo.systems.recsys import index as faiss_index
from nanozoo.systems.recsys.data import Interactions, Items
from nanozoo.systems.recsys.embeddings import Tables


@dataclass
class TwoTowerConfig:
    n_users: int = 610  # the four sizes come from the data (setup fills them in): ml-latest-small's
    n_items: int = 9742
    n_tags: int = 31
    n_words: int = 3293
    n_embd: int = 64
    history: int = 50  # items of the user's past in the user tower
    max_tags: int = 8
    max_words: int = 8
    temperature: float = 0.2  # tuned on the validation window (benchmarks/RESULTS.md)
    logq: bool = True  # the logQ correction of the in-batch softmax
    user_id: bool = True  # the user's id embedding in the user tower (else the user is their history)

    def __post_init__(self):
        for name in ("n_embd", "history", "max_tags", "max_words", "temperature"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"model.{name}={getattr(self, name)} must be > 0")


# ---------------------------------------------------------------------------------------------------
# Features: padded id bags


def pad(rows: list[list[int]], width: int, fill: int) -> torch.Tensor:
    """(len(rows), width) long: each row's last `width` ids, padded with `fill` on the left."""
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    for r, ids in enumerate(rows):
        ids = ids[-width:]
        if ids:
            out[r, width - len(ids) :] = torch.as_tensor(ids)
    return out


def item_features(
    items: Items, min_count: int = 2
) -> tuple[list[str], list[str], list[list[int]], list[list[int]]]:
    """(tag vocabulary, word vocabulary, each item's tag ids, each item's word ids). Tags: the item's tags
    and its decade (`1990s` from a title ending in `(1995)`); words: lowercased title words seen in at
    least `min_count` titles (the year is the decade tag, not a word)."""
    years = [re.search(r"\((\d{4})\)\s*$", t) for t in items.titles]
    tags = [[*tg, f"{y.group(1)[:3]}0s"] if y else list(tg) for tg, y in zip(items.tags, years, strict=True)]
    words = [re.findall(r"[a-z0-9']+", re.sub(r"\(\d{4}\)\s*$", "", t).lower()) for t in items.titles]
    tag_vocab = sorted({t for tg in tags for t in tg})
    counts: dict[str, int] = {}
    for ws in words:
        for w in set(ws):
            counts[w] = counts.get(w, 0) + 1
    word_vocab = sorted(w for w, c in counts.items() if c >= min_count)
    t_id, w_id = {t: i for i, t in enumerate(tag_vocab)}, {w: i for i, w in enumerate(word_vocab)}
    return (
        tag_vocab,
        word_vocab,
        [[t_id[t] for t in tg] for tg in tags],
        [[w_id[w] for w in ws if w in w_id] for ws in words],
    )


def histories(inter: Interactions, width: int, n_items: int, rows: np.ndarray | None = None) -> torch.Tensor:
    """(len(rows), width): for each interaction of `rows` (default all), the user's `width` items before it
    in time, padded on the left with id n_items. Built per batch: a table of every row would hold E x width
    ids (8 GB at 10^7 interactions)."""
    rows = np.arange(len(inter)) if rows is None else np.asarray(rows)
    first = np.searchsorted(inter.user, inter.user[rows])  # (R,) where each row's user starts
    pos = rows[:, None] + np.arange(-width, 0)[None, :]  # (R, width) the positions just before each row
    h = np.where(pos >= first[:, None], inter.item[np.maximum(pos, 0)], n_items)
    return torch.from_numpy(h.astype(np.int64))


# ---------------------------------------------------------------------------------------------------
# The model


def _mlp(n_in: int, n_embd: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, 2 * n_embd), nn.ReLU(), nn.Linear(2 * n_embd, n_embd))


def tables_of(cfg: TwoTowerConfig) -> dict[str, int]:
    """The model's embedding tables, one a feature: name -> rows (embeddings.py)."""
    return {"item_id": cfg.n_items, "item_tags": cfg.n_tags, "item_words": cfg.n_words,
            "user_id": cfg.n_users, "history": cfg.n_items}  # fmt: skip


class TwoTower(nn.Module):
    """`tables` (default the plain `embeddings.Tables`) holds every embedding; TorchRec's can stand in."""

    def __init__(self, cfg: TwoTowerConfig, tables: nn.Module | None = None):
        super().__init__()
        if min(cfg.n_users, cfg.n_items) < 1:
            raise ConfigError(f"a two-tower model needs users and items (n_users={cfg.n_users}, n_items="
                              f"{cfg.n_items}): setup fills them in from the data")  # fmt: skip
        self.cfg = cfg
        C = cfg.n_embd
        self.tables = tables if tables is not None else Tables(tables_of(cfg), C)
        self.item_mlp = _mlp(3 * C, C)
        self.user_mlp = _mlp(2 * C + 1, C)
        # the item side's features and the sampling log-probabilities: data, saved with the weights
        self.register_buffer("item_tags", torch.full((cfg.n_items, cfg.max_tags), cfg.n_tags))
        self.register_buffer("item_words", torch.full((cfg.n_items, cfg.max_words), cfg.n_words))
        self.register_buffer("log_q", torch.full((cfg.n_items,), -math.log(cfg.n_items)))

    def item_bags(self, item: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B,) item ids -> the padded id bags of the item tower."""
        return {
            "item_id": item[:, None],
            "item_tags": self.item_tags[item],
            "item_words": self.item_words[item],
        }

    def user_bags(self, user: torch.Tensor, hist: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B,) user ids and (B, L) histories -> the padded id bags of the user tower. A user id >= n_users
        (a user served after training), and every user when `cfg.user_id` is off, gets the padding id: no id
        vector (zeros), only their history."""
        own = (user < self.cfg.n_users) & self.cfg.user_id
        return {"user_id": torch.where(own, user, self.cfg.n_users)[:, None], "history": hist}

    def item_tower(self, e: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat([e["item_id"], e["item_tags"], e["item_words"]], -1)  # (B, 3C)
        return F.normalize(self.item_mlp(x), dim=-1)

    def user_tower(self, e: dict[str, torch.Tensor], hist: torch.Tensor) -> torch.Tensor:
        n = (hist != self.cfg.n_items).sum(1, keepdim=True).float()  # (B, 1) history length
        x = torch.cat([e["user_id"], e["history"], torch.log1p(n)], -1)  # (B, 2C + 1)
        return F.normalize(self.user_mlp(x), dim=-1)

    def item_vectors(self, item: torch.Tensor) -> torch.Tensor:
        """(B,) item ids -> (B, C) unit vectors."""
        return self.item_tower(self.tables(self.item_bags(item)))

    def user_vectors(self, user: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        """(B,) user ids and (B, L) their histories -> (B, C) unit vectors."""
        return self.user_tower(self.tables(self.user_bags(user, hist)), hist)

    def forward(self, user: torch.Tensor, hist: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        """The in-batch sampled softmax loss of B (user, history, positive item) rows. One lookup of every
        table: a sharded collection exchanges the ids of all its features in one all-to-all."""
        e = self.tables(self.user_bags(user, hist) | self.item_bags(item))
        u, v = self.user_tower(e, hist), self.item_tower(e)  # (B, C) each
        ### BEGIN SOLUTION
        logits = u @ v.T / self.cfg.temperature  # (B, B): row b scores every item of the batch
        if self.cfg.logq:
            logits = logits - self.log_q[item][None, :]  # s(u, j) - log q_j
        dup = (item[None, :] == item[:, None]) & ~torch.eye(len(item), dtype=torch.bool, device=item.device)
        logits = logits.masked_fill(dup, float("-inf"))  # row b's positive again is no negative
        return F.cross_entropy(logits, torch.arange(len(item), device=item.device))
        ### END SOLUTION

    @torch.no_grad()
    def all_item_vectors(self, batch: int = 4096) -> torch.Tensor:
        """(N, C): every item of the catalogue, for the index."""
        ids = torch.arange(self.cfg.n_items, device=self.log_q.device)
        return torch.cat([self.item_vectors(ids[i : i + batch]) for i in range(0, len(ids), batch)])


def sized(cfg: TwoTowerConfig, items: Items, inter: Interactions) -> TwoTowerConfig:
    """`cfg` with the four sizes that come from the data filled in (in place; returned)."""
    tags, words, _, _ = item_features(items)
    cfg.n_users, cfg.n_items, cfg.n_tags, cfg.n_words = inter.n_users, len(items), len(tags), len(words)
    return cfg


def fill_features(model: TwoTower, items: Items, train: Interactions) -> None:
    """Set the item features and log q (from the training pairs) of a fresh model in place."""
    cfg = model.cfg
    _, _, tags, words = item_features(items)
    model.item_tags.copy_(pad(tags, cfg.max_tags, cfg.n_tags))
    model.item_words.copy_(pad(words, cfg.max_words, cfg.n_words))
    counts = np.bincount(train.item, minlength=cfg.n_items) + 1.0  # +1: an unseen item is still drawable
    model.log_q.copy_(torch.as_tensor(np.log(counts / counts.sum()), dtype=torch.float32))


def user_vectors_of(model: TwoTower, seen: Interactions, users: np.ndarray) -> np.ndarray:
    """(len(users), C) user vectors, each user's history their last items in `seen`."""
    per = seen.by_user()
    hist = pad([per[u].tolist() for u in users], model.cfg.history, model.cfg.n_items)
    with torch.no_grad():
        return model.user_vectors(torch.as_tensor(users), hist).numpy()


def retrieve(model: TwoTower, seen: Interactions, users: np.ndarray, k: int, index=None) -> np.ndarray:
    """(len(users), k) candidates by an (exact, unless given) FAISS index, leaving out each user's `seen`
    items; each user's history is their `seen` items."""
    per = seen.by_user()
    with torch.no_grad():
        index = index if index is not None else faiss_index.build(model.all_item_vectors().numpy())
    return faiss_index.search(index, user_vectors_of(model, seen, users), k, [per[u] for u in users])
