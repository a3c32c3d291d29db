"""The recommender on MovieLens ml-latest-small (issue 15). Its table: experiments/tables/recsys.py.

- `movielens-two-tower`: the two-tower retriever (systems/recsys/two_tower.py), trained by the trainer on
  each user's earlier interactions; every evaluation logs its recall@100 on the validation window.
- `service(run_dir)`: what `nanozoo recsys serve` serves (systems/recsys/serve.py).
- `report(run_dir)` (`nanozoo recsys train` runs it after training): every baseline fitted on the same
  training data, the two-tower's candidates from a FAISS index, LambdaMART re-ranking them
  (systems/recsys/ranker.py), one table of every metric on the test split and one picture of Recall@k for
  k = 1..1000; `implicit`'s ALS and BPR sit in the same table.

The split (`MovieLensData`): positive ratings (>= 4) by default; each user's last 20% in time is the test
set (`temporal`; or `leave-one-out`); of the rest, each user's last 25% is the validation window, which the
retriever does not train on (the ranker's window: a later time than the retriever's). Baselines and the
retriever's user histories at test time see all of it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nanozoo.core import plots
from nanozoo.core.atomic import atomic_write
from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.runlog import MetricsLog
from nanozoo.core.task import Task
from nanozoo.systems.recsys import baselines as B
from nanozoo.systems.recsys import data as D
from nanozoo.systems.recsys import metrics as M
from nanozoo.systems.recsys.two_tower import (
    TwoTower,
    TwoTowerConfig,
    fill_features,
    histories,
    retrieve,
    sized,
)

log = logging.getLogger(__name__)


@dataclass
class MovieLensData:
    feedback: str = "positive"  # "positive": ratings >= min_rating; "all": every rating
    min_rating: float = 4.0
    split: str = "temporal"  # or "leave-one-out"
    test_fraction: float = 0.2  # temporal: each user's last fraction is the test set
    val_fraction: float = 0.25  # of the rest, each user's last fraction: the validation / ranker window

    def __post_init__(self):
        if self.feedback not in ("positive", "all"):
            raise ConfigError(f"data.feedback={self.feedback!r}; allowed: 'positive', 'all'")
        if self.split not in ("temporal", "leave-one-out"):
            raise ConfigError(f"data.split={self.split!r}; allowed: 'temporal', 'leave-one-out'")
        for name in ("test_fraction", "val_fraction"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"data.{name}={getattr(self, name)} must be in (0, 1)")


@dataclass
class TwoTowerExperiment:
    model: TwoTowerConfig = field(default_factory=TwoTowerConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            max_iters=400, batch_size=512, lr=3e-3, min_lr=3e-4, warmup_iters=20, weight_decay=0.0,
            eval_interval=100, eval_iters=5, log_interval=20, threads=1,
        )
    )  # fmt: skip
    data: MovieLensData = field(default_factory=MovieLensData)


def two_tower() -> TwoTowerExperiment:
    return TwoTowerExperiment()


# ---------------------------------------------------------------------------------------------------
# The data: one split for every stage


@dataclass
class Split:
    items: D.Items
    train: D.Interactions  # everything before the test split (baselines fit on it)
    val_mask: np.ndarray  # (len(train),) the validation window of each user inside `train`
    test: D.Interactions

    @property
    def retriever_train(self) -> D.Interactions:
        return self.train.subset(~self.val_mask)

    @property
    def val(self) -> D.Interactions:
        return self.train.subset(self.val_mask)


def movielens_split(d: MovieLensData, data_dir: Path | None) -> Split:
    inter, items = D.load_movielens(data_dir, d.feedback, d.min_rating)
    if d.split == "temporal":
        train, test = D.temporal_split(inter, d.test_fraction)
        val = D.temporal_mask(train, d.val_fraction)
    else:
        train, test = D.leave_one_out(inter)
        val = D.leave_one_out_mask(train)
    return Split(items, train, val, test)


def truth_of(inter: D.Interactions) -> tuple[np.ndarray, list[np.ndarray]]:
    """The users with any interaction in `inter`, and each one's items."""
    users = np.unique(inter.user)
    per = inter.by_user()
    return users, [per[u] for u in users]


