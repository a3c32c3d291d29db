"""BERT: a bidirectional transformer encoder, pretrained by masked language modelling and next-sentence
prediction, fine-tuned by a head on top.

Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding";
reference implementations google-research/bert `modeling.py` and HF transformers `modeling_bert.py`.
Token + learned position + segment embeddings, summed and LayerNormed; post-LayerNorm blocks (the paper's
`LN(x + Sublayer(x))`, where GPT-2 normalises before) of bidirectional self-attention, whose padding mask
hides the [PAD] keys, and a GELU MLP; a pooler (tanh of a linear map of the [CLS] vector). Heads: the
masked-LM head (dense, GELU, LayerNorm, a decoder tied to the token embedding plus a bias), next-sentence
prediction on the pooled vector, sequence classification (pooled) and token classification (every token).

The MLP is GPT's (`models/gpt.py`, with the exact GELU of BERT). Our parameter names are short
(`h.0.attn.q`, `h.0.ln_1`); `hf_name` maps each onto HF's (`encoder.layer.0.attention.self.query`), so
loading an HF folder (`BertModel`, `BertForPreTraining`, ...; e.g. all-MiniLM-L6-v2) is a loop.
Differences from HF: one dropout rate for hidden states and attention probabilities; the MLP is 4 x n_embd
wide (true of BERT-base/large and MiniLM; another `intermediate_size` is refused on load).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import CheckpointError, save_tensors, save_weights
from nanozoo.models.gpt import MLP

log = logging.getLogger(__name__)


@dataclass
class BertConfig:
    vocab_size: int = 30522
    block_size: int = 512  # longest input (max_position_embeddings)
    type_vocab_size: int = 2  # segments A and B
    n_layer: int = 6
    n_head: int = 12
    n_embd: int = 384
    dropout: float = 0.1
    activation: Literal["gelu", "gelu_new"] = "gelu"  # BERT's exact GELU; gelu_new is the tanh one
    layer_norm_epsilon: float = 1e-12
    n_labels: int = 2  # classes of the classification heads
    pad_id: int = 0

    def __post_init__(self):
        for name in (
            "vocab_size",
            "block_size",
            "type_vocab_size",
            "n_layer",
            "n_head",
            "n_embd",
            "n_labels",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.n_embd % self.n_head:
            raise ValueError(f"model.n_embd={self.n_embd} is not divisible by model.n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout={self.dropout} must be in [0, 1)")
        if self.activation not in ("gelu", "gelu_new"):
            raise ValueError(f"model.activation={self.activation!r}; expected 'gelu' or 'gelu_new'")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def bias(self) -> bool:  # what gpt.MLP reads: BERT has biases everywhere
        return True


# ---------------------------------------------------------------------------------------------------
# Small pure functions


def pad_batch(seqs: list[list[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists of any lengths -> ids (B, T) right-padded with pad_id, and the mask (B, T): 1 = real."""
    T = max(len(s) for s in seqs)
    idx = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        idx[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return idx, mask


def mean_pool(x: torch.Tensor, mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Sentence embeddings as sentence-transformers makes them: the mean of the real tokens' vectors
    (B, T, C) -> (B, C), then L2-normalised (all-MiniLM-L6-v2's Normalize module)."""
    m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    emb = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, C)
    return F.normalize(emb, p=2, dim=1) if normalize else emb


# ---------------------------------------------------------------------------------------------------
# Blocks


class SelfAttention(nn.Module):
    """Bidirectional multi-head attention: every token sees every real token, none sees [PAD]."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.q = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.k = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.v = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x (B, T, C); keep (B, 1, 1, T) bool: True where the key is a real token."""
        B, T, C = x.shape
        H = self.n_head
        q = self.q(x).view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        k = self.k(x).view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        v = self.v(x).view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        ### BEGIN SOLUTION
        # softmax(q k^T / sqrt(D), with -inf at padded keys) v; no causal mask: BERT reads both ways
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=keep, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, T, D)
        ### END SOLUTION
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.attn = SelfAttention(cfg)
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)  # GPT's: Linear(C, 4C), GELU, Linear(4C, C), dropout
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.ln_1(x + self.attn(x, keep))  # post-LN: normalise after the residual sum
        return self.ln_2(x + self.mlp(x))
        ### END SOLUTION


