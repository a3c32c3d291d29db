"""The embedding tables of the recommender's models, behind one module, so that a model runs on plain torch
or on TorchRec (sharded tables) without a change.

A model declares its tables, one a feature (`{"item_id": n_items, "item_tags": n_tags, ...}`), and looks up
padded bags of ids: row b of feature f is a (L,) array of ids, padded with id `rows(f)`; the result is each
bag's mean embedding, (B, C), and an empty bag's is zero.

- `Tables` (the default): one `nn.EmbeddingBag(rows + 1, C, mode="mean", padding_idx=rows)` a feature; the
  padding row is excluded from the mean and never trained.
- `TorchRecTables`: one TorchRec `EmbeddingBagCollection` (a table a feature, mean pooling) fed a
  `KeyedJaggedTensor` made from the padded bags (the padding dropped). `DistributedModelParallel` shards
  it across processes (sharded.py); the two are tested equal with the same weights.
"""

from __future__ import annotations

import torch
from torch import nn


class Tables(nn.Module):
    """`sparse=True`: the tables' gradients are sparse (the rows a batch touched), for an optimizer that
    updates those rows only (torch.optim.SparseAdam): a step then costs the batch, not the table's size
    (benchmarks/bench_recsys_scale.py measures both)."""

    def __init__(self, features: dict[str, int], n_embd: int, sparse: bool = False):
        super().__init__()
        self.rows = dict(features)
        self.bags = nn.ModuleDict(  # N(0, 1) like nn.Embedding; the padding row 0
            {f: nn.EmbeddingBag(n + 1, n_embd, mode="mean", padding_idx=n, sparse=sparse)
             for f, n in features.items()}
        )  # fmt: skip

    def forward(self, bags: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{feature: (B, L) padded ids} -> {feature: (B, C) mean embeddings}."""
        return {f: self.bags[f](ids) for f, ids in bags.items()}

    def weight(self, feature: str) -> torch.Tensor:
        """(rows, C) the table of `feature` without its padding row."""
        return self.bags[feature].weight[:-1]


def jagged(bags: dict[str, torch.Tensor], rows: dict[str, int]):
    """The TorchRec input of padded bags: a KeyedJaggedTensor, keys in `bags` order, pads dropped."""
    from torchrec.sparse.jagged_tensor import KeyedJaggedTensor

    keep = {f: ids != rows[f] for f, ids in bags.items()}
    values = torch.cat([ids[keep[f]] for f, ids in bags.items()])
    lengths = torch.cat([keep[f].sum(1) for f in bags])
    return KeyedJaggedTensor.from_lengths_sync(list(bags), values, lengths.to(torch.int32))


class TorchRecTables(nn.Module):
    def __init__(self, features: dict[str, int], n_embd: int, device: str | torch.device = "cpu"):
        super().__init__()
        from torchrec import EmbeddingBagCollection, EmbeddingBagConfig, PoolingType

        self.rows = dict(features)
        self.ebc = EmbeddingBagCollection(
            tables=[
                EmbeddingBagConfig(name=f, embedding_dim=n_embd, num_embeddings=n, feature_names=[f],
                                   pooling=PoolingType.MEAN)
                for f, n in features.items()
            ],
            device=torch.device(device),
        )  # fmt: skip

    def forward(self, bags: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.ebc(jagged(bags, self.rows)).to_dict()
