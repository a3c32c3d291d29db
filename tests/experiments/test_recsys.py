"""movielens-two-tower: the split, a learning test, the report of every stage, and `nanozoo recsys`."""

import json
from functools import partial

import numpy as np
import pytest

from nanozoo.cli import main
from nanozoo.core.config import ConfigError, apply_overrides
from nanozoo.core.runlog import read_metrics
from nanozoo.experiments import recsys, runner
from nanozoo.systems.recsys import baselines as B
from nanozoo.systems.recsys import metrics as M

TINY = ["train.max_iters=200", "train.eval_interval=200", "train.progress=false"]


def test_the_validation_window_is_later_than_the_retrievers_training(need_data):
    need_data("movielens", "ml-latest-small/ratings.csv")
    s = recsys.movielens_split(recsys.MovieLensData(), None)
    tr, val = s.retriever_train, s.val
    last = np.full(tr.n_users, -1)
    np.maximum.at(last, tr.user, tr.time)
    assert len(val) and (val.time >= last[val.user]).all()  # each user's window comes after their training
    pairs = set(zip(tr.user.tolist(), tr.item.tolist(), strict=True))
    assert not pairs & set(zip(val.user.tolist(), val.item.tolist(), strict=True))  # no label trained on
    with pytest.raises(ConfigError, match="data.split='random'"):
        apply_overrides(recsys.two_tower(), ["data.split=random"])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return runner.train("movielens-two-tower", TINY, runs_root=root)


@pytest.mark.slow
def test_two_tower_learns_more_than_popularity(need_data, tiny_run):
    need_data("movielens", "ml-latest-small/ratings.csv")
    run_dir, metrics = tiny_run
    s = recsys.movielens_split(recsys.MovieLensData(), None)
    users, truth = recsys.truth_of(s.val)
    pop = B.recommend(B.Popularity().fit(s.retriever_train), s.retriever_train, users, 100)
    pop_recall = M.recall_at_k(pop, truth, 100)
    # 200 steps of batch 512 (20-40 s on a loaded CPU)
    assert metrics["val_recall@100"] > pop_recall + 0.02
    first = read_metrics(run_dir)[0]
    assert first["val_recall@100"] < pop_recall  # the untrained towers are worse than popularity


@pytest.mark.slow
def test_report_tables_every_stage(need_data, tiny_run, monkeypatch):
    need_data("movielens", "ml-latest-small/ratings.csv")
    run_dir, _ = tiny_run
    # ALS and BPR take minutes on a loaded CPU: popularity and item-kNN stand for our baselines, and
    # implicit's and the ranker's ALS and BPR run 2 sweeps
    fast = {k: v for k, v in recsys.baselines().items() if k in ("popularity", "item-kNN")}
    monkeypatch.setattr(recsys, "baselines", lambda seed=0: fast)
    monkeypatch.setattr(B, "ALS", partial(B.ALS, factors=16, iterations=2))  # implicit's ALS takes these
    monkeypatch.setattr(B, "BPR", partial(B.BPR, factors=16, epochs=2))
    table = recsys.report(
        run_dir, k=300, overrides=["rank.n_candidates=50", "rank.sparsenn.epochs=2", "rank.folds=2"]
    )
    test, val = table.split("\nValidation: ")

    def names(text):
        return [line.split(" | ")[0].strip("| ") for line in text.splitlines() if line.startswith("| ")][1:]

    expected = ["popularity", "item-kNN", "implicit ALS", "implicit BPR", "two-tower (FAISS exact)"]
    rankers = [f"two-tower + item-kNN candidates, {r} (top 50)" for r in ("LambdaMART", "SparseNN")]
    assert names(test)[:5] == expected and sorted(names(test)[5:]) == rankers
    assert names(val) == ["popularity", "item-kNN", "ALS", "two-tower", "LambdaMART", "SparseNN"]
    assert "Margin: NDCG@10 of the final stage" in val and "95% interval" in val
    assert (run_dir / "report.md").read_text() == table and (run_dir / "recall_at_k.png").is_file()
    last = read_metrics(run_dir)[-1]
    assert 0 < last["test_ndcg@10"] < 1 and last["test_recall@100"] <= last["test_recall@500"]
    # tuning cross-validates on the window only: one row a combination, best first
    tuned = recsys.tune(run_dir, ["rank.lambdamart.num_leaves=3,7", "rank.folds=2", "rank.n_candidates=50"])
    lines = [line.split(" | ") for line in tuned.splitlines()[2:]]
    assert [(r[0], r[1]) for r in sorted(lines, key=lambda r: r[1])] == [
        ("| LambdaMART", "3"),
        ("| LambdaMART", "7"),
    ]
    assert float(lines[0][4]) >= float(lines[1][4])