# ---------------------------------------------------------------------------------------------------
# The two-tower experiment


def build(cfg: TwoTowerExperiment) -> TwoTower:
    return TwoTower(cfg.model)


def setup(cfg: TwoTowerExperiment, data_dir: Path | None) -> Task:
    s = movielens_split(cfg.data, data_dir)
    m = sized(cfg.model, s.items, s.train)
    model = build(cfg)
    fill_features(model, s.items, s.retriever_train)
    hist = histories(s.train, m.history, m.n_items)  # (E, L) each pair's past, inside `train`
    rows = {"train": np.flatnonzero(~s.val_mask), "val": np.flatnonzero(s.val_mask)}
    pairs = {
        k: (torch.as_tensor(s.train.user[r]), hist[r], torch.as_tensor(s.train.item[r]))
        for k, r in rows.items()
    }
    val_users, val_truth = truth_of(s.val)

    def get_batch(split: str, batch_size: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        user, h, item = pairs[split]
        ix = torch.randint(len(item), (batch_size,), generator=gen)
        return user[ix], h[ix], item[ix]

    def evaluate(model: TwoTower) -> dict[str, float]:
        was = model.training
        model.eval()
        recs = retrieve(model, s.retriever_train, val_users, 100)
        model.train(was)
        return {"val_recall@100": M.recall_at_k(recs, val_truth, 100)}

    return Task(model=model, get_batch=get_batch, evaluate=evaluate, tokens=lambda batch: len(batch[0]))


def train_sharded(
    overrides: list[str] = (),
    data_dir: Path | None = None,
    runs_root: str | Path = "runs",
    table_lr: float = 0.05,
) -> tuple[Path | None, dict[str, float]]:
    """The two-tower trained under torchrun with its embedding tables sharded over the processes (TorchRec,
    systems/recsys/sharded.py): the experiment's data, model and steps; the MLPs by Adam at a constant
    `train.lr`, the tables by FBGEMM's row-wise Adagrad at `table_lr`; each rank's slice of
    `train.batch_size` is its in-batch softmax. Rank 0 writes a run
    folder as `nanozoo train` does (config.json, model.safetensors, metrics.jsonl; and sharded.json, the
    plan), which `recsys report` and `recsys serve` read; other ranks return (None, {})."""
    from nanozoo.core.checkpoint import save_weights
    from nanozoo.core.config import apply_overrides, to_dict
    from nanozoo.core.runlog import new_run_dir, write_config
    from nanozoo.core.trainer import init_distributed
    from nanozoo.systems.recsys import sharded

    env = init_distributed()
    if env.world < 2:
        raise ConfigError("train-sharded shards the tables over processes: run it under torchrun, e.g. "
                          "torchrun --nproc_per_node=2 -m nanozoo recsys train-sharded")  # fmt: skip
    cfg = apply_overrides(two_tower(), overrides)
    torch.set_num_threads(max(cfg.train.threads, 1))
    torch.manual_seed(cfg.train.seed)
    task = setup(cfg, data_dir)
    dmp, opt = sharded.shard(task.model, cfg.train.lr, "adagrad", table_lr)
    held = sharded.tables_held(dmp)
    t0 = time.perf_counter()
    losses = sharded.train(dmp, opt, lambda gen, n: task.get_batch("train", n, gen), cfg.train.max_iters,
                           cfg.train.batch_size, cfg.train.seed, cfg.train.log_interval)  # fmt: skip
    elapsed = time.perf_counter() - t0
    sharded.unshard(dmp, task.model)
    plan = [None] * env.world
    torch.distributed.all_gather_object(plan, held)
    if not env.master:
        return None, {}
    run_dir = new_run_dir("movielens-two-tower", runs_root)
    write_config(run_dir, "movielens-two-tower", to_dict(cfg), list(overrides))
    atomic_write(
        run_dir / "sharded.json", json.dumps({"world": env.world, "tables": plan, "table_lr": table_lr})
    )
    save_weights(task.model, run_dir / "model.safetensors", cfg.train.max_iters)
    log_ = MetricsLog(run_dir)
    for step, loss in enumerate(losses):
        if step % cfg.train.log_interval == 0:
            log_.write(step, elapsed * step / len(losses), train_loss=loss)
    final = task.evaluate(task.model.eval())
    log_.write(len(losses), elapsed, train_loss=losses[-1], **final)
    return run_dir, final


# ---------------------------------------------------------------------------------------------------
# The report: every stage and baseline on the test split


def baselines(seed: int = 0) -> dict[str, object]:
    return {
        "popularity": B.Popularity(),
        "popularity (last 365 days)": B.Popularity(window_days=365),
        "item-kNN": B.ItemKNN(),
        "ALS": B.ALS(seed=seed),
        "BPR": B.BPR(seed=seed),
    }


class _Implicit:
    """`implicit`'s ALS or BPR behind our fit/scores interface (the same hyper-parameters as ours)."""

    def __init__(self, kind: str, ours):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        common = dict(factors=ours.factors, regularization=ours.regularization, random_state=ours.seed)
        if kind == "als":
            self.m = AlternatingLeastSquares(alpha=ours.alpha, iterations=ours.iterations, **common)
        else:
            self.m = BayesianPersonalizedRanking(learning_rate=ours.lr, iterations=ours.epochs, **common)

    def fit(self, train: D.Interactions):
        X = train.matrix()
        X.data[:] = 1.0
        self.m.fit(X.tocsr(), show_progress=False)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.m.user_factors[users] @ self.m.item_factors.T


def report(run_dir: str | Path, data_dir: Path | None = None, k: int = 1000, n_candidates: int = 200) -> str:
    """Every stage and baseline on the run's test split, in one table (RUN/report.md, returned) and one
    picture of Recall@k (RUN/recall_at_k.png); the final stage's `test_*` figures go into metrics.jsonl.

    1. Each baseline (and `implicit`'s ALS and BPR) is fitted on everything before the test split.
    2. The run's two-tower retrieves k candidates from an exact FAISS index.
    3. LambdaMART learns to re-order `n_candidates` (the two-tower's and item-kNN's merged, ranker.py) on
       the validation window (the retriever's later window) and re-orders the test candidates; below
       them come the two-tower's other candidates in its order."""
    from threadpoolctl import threadpool_limits

    from nanozoo.experiments.registry import load_model
    from nanozoo.systems.recsys import ranker as R

    run_dir = Path(run_dir)
    model, cfg = load_model(run_dir)
    s = movielens_split(cfg.data, data_dir)
    users, truth = truth_of(s.test)
    pop = B.item_users(s.train)
    models = baselines(cfg.train.seed)
    try:
        models["implicit ALS"] = _Implicit("als", B.ALS(seed=cfg.train.seed))  # our hyper-parameters
        models["implicit BPR"] = _Implicit("bpr", B.BPR(seed=cfg.train.seed))
    except ImportError:
        log.warning("`implicit` is not installed (the ref extra): its ALS and BPR are left out of the table")
    rows: dict[str, dict[str, float]] = {}
    curves: dict[str, np.ndarray] = {}

    def record(name: str, recs: np.ndarray, t0: float) -> None:
        rows[name] = {
            **M.evaluate(recs, truth, pop, s.train.n_users, (10, 100, 500)),
            "s": time.perf_counter() - t0,
        }
        curves[name] = M.recall_curve(recs, truth)

    with threadpool_limits(1):
        for name, m in models.items():
            t0 = time.perf_counter()
            record(name, B.recommend(m.fit(s.train), s.train, users, k), t0)
        t0 = time.perf_counter()
        retrieved = retrieve(model.eval(), s.train, users, k)
        record("two-tower (FAISS exact)", retrieved, t0)
        t0 = time.perf_counter()
        val_users, _ = truth_of(s.val)  # the ranker's window: labels later than the retriever's training
        past = s.retriever_train
        knn, als = R.side_models(past, cfg.train.seed)
        cands = R.candidates(model, past, val_users, n_candidates, knn)
        X = R.features(model, past, s.items, val_users, cands, knn, als)
        lambdamart = R.LambdaMART(seed=cfg.train.seed).fit(X, R.labels_of(cands, val_users, s.val))
        knn = models["item-kNN"] if "item-kNN" in models else B.ItemKNN().fit(s.train)
        als = models["ALS"] if "ALS" in models else B.ALS(seed=cfg.train.seed).fit(s.train)
        cands = R.candidates(model, s.train, users, n_candidates, knn)
        ranked = lambdamart.rerank(cands, R.features(model, s.train, s.items, users, cands, knn, als))
        rest = [row[~np.isin(row, c)][: k - n_candidates] for row, c in zip(retrieved, cands, strict=True)]
        record(
            f"two-tower + item-kNN candidates, LambdaMART (top {n_candidates})",
            np.concatenate([ranked, rest], 1),
            t0,
        )
    table = _table(rows, cfg, len(users), len(s.test))
    atomic_write(run_dir / "report.md", table)
    final = {f"test_{m}": v for m, v in rows[next(reversed(rows))].items() if m != "s"}
    MetricsLog(run_dir).write(cfg.train.max_iters, 0.0, **final)
    _picture(curves, run_dir / "recall_at_k.png", cfg)
    return table


def service(run_dir: str | Path, data_dir: Path | None = None, events: str | Path | None = None):
    """The server's state for a trained run (systems/recsys/serve.py): its model, MovieLens read as the run
    read it, every interaction of it (serving happens after the test split too), and the event log
    `events` (default RUN/events.sqlite), replayed on top."""
    from nanozoo.experiments.registry import load_model
    from nanozoo.systems.recsys.serve import Service
    from nanozoo.systems.recsys.store import EventStore

    run_dir = Path(run_dir)
    model, cfg = load_model(run_dir)
    inter, items = D.load_movielens(data_dir, cfg.data.feedback, cfg.data.min_rating)
    return Service(model, items, inter, EventStore(events or run_dir / "events.sqlite"))


def _table(rows: dict[str, dict[str, float]], cfg: TwoTowerExperiment, n_users: int, n_test: int) -> str:
    cols = ["recall@10", "ndcg@10", "map@12", "mrr", "recall@100", "recall@500", "coverage@10", "novelty@10"]
    d = cfg.data
    test = f"each user's last {d.test_fraction:.0%}" if d.split == "temporal" else "each user's last item"
    head = (
        f"MovieLens ml-latest-small, {d.feedback} feedback (rating >= {d.min_rating}), {d.split} split "
        f"(test: {test}): {n_users} test users, {n_test:,} test interactions, each ranked among every "
        "item its user has not trained on\n\n"
    )
    lines = ["| model | " + " | ".join(cols) + " | s |", "|---|" + "---:|" * (len(cols) + 1)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.4f}" for c in cols) + f" | {r['s']:.1f} |")
    return head + "\n".join(lines) + "\n"


def _picture(curves: dict[str, np.ndarray], path: Path, cfg: TwoTowerExperiment) -> None:
    plt = plots.plt
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, c in curves.items():
        ax.plot(np.arange(1, len(c) + 1), c, label=name, lw=2 if "two-tower" in name else 1.2)
    ax.set_xscale("log")
    ax.set_xlabel("k (candidates per user)")
    ax.set_ylabel("Recall@k")
    ax.set_title(f"MovieLens ml-latest-small, {cfg.data.split} split: the candidate stage")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    plots.save(fig, path)
