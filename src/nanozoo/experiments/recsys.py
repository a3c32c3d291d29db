"""The recommender on MovieLens ml-latest-small (issue 15). Its table: experiments/tables/recsys.py.

- `movielens-two-tower`: the two-tower retriever (systems/recsys/two_tower.py), trained by the trainer on
  each user's earlier interactions; every evaluation logs its recall@100 on the validation window.
- `train_sharded`: the same under torchrun with its tables sharded by TorchRec (`recsys train-sharded`).
- `report(run_dir)` (`nanozoo recsys train` runs it after training): every baseline fitted on the same
  training data, the two-tower's candidates from a FAISS index, the two rankers (LambdaMART, SparseNN:
  systems/recsys/ranker.py, sparsenn.py) re-ordering them, one table of every metric on the test split,
  the validation table the rankers were chosen by, the margin over the best baseline, and one picture of
  Recall@k for k = 1..1000; `implicit`'s ALS and BPR sit in the same table.
- `tune(run_dir, grid)`: the rankers cross-validated on the ranker's window (`recsys tune`).
- `service(run_dir)`: what `nanozoo recsys serve` serves (systems/recsys/serve.py).

The data (`MovieLensData`): ml-latest-small by default; `data.source=hm data.path=FOLDER` or
`data.source=otto data.path=FILE.jsonl` runs the same pipeline on a download of those competitions
(data.py's readers). The split: positive ratings (>= 4) by default; each user's last 20% in time is the
test set (`temporal`; or `leave-one-out`); of the rest, each user's last 25% is the validation window,
which the retriever does not train on (the ranker's window: a later time than the retriever's). Baselines
and the retriever's user histories at test time see all of it.
"""

from __future__ import annotations

import copy
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
from nanozoo.systems.recsys import ranker as R
from nanozoo.systems.recsys.sparsenn import SparseNNConfig, SparseNNRanker
from nanozoo.systems.recsys.two_tower import (
    TwoTower,
    TwoTowerConfig,
    fill_features,
    histories,
    retrieve,
    sized,
)

log = logging.getLogger(__name__)


SOURCES = ("movielens", "hm", "otto")


@dataclass
class MovieLensData:
    source: str = "movielens"  # the reader (systems/recsys/data.py): "movielens", "hm" or "otto"
    path: str = ""  # hm: the competition's folder; otto: a sessions JSONL; movielens: default the catalogue's
    feedback: str = "positive"  # MovieLens: "positive" keeps ratings >= min_rating; "all" every rating
    min_rating: float = 4.0
    split: str = "temporal"  # or "leave-one-out"
    test_fraction: float = 0.2  # temporal: each user's last fraction is the test set
    val_fraction: float = 0.25  # of the rest, each user's last fraction: the validation / ranker window

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError(f"data.source={self.source!r}; allowed: {', '.join(map(repr, SOURCES))}")
        if self.source != "movielens" and not self.path:
            raise ConfigError(f"data.source={self.source!r} needs data.path=... (its downloaded files)")
        if self.path:  # stored absolute: a later report or resume from another folder finds the same files
            self.path = str(Path(self.path).absolute())
        if self.feedback not in ("positive", "all"):
            raise ConfigError(f"data.feedback={self.feedback!r}; allowed: 'positive', 'all'")
        if self.split not in ("temporal", "leave-one-out"):
            raise ConfigError(f"data.split={self.split!r}; allowed: 'temporal', 'leave-one-out'")
        for name in ("test_fraction", "val_fraction"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"data.{name}={getattr(self, name)} must be in (0, 1)")


@dataclass
class RankConfig:
    """The ranking stage of the report (systems/recsys/ranker.py, sparsenn.py): tuned on the validation
    window, cross-validated over its users (`nanozoo recsys tune`, benchmarks/RESULTS.md), never on the
    test split."""

    n_candidates: int = 200  # each user's list: the two-tower's and item-kNN's interleaved
    folds: int = 5  # validation: each fifth of the window's users ranked by rankers fitted on the others
    lambdamart: R.LambdaMART = field(default_factory=R.LambdaMART)
    sparsenn: SparseNNConfig = field(default_factory=SparseNNConfig)

    def __post_init__(self):
        if self.n_candidates < 1 or self.folds < 2:
            raise ConfigError(f"rank.n_candidates={self.n_candidates} (>= 1), rank.folds={self.folds} (>= 2)")


