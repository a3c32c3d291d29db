"""The embedding tables behind one module: TorchRec's EmbeddingBagCollection equals the plain tables, and the
two-tower trained with its tables sharded over two processes (DistributedModelParallel under torchrun,
gloo) takes the same steps as one process on the same batches."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from nanozoo.systems.recsys import sharded, synthetic
from nanozoo.systems.recsys.embeddings import Tables, TorchRecTables
from nanozoo.systems.recsys.two_tower import (
    TwoTower,
    TwoTowerConfig,
    fill_features,
    histories,
    sized,
    tables_of,
)


def test_torchrec_tables_equal_the_plain_ones(need):
    need("torchrec")
    torch.manual_seed(0)
    features = {"a": 10, "b": 5}
    plain, rec = Tables(features, 4), TorchRecTables(features, 4)
    with torch.no_grad():
        for f in features:
            rec.ebc.embedding_bags[f].weight.copy_(plain.weight(f))
    bags = {"a": torch.tensor([[1, 10, 3], [10, 10, 10]]), "b": torch.tensor([[0, 4], [2, 5]])}  # pad: 10, 5
    x, y = plain(bags), rec(bags)
    for f in features:
        torch.testing.assert_close(x[f], y[f], atol=1e-6, rtol=1e-6)
    w = plain.weight("a")
    torch.testing.assert_close(x["a"][0], (w[1] + w[3]) / 2)  # the mean of the bag, the padding left out
    assert (x["a"][1] == 0).all()  # an empty bag: zeros


STEPS, BATCH, LR = 5, 32, 1.0


def setup():
    """A small two-tower on synthetic data, and its batch function (the same in every process)."""
    inter, items = synthetic.interactions(200, n_items=60, n_clusters=4, seed=0)
    torch.manual_seed(0)
    model = TwoTower(sized(TwoTowerConfig(n_embd=8, history=5), items, inter))
    fill_features(model, items, inter)
    user, item, hist = torch.as_tensor(inter.user), torch.as_tensor(inter.item), histories(inter, 5, 60)

    def batches(gen, n):
        ix = torch.randint(len(item), (n,), generator=gen)
        return user[ix], hist[ix], item[ix]

    return model, batches


CHILD = """
import json, sys
import torch, torch.distributed as dist
sys.path.insert(0, sys.argv[1])
from test_recsys_sharded import BATCH, LR, STEPS, setup
from nanozoo.systems.recsys import sharded
torch.set_num_threads(1)
dist.init_process_group("gloo")
model, batches = setup()
dmp, opt = sharded.shard(model, LR, "sgd")
held = sharded.tables_held(dmp)
losses = sharded.train(dmp, opt, batches, STEPS, BATCH)
sharded.unshard(dmp, model)
out = {"rank": dist.get_rank(), "held": held, "losses": losses,
       "weights": {k: v.tolist() for k, v in model.state_dict().items() if v.is_floating_point()}}
with open(f"{sys.argv[2]}/rank{dist.get_rank()}.json", "w") as f:
    json.dump(out, f)
dist.destroy_process_group()
"""


def test_sharded_training_takes_the_single_process_steps(tmp_path, need):
    need("torchrec")
    (tmp_path / "child.py").write_text(CHILD)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(tmp_path / "child.py"), str(Path(__file__).parent), str(tmp_path)]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    # table-wise: every table on one rank, both ranks holding some
    assert ranks[0]["held"] and ranks[1]["held"] and not set(ranks[0]["held"]) & set(ranks[1]["held"])
    model, batches = setup()
    assert set(ranks[0]["held"]) | set(ranks[1]["held"]) == set(tables_of(model.cfg))
    expected = sharded.reference_losses(model, batches, STEPS, BATCH, 2, LR)
    np.testing.assert_allclose(ranks[0]["losses"], expected, rtol=1e-5)
    assert ranks[0]["losses"][0] != ranks[0]["losses"][-1]  # it trained
    for rank in ranks:  # the weights gathered back, on both ranks, are the single process's
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                np.testing.assert_allclose(rank["weights"][k], v.detach().numpy(), atol=1e-5, err_msg=k)
