"""Interaction data for the recommender: readers (MovieLens, H&M, OTTO), implicit feedback, and the splits.

Every reader returns the same two things: `Interactions` (who touched what, when, how strongly: parallel
arrays over dense indices `0..n_users-1`, `0..n_items-1`) and `Items` (the catalogue: original ids, titles,
tags such as genres). The dense index of an item is its row in `Items`, so an item nobody touched still has
an index (catalogue coverage counts it).

Formats:
- MovieLens ml-latest-small (GroupLens): `ratings.csv` (userId, movieId, rating 0.5-5, timestamp s) and
  `movies.csv` (movieId, title, genres joined by `|`), CRLF line ends, quoted titles with commas.
- H&M Personalized Fashion Recommendations (Kaggle 2022): `transactions_train.csv` (t_dat YYYY-MM-DD,
  customer_id, article_id with its leading zero, price, sales_channel_id), `articles.csv` (article_id,
  prod_name, product_type_name, product_group_name, colour_group_name, index_group_name, ...),
  `customers.csv` (customer_id, ..., age, ...). One purchase is one interaction of weight 1.
- OTTO session-based recommendations (Kaggle 2022): JSONL, one session a line,
  `{"session": 12, "events": [{"aid": 3, "ts": 1659304800000, "type": "clicks"}, ...]}` (ts in ms;
  type clicks | carts | orders). A session is a user; each event an interaction weighted by its type.

Implicit feedback (Hu et al. 2008): `feedback="positive"` keeps MovieLens ratings >= 4 (the usual choice for
top-k evaluation: a low rating is not a wish to see more), `feedback="all"` keeps every rating as a view.

The splits (both per user and by time, both documented at their functions):
- `temporal_split`: each user's last `test_fraction` of interactions, in time order, is the test set.
- `leave_one_out`: each user's very last interaction is the test set.
NOTE: a single global time cut (everything after date T is test) is leak-free across users, but on
ml-latest-small it leaves almost nobody to evaluate: a cut at the 80% quantile of timestamps gives 116 users
with positive test ratings, of whom 28 have any training data (measured on ratings.csv). Users here rate in
short bursts years apart, so we split each user's own timeline; the ranker's later window is the same
split applied again (`temporal_split` of the retriever's training part).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from nanozoo import data
from nanozoo.data import DataError

MOVIELENS = "ml-latest-small"


@dataclass(frozen=True)
class Items:
    """The catalogue: row i is item i. `tags` are genres (MovieLens) or product types (H&M)."""

    ids: np.ndarray  # (N,) original ids (int, or str where a leading zero matters)
    titles: list[str]
    tags: list[list[str]]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays, one entry per interaction, sorted by (user, time, item)."""

    user: np.ndarray  # (E,) int64 dense user index
    item: np.ndarray  # (E,) int64 dense item index
    time: np.ndarray  # (E,) int64 seconds since the epoch
    weight: np.ndarray  # (E,) float32: the rating, or 1 for a purchase / click
    user_ids: np.ndarray  # (U,) original ids: user_ids[u] is dense user u
    n_items: int
    user_features: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (U,) float, e.g. age

    def __post_init__(self):
        order = np.lexsort((self.item, self.time, self.user))
        if not (order == np.arange(len(order))).all():
            for name in ("user", "item", "time", "weight"):
                object.__setattr__(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def subset(self, mask: np.ndarray) -> Interactions:
        """The interactions where `mask` is true; the user and item indices stay the same."""
        return Interactions(
            self.user[mask],
            self.item[mask],
            self.time[mask],
            self.weight[mask],
            self.user_ids,
            self.n_items,
            self.user_features,
        )

    def by_user(self) -> list[np.ndarray]:
        """Each user's items in time order: `by_user()[u]` is an (n_u,) array (empty for a user without)."""
        starts = np.searchsorted(self.user, np.arange(self.n_users + 1))
        return [self.item[starts[u] : starts[u + 1]] for u in range(self.n_users)]

    def matrix(self):
        """The (U, N) user-item matrix as scipy CSR, entries summed weights."""
        from scipy.sparse import csr_matrix

        m = csr_matrix((self.weight, (self.user, self.item)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        return m


def _index(raw: np.ndarray, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dense indices of `raw` values, and the id of each index (sorted ids, or the given `ids` order)."""
    if ids is None:
        ids, dense = np.unique(raw, return_inverse=True)
        return dense.astype(np.int64), ids
    pos = {v: i for i, v in enumerate(ids.tolist())}
    missing = [v for v in np.unique(raw).tolist() if v not in pos]
    if missing:
        raise DataError(f"{len(missing)} interactions name items not in the catalogue, e.g. {missing[0]!r}")
    return np.array([pos[v] for v in raw.tolist()], dtype=np.int64), ids


# ---------------------------------------------------------------------------------------------------
# MovieLens


def read_movielens(folder: str | Path, feedback: str = "positive", min_rating: float = 4.0):
    """(Interactions, Items) from a MovieLens `ratings.csv` + `movies.csv` folder (ml-latest-small layout).
    `feedback`: "positive" keeps ratings >= min_rating, "all" keeps every rating (module docstring)."""
    folder = Path(folder)
    return _movielens(folder / "ratings.csv", folder / "movies.csv", feedback, min_rating)


def load_movielens(data_dir: str | Path | None = None, feedback: str = "positive", min_rating: float = 4.0):
    """ml-latest-small from the data catalogue (the `movielens` set), as `read_movielens` reads it."""
    ratings, movies = (
        data.path("movielens", f"{MOVIELENS}/{f}", data_dir) for f in ("ratings.csv", "movies.csv")
    )
    return _movielens(ratings, movies, feedback, min_rating)


def _movielens(ratings_csv: Path, movies_csv: Path, feedback: str, min_rating: float):
    if feedback not in ("positive", "all"):
        raise ValueError(f"feedback={feedback!r}; allowed: 'positive' (rating >= min_rating), 'all'")
    with open(movies_csv, newline="", encoding="utf-8") as f:
        movies = list(csv.DictReader(f))
    items = Items(
        np.array([int(m["movieId"]) for m in movies]),
        [m["title"] for m in movies],
        [[] if m["genres"] == "(no genres listed)" else m["genres"].split("|") for m in movies],
    )
    with open(ratings_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    r = np.array(rows, dtype=np.float64).reshape(-1, 4)  # userId, movieId, rating, timestamp
    user, user_ids = _index(r[:, 0].astype(np.int64))  # every user who rated, even one with no positive
    item, _ = _index(r[:, 1].astype(np.int64), items.ids)
    keep = r[:, 2] >= min_rating if feedback == "positive" else np.ones(len(r), dtype=bool)
    inter = Interactions(
        user[keep],
        item[keep],
        r[keep, 3].astype(np.int64),
        r[keep, 2].astype(np.float32),
        user_ids,
        len(items),
    )
    return inter, items


# ---------------------------------------------------------------------------------------------------
# H&M and OTTO


def read_hm(folder: str | Path):
    """(Interactions, Items) from an H&M folder: `transactions_train.csv`, `articles.csv`, and
    `customers.csv` (its `age` becomes `user_features["age"]`, NaN where blank)."""
    try:
        return _read_hm(Path(folder))
    except (KeyError, ValueError) as e:  # a column missing, a date or an age that does not parse
        raise DataError(
            f"{folder} does not hold H&M's files as Kaggle ships them ({type(e).__name__}: {e})"
        ) from None


def _read_hm(folder: Path):
    with open(folder / "articles.csv", newline="", encoding="utf-8") as f:
        arts = list(csv.DictReader(f))
    tag_cols = ("product_type_name", "product_group_name", "colour_group_name", "index_group_name")
    items = Items(
        np.array([a["article_id"] for a in arts]),  # str: "0108775015", the leading zero is part of the id
        [a["prod_name"] for a in arts],
        [[a[c] for c in tag_cols if a.get(c)] for a in arts],
    )
    with open(folder / "transactions_train.csv", newline="", encoding="utf-8") as f:
        tx = list(csv.DictReader(f))
    epoch = [datetime.strptime(t["t_dat"], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() for t in tx]
    user, user_ids = _index(np.array([t["customer_id"] for t in tx]))
    item, _ = _index(np.array([t["article_id"] for t in tx]), items.ids)
    age = np.full(len(user_ids), np.nan, dtype=np.float32)
    pos = {c: i for i, c in enumerate(user_ids.tolist())}
    with open(folder / "customers.csv", newline="", encoding="utf-8") as f:
        for c in csv.DictReader(f):
            if c["customer_id"] in pos and c.get("age"):
                age[pos[c["customer_id"]]] = float(c["age"])
    inter = Interactions(
        user, item, np.array(epoch, dtype=np.int64), np.ones(len(tx), np.float32), user_ids, len(items),
        {"age": age},
    )  # fmt: skip
    return inter, items


OTTO_TYPES = ("clicks", "carts", "orders")


def read_otto(path: str | Path, type_weight: dict[str, float] | None = None):
    """(Interactions, Items) from an OTTO sessions JSONL file. Items are the aids seen (sorted, no titles);
    `type_weight` weights an event by its type (default 1 each; a type weighted 0 is dropped)."""
    w = {t: 1.0 for t in OTTO_TYPES} | (type_weight or {})
    unknown = set(w) - set(OTTO_TYPES)
    if unknown:
        raise ValueError(f"type_weight names {sorted(unknown)}; OTTO's event types are {OTTO_TYPES}")
    sessions, aids, ts, weights = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                s = json.loads(line)
                events = [(e["aid"], e["ts"], w[e["type"]]) for e in s["events"]]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise DataError(
                    f"{path}:{lineno}: not an OTTO session line ({type(e).__name__}: {e})"
                ) from None
            for aid, t, wt in events:
                if wt > 0:
                    sessions.append(s["session"])
                    aids.append(aid)
                    ts.append(t // 1000)  # ms -> s
                    weights.append(wt)
    user, user_ids = _index(np.array(sessions, dtype=np.int64))
    item, item_ids = _index(np.array(aids, dtype=np.int64))
    items = Items(item_ids, [str(a) for a in item_ids.tolist()], [[] for _ in item_ids])
    inter = Interactions(user, item, np.array(ts, np.int64), np.array(weights, np.float32), user_ids,
                         len(items))  # fmt: skip
    return inter, items


# ---------------------------------------------------------------------------------------------------
# Splits


def temporal_split(inter: Interactions, test_fraction: float = 0.2) -> tuple[Interactions, Interactions]:
    """(train, test): each user's last `test_fraction` of interactions (in time order; ties by item index)
    is the test set, at least one of them, while at least one stays in training; a user with one
    interaction only trains. Train on each user's past, evaluate their future (the module's NOTE)."""
    test = temporal_mask(inter, test_fraction)
    return inter.subset(~test), inter.subset(test)


def temporal_mask(inter: Interactions, test_fraction: float) -> np.ndarray:
    """(E,) bool: the test entries of `temporal_split`."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction} must be in (0, 1)")
    starts = np.searchsorted(inter.user, np.arange(inter.n_users + 1))
    n = np.diff(starts)  # (U,) interactions per user
    n_test = np.where(n >= 2, np.clip(np.ceil(test_fraction * n), 1, n - 1), 0).astype(np.int64)
    rank = np.arange(len(inter)) - starts[inter.user]  # position in the user's own timeline
    return rank >= (n - n_test)[inter.user]


def leave_one_out(inter: Interactions) -> tuple[Interactions, Interactions]:
    """(train, test): each user's last interaction (in time order; ties by item index) is the test set; a
    user with one interaction only trains (the protocol of NCF, He et al. 2017, without its sampled
    negatives)."""
    test = leave_one_out_mask(inter)
    return inter.subset(~test), inter.subset(test)


def leave_one_out_mask(inter: Interactions) -> np.ndarray:
    """(E,) bool: the test entries of `leave_one_out`."""
    if len(inter.user) == 0:
        return np.zeros(0, dtype=bool)
    last = np.r_[inter.user[1:] != inter.user[:-1], True]  # the last entry of each user's run
    first = np.r_[True, inter.user[1:] != inter.user[:-1]]
    return last & ~first