@dataclass
class TwoTowerExperiment:
    model: TwoTowerConfig = field(default_factory=TwoTowerConfig)
    # lr 0.1: the best of 3e-3 .. 0.4 on the validation window's recall@100 (benchmarks/RESULTS.md)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            max_iters=400, batch_size=512, lr=0.1, min_lr=3e-4, warmup_iters=20, weight_decay=0.0,
            eval_interval=100, eval_iters=5, log_interval=20, threads=1,
        )
    )  # fmt: skip
    data: MovieLensData = field(default_factory=MovieLensData)
    rank: RankConfig = field(default_factory=RankConfig)


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


def load(d: MovieLensData, data_dir: Path | None) -> tuple[D.Interactions, D.Items]:
    """The interactions and catalogue `d` names: ml-latest-small from the data catalogue by default, or a
    download of MovieLens, H&M or OTTO at `d.path`."""
    if d.source == "hm":
        return D.read_hm(d.path)
    if d.source == "otto":
        return D.read_otto(d.path)
    if d.path:
        return D.read_movielens(d.path, d.feedback, d.min_rating)
    return D.load_movielens(data_dir, d.feedback, d.min_rating)


def name_of(d: MovieLensData, short: bool = False) -> str:
    """The data set as tables and titles name it; `short`: without MovieLens's feedback rule."""
    if d.source == "movielens":
        name = f"MovieLens {d.path or D.MOVIELENS}"
        return name if short else f"{name}, {d.feedback} feedback (rating >= {d.min_rating})"
    return f"{'H&M' if d.source == 'hm' else 'OTTO'} ({d.path})"


def movielens_split(d: MovieLensData, data_dir: Path | None) -> Split:
    inter, items = load(d, data_dir)
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
    table_lr: float = 0.5,
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


def with_rank(cfg: TwoTowerExperiment, overrides: list[str]) -> TwoTowerExperiment:
    """`cfg` with `overrides` of its `rank` section (another section would not be the run's any more)."""
    from nanozoo.core.config import apply_overrides, override_items

    other = [k for k, _ in override_items(overrides) if not k.startswith("rank.")]
    if other:
        raise ConfigError(
            f"{other[0]}: a report changes the rank section only (rank.*); retrain for the rest"
        )
    return apply_overrides(cfg, overrides)


def rankers(cfg: TwoTowerExperiment, model: TwoTower, n_users: int) -> dict[str, object]:
    """The ranking stage's two rankers, fresh, with the run's `rank` hyper-parameters."""
    rc = cfg.rank
    return {
        "LambdaMART": copy.deepcopy(rc.lambdamart),
        "SparseNN": SparseNNRanker(
            rc.sparsenn, n_users, model.cfg.n_items, model.item_tags, model.cfg.n_tags
        ),
    }


@dataclass
class Window:
    """The ranker's window: its users' candidate lists (features from the retriever's training data only),
    their labels (the window's interactions), and each user's validation fold (`RankConfig.folds`)."""

    stage: R.Stage
    lists: R.Lists
    labels: np.ndarray
    truth: list[np.ndarray]
    fold: np.ndarray  # (U,) 0..folds-1, a seeded shuffle


def ranker_window(model: TwoTower, s: Split, cfg: TwoTowerExperiment) -> Window:
    stage = R.Stage.fit(model, s.retriever_train, s.items, cfg.train.seed)
    users, truth = truth_of(s.val)
    lists = stage.lists(users, cfg.rank.n_candidates)
    fold = np.random.default_rng(cfg.train.seed).permutation(len(users)) % cfg.rank.folds
    return Window(stage, lists, R.labels_of(lists.cands, users, s.val), truth, fold)


def cross_validate(ranker_of, w: Window) -> np.ndarray:
    """(U, K) every window user's list re-ordered by a ranker (`ranker_of()` makes a fresh one) fitted on
    the other folds' users."""
    out = np.empty_like(w.lists.cands)
    for f in range(w.fold.max() + 1):
        fit, held = np.flatnonzero(w.fold != f), np.flatnonzero(w.fold == f)
        out[held] = ranker_of().fit(w.lists.take(fit), w.labels[fit]).rerank(w.lists.take(held))
    return out


def validate(
    w: Window, cfg: TwoTowerExperiment, model: TwoTower, n_users: int
) -> dict[str, dict[str, float]]:
    """Every ranking of the window's users against the window's interactions: the rankers cross-validated
    over the users (`cross_validate`), the baselines and the retriever fitted on the retriever's training
    data: recall@10, ndcg@10, map@12, mrr."""
    users, past, k = w.lists.users, w.stage.past, cfg.rank.n_candidates
    recs = {
        "popularity": B.recommend(B.Popularity().fit(past), past, users, k),
        "item-kNN": B.recommend(w.stage.knn, past, users, k),
        "ALS": B.recommend(w.stage.als, past, users, k),
        "two-tower": retrieve(model, past, users, k),
    }
    for name in rankers(cfg, model, n_users):
        recs[name] = cross_validate(lambda name=name: rankers(cfg, model, n_users)[name], w)
    pop = B.item_users(past)
    return {name: M.evaluate(r, w.truth, pop, past.n_users, (10,)) for name, r in recs.items()}