class MLMHead(nn.Module):
    """Hidden states (B, T, C) -> vocabulary logits (B, T, V); the decoder is the token embedding."""

    def __init__(self, cfg: BertConfig, wte: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.approximate = "tanh" if cfg.activation == "gelu_new" else "none"
        self.ln = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.decoder = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.decoder.weight = wte.weight  # tied (Press & Wolf 2017), as in GPT
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.ln(F.gelu(self.dense(x), approximate=self.approximate))) + self.bias


# ---------------------------------------------------------------------------------------------------
# The encoder


class _Pretrained(nn.Module):
    """What every BERT model shares: BERT's init, and HF folders in and out (`from_pretrained` below)."""

    HF_ARCH = "BertModel"

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def save(self, path: str | Path, step: int = 0) -> None:
        save_weights(self, path, step)

    def save_pretrained(self, path: str | Path, labels: list[str] | None = None) -> None:
        save_pretrained(self, path, labels)

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides):
        return from_pretrained(cls, path, **overrides)


class Bert(_Pretrained):
    """The encoder: ids (B, T) [+ segments, padding mask] -> hidden states (B, T, C); `pool` -> (B, C)."""

    def __init__(self, cfg: BertConfig, pooler: bool = True):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.wtt = nn.Embedding(cfg.type_vocab_size, cfg.n_embd)  # segment (token type) A / B
        self.ln_e = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.pooler = nn.Linear(cfg.n_embd, cfg.n_embd) if pooler else None
        self.apply(self._init_weights)

    def forward(
        self, idx: torch.Tensor, segments: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """idx (B, T); segments (B, T) 0/1, default all 0; mask (B, T) 1 = real token, default all 1."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} is longer than block_size={self.config.block_size}")
        segments = torch.zeros_like(idx) if segments is None else segments
        keep = (torch.ones_like(idx) if mask is None else mask).bool()[:, None, None, :]  # (B, 1, 1, T)
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.ln_e(self.wte(idx) + self.wpe(pos) + self.wtt(segments)))  # (B, T, C)
        for block in self.h:
            x = block(x, keep)
        return x

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The [CLS] vector through the pooler: (B, T, C) -> (B, C)."""
        return torch.tanh(self.pooler(x[:, 0]))


def _ce(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy over the labels that are not -100 (HF's ignore index), or None."""
    if labels is None:
        return None
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)


# ---------------------------------------------------------------------------------------------------
# The heads: each forward(idx, segments, mask, labels...) returns (logits, loss); loss None without labels


class BertForPreTraining(_Pretrained):
    """Masked-LM and next-sentence heads; the loss is their sum, as in the paper."""

    HF_ARCH = "BertForPreTraining"

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.config = cfg
        self.bert = Bert(cfg)
        self.mlm = MLMHead(cfg, self.bert.wte)
        self.nsp = nn.Linear(cfg.n_embd, 2)  # IsNext = 0, NotNext = 1 (HF's order)
        self.apply(self._init_weights)

    def forward(self, idx, segments=None, mask=None, mlm_labels=None, nsp_labels=None, masked_only=False):
        """-> ((mlm logits (B, T, V), nsp logits (B, 2)), loss). mlm_labels (B, T): the original ids at the
        masked positions, -100 elsewhere; nsp_labels (B,): 0 IsNext, 1 NotNext.

        masked_only: run the MLM head only at the masked positions, as Google's `run_pretraining.py` does
        (it gathers them), so the widest matrix, the decoder, costs 15% of its full price; the mlm logits
        are then (M, V), one row per masked position in row-major order."""
        x = self.bert(idx, segments, mask)  # (B, T, C)
        nsp = self.nsp(self.bert.pool(x))  # (B, 2)
        ### BEGIN SOLUTION
        if masked_only and mlm_labels is not None:
            scored = mlm_labels != -100  # (B, T)
            x, mlm_labels = x[scored], mlm_labels[scored]  # (M, C), (M,)
        mlm = self.mlm(x)  # (B, T, V) or (M, V)
        # the paper's loss: the mean cross-entropy over the masked positions plus that of IsNext/NotNext
        losses = [loss for loss in (_ce(mlm, mlm_labels), _ce(nsp, nsp_labels)) if loss is not None]
        ### END SOLUTION
        return (mlm, nsp), (sum(losses) if losses else None)


class BertForMaskedLM(_Pretrained):
    HF_ARCH = "BertForMaskedLM"

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.config = cfg
        self.bert = Bert(cfg, pooler=False)
        self.mlm = MLMHead(cfg, self.bert.wte)
        self.apply(self._init_weights)

    def forward(self, idx, segments=None, mask=None, labels=None):
        logits = self.mlm(self.bert(idx, segments, mask))  # (B, T, V)
        return logits, _ce(logits, labels)


class BertForSequenceClassification(_Pretrained):
    """One label per input, from the pooled [CLS] vector."""

    HF_ARCH = "BertForSequenceClassification"
    per_token = False

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.config = cfg
        self.bert = Bert(cfg, pooler=not self.per_token)
        self.drop = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.n_embd, cfg.n_labels)
        self.apply(self._init_weights)

    def forward(self, idx, segments=None, mask=None, labels=None):
        x = self.bert(idx, segments, mask)  # (B, T, C)
        x = x if self.per_token else self.bert.pool(x)  # (B, T, C) or (B, C)
        logits = self.classifier(self.drop(x))  # (B, T, K) or (B, K)
        return logits, _ce(logits, labels)


class BertForTokenClassification(BertForSequenceClassification):
    """One label per token (NER), from every hidden state (no pooler); labels -100 (padding, the later
    word pieces of a word) are not scored."""

    HF_ARCH = "BertForTokenClassification"
    per_token = True


# ---------------------------------------------------------------------------------------------------
# HF transformers BERT format: config.json + model.safetensors

_HF_NAMES = [  # ours -> HF's, applied in order to a parameter name
    (r"^(bert\.)?wte\.", r"\1embeddings.word_embeddings."),
    (r"^(bert\.)?wpe\.", r"\1embeddings.position_embeddings."),
    (r"^(bert\.)?wtt\.", r"\1embeddings.token_type_embeddings."),
    (r"^(bert\.)?ln_e\.", r"\1embeddings.LayerNorm."),
    (r"^(bert\.)?h\.(\d+)\.attn\.q\.", r"\1encoder.layer.\2.attention.self.query."),
    (r"^(bert\.)?h\.(\d+)\.attn\.k\.", r"\1encoder.layer.\2.attention.self.key."),
    (r"^(bert\.)?h\.(\d+)\.attn\.v\.", r"\1encoder.layer.\2.attention.self.value."),
    (r"^(bert\.)?h\.(\d+)\.attn\.c_proj\.", r"\1encoder.layer.\2.attention.output.dense."),
    (r"^(bert\.)?h\.(\d+)\.ln_1\.", r"\1encoder.layer.\2.attention.output.LayerNorm."),
    (r"^(bert\.)?h\.(\d+)\.mlp\.c_fc\.", r"\1encoder.layer.\2.intermediate.dense."),
    (r"^(bert\.)?h\.(\d+)\.mlp\.c_proj\.", r"\1encoder.layer.\2.output.dense."),
    (r"^(bert\.)?h\.(\d+)\.ln_2\.", r"\1encoder.layer.\2.output.LayerNorm."),
    (r"^(bert\.)?pooler\.", r"\1pooler.dense."),
    (r"^mlm\.dense\.", "cls.predictions.transform.dense."),
    (r"^mlm\.ln\.", "cls.predictions.transform.LayerNorm."),
    (r"^mlm\.bias$", "cls.predictions.bias"),
    (r"^mlm\.decoder\.", "cls.predictions.decoder."),
    (r"^nsp\.", "cls.seq_relationship."),
]


_TIED = "mlm.decoder.weight"  # = the token embedding: HF writes it once, or twice when asked


def hf_name(name: str) -> str:
    """Our parameter name -> HF's: `h.0.attn.q.weight` -> `encoder.layer.0.attention.self.query.weight`."""
    for pattern, repl in _HF_NAMES:
        name, n = re.subn(pattern, repl, name)
        if n:
            return name
    return name  # classifier.weight / .bias are the same


def _hf_config(cfg: BertConfig, arch: str, labels: list[str] | None) -> dict:
    labels = labels or [f"LABEL_{i}" for i in range(cfg.n_labels)]
    return {
        "model_type": "bert",
        "architectures": [arch],
        "vocab_size": cfg.vocab_size,
        "max_position_embeddings": cfg.block_size,
        "type_vocab_size": cfg.type_vocab_size,
        "num_hidden_layers": cfg.n_layer,
        "num_attention_heads": cfg.n_head,
        "hidden_size": cfg.n_embd,
        "intermediate_size": 4 * cfg.n_embd,
        "hidden_act": cfg.activation,
        "hidden_dropout_prob": cfg.dropout,
        "attention_probs_dropout_prob": cfg.dropout,
        "layer_norm_eps": cfg.layer_norm_epsilon,
        "pad_token_id": cfg.pad_id,
        "id2label": {str(i): t for i, t in enumerate(labels)},
        "label2id": {t: i for i, t in enumerate(labels)},
        "tie_word_embeddings": True,
    }


def save_pretrained(model: _Pretrained, path: str | Path, labels: list[str] | None = None) -> None:
    """Write a folder that HF's class of the same name (`transformers.<model.HF_ARCH>`) loads."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    atomic_write(path / "config.json", json.dumps(_hf_config(model.config, model.HF_ARCH, labels), indent=2))
    sd = {hf_name(k): v for k, v in model.state_dict().items() if k != _TIED}
    save_tensors(sd, path / "model.safetensors", metadata={"format": "pt"})


def read_hf_config(path: Path, **overrides) -> BertConfig:
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise CheckpointError(f"{path} is not an HF BERT folder (needs config.json and model.safetensors)")
    hf = json.loads((path / "config.json").read_text())
    if hf.get("model_type", "bert") != "bert":
        raise CheckpointError(f"{path} holds a {hf['model_type']!r} model, not bert")
    if hf["intermediate_size"] != 4 * hf["hidden_size"]:
        raise CheckpointError(f"{path}: intermediate_size={hf['intermediate_size']} is not 4 * hidden_size")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"{path}: position_embedding_type={hf['position_embedding_type']!r} is not supported"
        )
    act = {"gelu": "gelu", "gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new"}.get(hf.get("hidden_act"))
    if act is None:
        raise CheckpointError(
            f"{path}: hidden_act={hf.get('hidden_act')!r} is not supported (gelu, gelu_new)"
        )
    fields = dict(
        vocab_size=hf["vocab_size"],
        block_size=hf["max_position_embeddings"],
        type_vocab_size=hf.get("type_vocab_size", 2),
        n_layer=hf["num_hidden_layers"],
        n_head=hf["num_attention_heads"],
        n_embd=hf["hidden_size"],
        dropout=hf.get("hidden_dropout_prob", 0.1),
        activation=act,
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
        n_labels=len(hf.get("id2label") or {0: 0, 1: 1}),
        pad_id=hf.get("pad_token_id") or 0,
    )
    return BertConfig(**{**fields, **overrides})


def from_pretrained(cls: type[_Pretrained], path: str | Path, **overrides) -> _Pretrained:
    """Load an HF BERT folder into `cls`. The encoder must be all there; a head the checkpoint lacks keeps
    its fresh init (MiniLM, a BertModel, has no classifier), and the heads of other tasks are left out."""
    from safetensors.torch import load_file

    path = Path(path)
    model = cls(read_hf_config(path, **overrides))
    sd = load_file(str(path / "model.safetensors"))
    # a BertModel is saved without the "bert." prefix; our encoder alone has none either
    prefix = "" if cls is Bert else "bert."
    sd = {re.sub(r"^(bert\.)?(?=embeddings\.|encoder\.|pooler\.)", prefix, k): v for k, v in sd.items()}
    ours = {hf_name(k): t for k, t in model.state_dict().items() if k != _TIED}
    encoder = {k for k in ours if re.match(r"^(bert\.)?(embeddings|encoder)\.", k)}
    missing = encoder - set(sd)
    ignored = (
        "position_ids",
        "cls.predictions.decoder.",
        "cls.",
        "pooler.",
        "classifier.",
    )  # tied / other heads
    unexpected = {k for k in set(sd) - set(ours) if not any(s in k for s in ignored)}
    if missing or unexpected:
        raise CheckpointError(f"{path}: missing {sorted(missing)[:4]}, unexpected {sorted(unexpected)[:4]}")
    fresh = sorted(set(ours) - set(sd))
    if fresh:
        log.info("%s: %d tensors not in the checkpoint keep their init: %s", path, len(fresh), fresh[:4])
    with torch.no_grad():
        for k, t in ours.items():  # loading is a loop
            if k in sd:
                if t.shape != sd[k].shape:
                    raise CheckpointError(
                        f"{path}: {k} has shape {tuple(sd[k].shape)}, expected {tuple(t.shape)}"
                    )
                t.copy_(sd[k])
    return model


__all__ = [
    "Bert",
    "BertConfig",
    "BertForMaskedLM",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "hf_name",
    "mean_pool",
    "pad_batch",
    "read_hf_config",
]
