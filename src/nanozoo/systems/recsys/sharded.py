"""The two-tower trained with its embedding tables sharded across processes: TorchRec's
DistributedModelParallel under torchrun, gloo on the CPU (`nanozoo recsys train-sharded`).

    torchrun --nproc_per_node=2 -m nanozoo recsys train-sharded

How it differs from the plain path (the trainer's DDP, where every rank holds every table):
1. the model's `tables` is a TorchRec EmbeddingBagCollection (embeddings.TorchRecTables) that DMP shards
   table-wise, each table living on one rank: a lookup sends each rank's ids to the table's owner and the
   pooled vectors back (all-to-all); the two MLPs are replicated and wrapped in DDP;
2. the tables are updated by the optimizer fused into their backward (FBGEMM's), the MLPs by torch's;
3. every rank draws the same global batch and trains on its slice: its in-batch softmax has that slice's
   items as negatives. The gradient of every parameter, tables included, is the mean over the ranks, so
   one process that computes each slice's loss and steps on their mean takes the same steps
   (`reference_losses`; tests/systems/recsys/test_recsys_sharded.py checks it, exact SGD, to 1e-5).
Weights go in from a plain model (`shard`) and come back into it (`unshard`), so a sharded run is saved,
reported and served as any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.distributed as dist

from nanozoo.systems.recsys.embeddings import TorchRecTables
from nanozoo.systems.recsys.two_tower import TwoTower, tables_of

log = logging.getLogger(__name__)
Batches = Callable[[torch.Generator, int], tuple[torch.Tensor, ...]]  # (generator, size) -> a global batch


def _table_key(name: str) -> str | None:
    """The table of a DMP state-dict key (`..tables.ebc.embedding_bags.NAME.weight`), or None."""
    parts = name.split(".")
    return parts[-2] if "embedding_bags" in parts else None


def shard(plain: TwoTower, lr: float, optimizer: str = "sgd", table_lr: float | None = None):
    """(DMP model, optimizer): a TorchRec copy of `plain` (same weights), its tables sharded table-wise over
    the process group. `optimizer` "sgd": exact SGD at `lr` for everything (the parity test); "adagrad":
    FBGEMM's row-wise Adagrad for the tables at `table_lr` and Adam at `lr` for the MLPs. (FBGEMM's CPU
    kernels fuse exact SGD and (row-wise) Adagrad only: Adam "is not supported in CPU mode".)"""
    from fbgemm_gpu.split_embedding_configs import EmbOptimType
    from torchrec.distributed import DistributedModelParallel
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.planner import EmbeddingShardingPlanner, Topology
    from torchrec.distributed.planner.types import ParameterConstraints
    from torchrec.distributed.types import ShardingType
    from torchrec.optim.keyed import CombinedOptimizer, KeyedOptimizerWrapper
    from torchrec.optim.optimizers import in_backward_optimizer_filter

    if optimizer not in ("sgd", "adagrad"):
        raise ValueError(f"optimizer={optimizer!r}; allowed: 'sgd', 'adagrad'")
    cfg, world = plain.cfg, dist.get_world_size()
    model = TwoTower(cfg, TorchRecTables(tables_of(cfg), cfg.n_embd))
    model.load_state_dict(
        {k: v for k, v in plain.state_dict().items() if _table_key(k) is None}, strict=False
    )
    fused = (
        {"optimizer": EmbOptimType.EXACT_SGD, "learning_rate": lr}
        if optimizer == "sgd"
        else {"optimizer": EmbOptimType.EXACT_ROWWISE_ADAGRAD, "learning_rate": table_lr or lr}
    )
    sharders = [EmbeddingBagCollectionSharder(fused_params=fused)]
    table_wise = ParameterConstraints(sharding_types=[ShardingType.TABLE_WISE.value])
    planner = EmbeddingShardingPlanner(
        topology=Topology(world_size=world, compute_device="cpu"),
        constraints={name: table_wise for name in tables_of(cfg)},
    )
    plan = planner.collective_plan(model, sharders, dist.GroupMember.WORLD)
    dmp = DistributedModelParallel(model, device=torch.device("cpu"), plan=plan, sharders=sharders)
    with torch.no_grad():  # DMP initialises its shards afresh: each rank copies in the rows it holds
        for key, value in dmp.state_dict().items():
            if _table_key(key) is not None:
                full = plain.tables.weight(_table_key(key))
                for s in value.local_shards():
                    (r, c), (n, m) = s.metadata.shard_offsets, s.metadata.shard_sizes
                    s.tensor.copy_(full[r : r + n, c : c + m])
    dense_params = dict(in_backward_optimizer_filter(dmp.named_parameters()))
    make = (
        (lambda p: torch.optim.SGD(p, lr=lr))
        if optimizer == "sgd"
        else (lambda p: torch.optim.Adam(p, lr=lr))
    )
    return dmp, CombinedOptimizer([dmp.fused_optimizer, KeyedOptimizerWrapper(dense_params, make)])


def tables_held(dmp) -> list[str]:
    """The tables whose rows this rank holds."""
    held = [(_table_key(k), v) for k, v in dmp.state_dict().items() if _table_key(k) is not None]
    return sorted(name for name, v in held if any(s.tensor.numel() for s in v.local_shards()))


def unshard(dmp, plain: TwoTower) -> None:
    """Copy the trained weights of `dmp` back into `plain` on every rank (each table gathered from its
    owner; the replicated MLPs as they are)."""
    rank = dist.get_rank()
    with torch.no_grad():
        for key, value in dmp.state_dict().items():
            name = _table_key(key)
            if name is None:
                target = plain.state_dict()[key.removeprefix("_dmp_wrapped_module.").removeprefix("module.")]
                target.copy_(value)
                continue
            full = plain.tables.weight(name)  # a view: the table without its padding row
            buf = torch.empty_like(full)
            value.gather(dst=0, out=buf if rank == 0 else None)
            dist.broadcast(buf, 0)
            full.copy_(buf)


def train(dmp, opt, batches: Batches, steps: int, batch_size: int, seed: int = 0, log_every: int = 0):
    """`steps` steps of `batch_size` (global) pairs, each rank on its slice; returns the loss of each step
    (the mean over the ranks of their slices' losses)."""
    rank, world = dist.get_rank(), dist.get_world_size()
    if batch_size % world:
        raise ValueError(f"batch_size={batch_size} must be divisible by the {world} processes")
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for step in range(steps):
        batch = batches(gen, batch_size)  # the same global batch on every rank
        mine = [t.chunk(world)[rank] for t in batch]
        opt.zero_grad()
        loss = dmp(*mine)
        loss.backward()
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        losses.append(mean.item() / world)
        if log_every and step % log_every == 0:
            log.info("step %d: train_loss %.4f", step, losses[-1])
    return losses


def reference_losses(model: TwoTower, batches: Batches, steps: int, batch_size: int, world: int, lr: float,
                     seed: int = 0) -> list[float]:  # fmt: skip
    """What `train` with exact SGD computes, in one process: each step the mean of the `world` slices'
    in-batch softmax losses, one SGD step on it. Trains `model` in place."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        slices = zip(*(t.chunk(world) for t in batches(gen, batch_size)), strict=True)
        opt.zero_grad()
        loss = sum(model(*s) for s in slices) / world
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