@pytest.mark.slow
def test_cli_serve_serves_the_run(need_data, need, tiny_run, monkeypatch, tmp_path):
    need("httpx")
    import uvicorn
    from fastapi.testclient import TestClient

    from nanozoo.systems.recsys import data as D

    run_dir, _ = tiny_run
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    main(["recsys", "serve", str(run_dir), "--events", str(tmp_path / "ev.sqlite"), "--port", "8123"])
    ((app, kw),) = served
    assert kw == {"host": "127.0.0.1", "port": 8123, "log_level": "warning"}
    inter, items = D.load_movielens()
    liked = set(items.ids[inter.item[inter.user == 0]].tolist())  # MovieLens user 1: dense user 0
    cold = inter.user_ids[np.setdiff1d(np.arange(inter.n_users), inter.user)]  # rated, but nothing >= 4
    with TestClient(app) as c:
        body = c.get("/recommend/1", params={"k": 20}).json()
        assert body["source"] == "two-tower" and body["history_length"] == len(liked)
        assert len(body["items"]) == 20 and not liked & {r["item_id"] for r in body["items"]}
        assert c.get(f"/recommend/{cold[0]}").json()["source"] == "popularity"
        toy_story = c.get("/similar/1", params={"k": 5}).json()
        assert toy_story["title"] == "Toy Story (1995)" and len(toy_story["items"]) == 5
        assert c.post("/events", json={"user_id": 1, "item_id": 1}).json()["stored"] == 1
    assert (tmp_path / "ev.sqlite").is_file()


def test_train_sharded_needs_torchrun(cli, monkeypatch):
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = cli(["recsys", "train-sharded"])
    assert code == 1 and "run it under torchrun, e.g. torchrun --nproc_per_node=2" in err


def test_cli_report_refuses_another_experiments_run(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"format": 1, "experiment": "names-mlp", "config": {}}')
    with pytest.raises(SystemExit) as e:
        main(["recsys", "report", str(tmp_path)])
    assert e.value.code == 1
    assert "is a run of 'names-mlp', not 'movielens-two-tower'" in capsys.readouterr().err


def write_hm(folder, n_users=300, n_items=400):
    """A download of H&M's three files, written from the synthetic generator's interactions."""
    from nanozoo.systems.recsys import synthetic

    inter, items = synthetic.interactions(n_users, n_items, seed=1)
    art = [f"0{100000000 + i}" for i in range(len(items))]  # ten digits, a leading zero
    (folder / "articles.csv").write_text(
        "article_id,prod_name,product_type_name,index_group_name\n"
        + "".join(f"{a},Item {i},{items.tags[i][0]},Ladieswear\n" for i, a in enumerate(art))
    )
    customers = [f"c{u:05d}" for u in range(n_users)]
    (folder / "customers.csv").write_text("customer_id,age\n" + "".join(f"{c},30\n" for c in customers))
    day = np.datetime64("2019-01-01") + inter.time // 86400
    (folder / "transactions_train.csv").write_text(
        "t_dat,customer_id,article_id,price,sales_channel_id\n"
        + "".join(
            f"{d},{customers[u]},{art[i]},0.05,2\n"
            for d, u, i in zip(day, inter.user, inter.item, strict=True)
        )
    )
    return customers, art


@pytest.mark.slow
def test_the_whole_pipeline_runs_on_an_hm_download(tmp_path, monkeypatch, need):
    """`data.source=hm`: train, report every stage, serve, on files in H&M's format."""
    need("lightgbm")
    customers, art = write_hm(tmp_path)
    data = ["data.source=hm", f"data.path={tmp_path}", "train.batch_size=64"]
    run_dir, metrics = runner.train("movielens-two-tower", [*TINY[1:], "train.max_iters=30", *data],
                                    runs_root=tmp_path / "runs")  # fmt: skip
    assert metrics["val_recall@100"] > 0
    monkeypatch.setattr(recsys, "baselines", lambda seed=0: {"popularity": B.Popularity()})
    monkeypatch.setattr(B, "ALS", partial(B.ALS, factors=8, iterations=1))
    monkeypatch.setattr(B, "BPR", partial(B.BPR, factors=8, epochs=1))
    table = recsys.report(
        run_dir, k=200, overrides=["rank.n_candidates=30", "rank.sparsenn.epochs=1", "rank.folds=2"]
    )
    assert table.startswith(f"H&M ({tmp_path}), temporal split") and "LambdaMART (top 30)" in table
    service = recsys.service(run_dir, events=tmp_path / "ev.sqlite")
    body = service.recommend(customers[0], 5)
    assert body["source"] == "two-tower" and all(r["item_id"] in art for r in body["items"])
    with pytest.raises(ConfigError, match="needs data.path"):
        apply_overrides(recsys.two_tower(), ["data.source=otto"])


def test_load_reads_the_source_it_names(tmp_path):
    sessions = [{"session": 5, "events": [{"aid": 9, "ts": 1659304800000, "type": "clicks"}]}]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sessions))
    inter, items = recsys.load(recsys.MovieLensData(source="otto", path=str(tmp_path / "s.jsonl")), None)
    assert inter.user_ids.tolist() == [5] and items.ids.tolist() == [9]
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Animation\n")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n7,1,3.5,1\n")
    d = recsys.MovieLensData(path=str(tmp_path), min_rating=3.0)
    assert len(recsys.load(d, None)[0]) == 1 and recsys.name_of(d).startswith(f"MovieLens {tmp_path}")