def tune(run_dir: str | Path, grid: list[str], data_dir: Path | None = None) -> str:
    """The rankers' validation NDCG@10 (and recall@10, MAP@12) for every combination of `grid` (`--grid
    rank.lambdamart.num_leaves=7,15,31`): each cross-validated over the window's users (`cross_validate`),
    never on the test split. Only the rankers whose keys the grid names are fitted (both if it names
    neither's); `rank.n_candidates` and `rank.folds` rebuild the window. Returns the table, best first."""
    from threadpoolctl import threadpool_limits

    from nanozoo.experiments.registry import load_model
    from nanozoo.experiments.sweep import combinations, parse_grid

    model, cfg = load_model(Path(run_dir))
    s = movielens_split(cfg.data, data_dir)
    axes = parse_grid(grid)
    prefixes = {"LambdaMART": "rank.lambdamart.", "SparseNN": "rank.sparsenn."}
    fit = {name for name, p in prefixes.items() if any(k.startswith(p) for k in axes)}
    fit = fit or set(prefixes)
    windows: dict[tuple, Window] = {}
    rows = []
    with threadpool_limits(1):
        for combo in combinations(axes):
            c = with_rank(cfg, [f"{k}={v}" for k, v in combo.items()])
            key = (c.rank.n_candidates, c.rank.folds)
            if key not in windows:
                windows[key] = ranker_window(model, s, c)
            w = windows[key]
            pop = B.item_users(w.stage.past)
            for name in fit:
                recs = cross_validate(lambda c=c, name=name: rankers(c, model, s.train.n_users)[name], w)
                m = M.evaluate(recs, w.truth, pop, w.stage.past.n_users, (10,))
                rows.append((m["ndcg@10"], name, combo, m))
    rows.sort(key=lambda r: -r[0])
    lines = [
        "| ranker | " + " | ".join(axes) + " | ndcg@10 | recall@10 | map@12 |",
        "|---|" + "---|" * (len(axes) + 3),
    ]
    for _, name, combo, m in rows:
        vals = " | ".join(combo[k] for k in axes)
        lines.append(f"| {name} | {vals} | {m['ndcg@10']:.4f} | {m['recall@10']:.4f} | {m['map@12']:.4f} |")
    return "\n".join(lines) + "\n"


def report(
    run_dir: str | Path, data_dir: Path | None = None, k: int = 1000, overrides: list[str] = ()
) -> str:
    """Every stage and baseline on the run's test split, in one table (RUN/report.md, returned) and one
    picture of Recall@k (RUN/recall_at_k.png); the final stage's `test_*` figures go into metrics.jsonl.

    1. Each baseline (and `implicit`'s ALS and BPR) is fitted on everything before the test split.
    2. The run's two-tower retrieves k candidates from an exact FAISS index.
    3. The ranker's window (`ranker_window`): candidate lists and features from the retriever's training
       data, labels from the validation window. Each ranker (LambdaMART, SparseNN) is first
       cross-validated over the window's users (the validation table: how the rankers were chosen and
       tuned), then fitted on all of them and re-orders the test candidates (features from everything
       before the test split); below them come the two-tower's other candidates in its order.
    4. The final stage is the ranker best on validation; its NDCG@10 against the best baseline's, user by
       user, with a paired bootstrap 95% interval.
    `overrides` change the run's `rank` section (`rank.n_candidates=100`) for this report."""
    from threadpoolctl import threadpool_limits

    from nanozoo.experiments.registry import load_model

    run_dir = Path(run_dir)
    model, cfg = load_model(run_dir)
    cfg = with_rank(cfg, overrides)
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
    per_user: dict[str, np.ndarray] = {}

    def record(name: str, recs: np.ndarray, seconds: float) -> None:
        rows[name] = {**M.evaluate(recs, truth, pop, s.train.n_users, (10, 100, 500)), "s": seconds}
        curves[name] = M.recall_curve(recs, truth)
        per_user[name] = M.ndcg_per_user(recs, truth, 10)

    with threadpool_limits(1):
        for name, m in models.items():
            t0 = time.perf_counter()
            record(name, B.recommend(m.fit(s.train), s.train, users, k), time.perf_counter() - t0)
        t0 = time.perf_counter()
        retrieved = retrieve(model.eval(), s.train, users, k)
        record("two-tower (FAISS exact)", retrieved, time.perf_counter() - t0)
        t0 = time.perf_counter()
        window = ranker_window(model, s, cfg)
        val = validate(window, cfg, model, s.train.n_users)
        knn = models["item-kNN"] if "item-kNN" in models else B.ItemKNN().fit(s.train)
        als = models["ALS"] if "ALS" in models else B.ALS(seed=cfg.train.seed).fit(s.train)
        test = R.Stage(model, s.train, s.items, knn, als).lists(users, cfg.rank.n_candidates)
        shared = time.perf_counter() - t0
        n = cfg.rank.n_candidates
        for name, ranker in rankers(cfg, model, s.train.n_users).items():
            t0 = time.perf_counter()
            ranked = ranker.fit(window.lists, window.labels).rerank(test)
            rest = [row[~np.isin(row, c)][: k - n] for row, c in zip(retrieved, test.cands, strict=True)]
            recs = np.concatenate([ranked, rest], 1)
            record(
                f"two-tower + item-kNN candidates, {name} (top {n})", recs, shared + time.perf_counter() - t0
            )
    best = max(rankers(cfg, model, 1), key=lambda name: val[name]["ndcg@10"])
    final = f"two-tower + item-kNN candidates, {best} (top {n})"
    rows[final] = rows.pop(final)  # the final stage last
    table = _table(rows, cfg, len(users), len(s.test)) + _validation_table(val, window, cfg)
    table += _margin(rows, per_user, final, list(models) + ["two-tower (FAISS exact)"], cfg.train.seed)
    atomic_write(run_dir / "report.md", table)
    final_metrics = {f"test_{m}": v for m, v in rows[final].items() if m != "s"}
    MetricsLog(run_dir).write(cfg.train.max_iters, 0.0, **final_metrics)
    _picture(curves, run_dir / "recall_at_k.png", cfg)
    return table


def _validation_table(val: dict[str, dict[str, float]], w: Window, cfg: TwoTowerExperiment) -> str:
    cols = ["recall@10", "ndcg@10", "map@12", "mrr"]
    lines = [
        f"\nValidation: the ranker's window, {len(w.truth)} users, each one's window interactions ranked: "
        f"the rankers {cfg.rank.folds}-fold cross-validated over the users (fitted on the other folds), "
        "everything else fitted on the retriever's training data\n",
        "| model | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    lines += [f"| {name} | " + " | ".join(f"{r[c]:.4f}" for c in cols) + " |" for name, r in val.items()]
    return "\n".join(lines) + "\n"


def _margin(rows, per_user, final: str, baselines_: list[str], seed: int) -> str:
    """The final stage's NDCG@10 minus the best baseline's, user by user: mean and bootstrap interval."""
    best = max((b for b in baselines_ if b in rows), key=lambda b: rows[b]["ndcg@10"])
    diff, lo, hi = M.paired_bootstrap(per_user[final], per_user[best], seed=seed)
    return (
        f"\nMargin: NDCG@10 of the final stage ({final}) minus the best baseline's ({best}): "
        f"{diff:+.4f}, 95% interval [{lo:+.4f}, {hi:+.4f}] (paired bootstrap over the test users, 2,000 "
        "resamples)\n"
    )


def service(run_dir: str | Path, data_dir: Path | None = None, events: str | Path | None = None):
    """The server's state for a trained run (systems/recsys/serve.py): its model, its data read as the run
    read it, every interaction of it (serving happens after the test split too), and the event log
    `events` (default RUN/events.sqlite), replayed on top."""
    from nanozoo.experiments.registry import load_model
    from nanozoo.systems.recsys.serve import Service
    from nanozoo.systems.recsys.store import EventStore

    run_dir = Path(run_dir)
    model, cfg = load_model(run_dir)
    inter, items = load(cfg.data, data_dir)
    return Service(model, items, inter, EventStore(events or run_dir / "events.sqlite"))


def _table(rows: dict[str, dict[str, float]], cfg: TwoTowerExperiment, n_users: int, n_test: int) -> str:
    cols = ["recall@10", "ndcg@10", "map@12", "mrr", "recall@100", "recall@500", "coverage@10", "novelty@10"]
    d = cfg.data
    test = f"each user's last {d.test_fraction:.0%}" if d.split == "temporal" else "each user's last item"
    head = (
        f"{name_of(d)}, {d.split} split "
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
    ax.set_title(f"{name_of(cfg.data, short=True)}, {cfg.data.split} split: the candidate stage")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    plots.save(fig, path)
