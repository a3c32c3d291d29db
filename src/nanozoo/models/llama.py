"""Llama 2: the modern decoder, and every piece in which it differs from GPT-2.

Touvron et al. 2023, "Llama 2: Open Foundation and Fine-Tuned Chat Models"; references Meta's `model.py`,
karpathy/llama2.c `model.py` and HF transformers `modeling_llama.py`. Against models/gpt.py:
- RMSNorm (Zhang & Sennrich 2019) instead of LayerNorm: rescale by the root mean square, no mean, no bias;
- rotary positions (models/positions.py) on queries and keys instead of learned absolute positions;
- a SwiGLU MLP (Shazeer 2020): `down(silu(gate(x)) * up(x))`, hidden size 2/3 of 4x rounded up;
- grouped-query attention (Ainslie et al. 2023): `n_kv_head` key/value heads shared by groups of query
  heads (n_kv_head == n_head is multi-head attention, 1 is multi-query), so the KV cache is smaller;
- no biases anywhere, and an output head of its own (tied to the embedding as an option).

Parameter names are HF's (`model.layers.0.self_attn.q_proj.weight` ...), so an HF checkpoint loads in a
loop. HF stores q/k in the "rotate half" channel order; Meta's and llama2.c's checkpoints pair channels
(2i, 2i+1) instead ("interleaved"). `permute_qk` converts a Meta q/k weight to HF's order, and
`rope_interleaved` is the same rotation in Meta's order: the test checks the two agree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.core.atomic import atomic_write
from nanozoo.core.checkpoint import CheckpointError, save_tensors, save_weights
from nanozoo.models.gpt import KVCache, attention_inputs, flops_per_token, manual_attention, sdpa_attention
from nanozoo.models.positions import rope_angles, rotate
from nanozoo.models.sampling import next_tokens


@dataclass
class LlamaConfig:
    vocab_size: int = 32000
    block_size: int = 256  # longest context (max_position_embeddings)
    n_layer: int = 6
    n_head: int = 6
    n_kv_head: int | None = None  # key/value heads; None: n_head (multi-head attention)
    n_embd: int = 288
    hidden_dim: int | None = None  # the MLP's width; None: Llama's rule from n_embd and multiple_of
    multiple_of: int = 32  # llama2.c's small models; Meta's 7B uses 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    # longer contexts than trained for: "linear" divides positions by rope_factor (Chen et al. 2023);
    # "ntk" raises the base so the lowest frequency stretches by rope_factor and the highest stays
    rope_scaling: Literal["none", "linear", "ntk"] = "none"
    rope_factor: float = 1.0
    tie_embeddings: bool = False
    dropout: float = 0.0
    attn_impl: Literal["sdpa", "manual"] = "sdpa"

    def __post_init__(self):
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_kv_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name}={getattr(self, name)} must be >= 1")
        if self.n_embd % self.n_head or self.head_dim % 2:
            raise ValueError(
                f"model.n_embd={self.n_embd} must split into n_head={self.n_head} even-sized heads"
            )
        if self.n_head % self.n_kv_head:
            raise ValueError(f"model.n_head={self.n_head} is not a multiple of n_kv_head={self.n_kv_head}")
        if self.rope_scaling not in ("none", "linear", "ntk") or self.rope_factor < 1:
            raise ValueError(
                f"model.rope_scaling={self.rope_scaling!r} x{self.rope_factor}: none|linear|ntk, >= 1"
            )
        if self.attn_impl not in ("sdpa", "manual"):
            raise ValueError(f"model.attn_impl={self.attn_impl!r}; expected 'sdpa' or 'manual'")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def ffn_dim(self) -> int:
        """Llama's MLP width: 2/3 of 4 * n_embd (SwiGLU has three matrices, not two, for the same
        parameters), rounded up to a multiple of `multiple_of`: 4096 -> 11008, 288 -> 768."""
        if self.hidden_dim is not None:
            return self.hidden_dim
        hidden = int(2 * 4 * self.n_embd / 3)
        return self.multiple_of * math.ceil(hidden / self.multiple_of)


# ---------------------------------------------------------------------------------------------------
# The pieces that differ from GPT-2


class RMSNorm(nn.Module):
    """`x / sqrt(mean(x^2) + eps) * weight`, computed in fp32 (as HF and Meta do)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        ### END SOLUTION
        return self.weight * h.to(x.dtype)


def rope_interleaved(x: torch.Tensor, pos: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """RoPE in Meta's and llama2.c's channel order: pairs (2i, 2i+1) turn by `pos * base^(-2i/D)`, as
    complex numbers `(x_2i + j x_2i+1) * e^(j angle)`. The same rotation as `positions.rope` once the
    channels are reordered by `permute_qk`."""
    D = x.size(-1)
    cos, sin = (t[..., : D // 2] for t in rope_angles(pos, D, base))  # (T, D/2) or (B, T, D/2): one per pair
    if pos.dim() == 2:
        cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, D/2)
    z = torch.view_as_complex(x.float().reshape(*x.shape[:-1], D // 2, 2))
    return torch.view_as_real(z * torch.complex(cos, sin)).flatten(-2).to(x.dtype)


def permute_qk(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """A q or k projection weight (n_head * D, C) from Meta's interleaved order to HF's rotate-half order
    (HF's `convert_llama_weights_to_hf.py`): within each head, channels 0,2,4,.. then 1,3,5,.."""
    out, C = w.shape
    return w.view(n_head, out // n_head // 2, 2, C).transpose(1, 2).reshape(out, C)


def unpermute_qk(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """The inverse of `permute_qk`: HF's order back to Meta's."""
    out, C = w.shape
    return w.view(n_head, 2, out // n_head // 2, C).transpose(1, 2).reshape(out, C)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.head_dim
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_head * D, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * D, bias=False)
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * D, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * D, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, angles, bias, kv=None, t0: int = 0) -> torch.Tensor:
        """As GPT's attention: x (B, T, C) whose positions' RoPE `angles` (cos, sin) the model computed
        once for all layers; `kv` this layer's cache buffers."""
        cfg = self.cfg
        B, T, _ = x.shape
        H, Hkv, D = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        q, k = rotate(q, *angles), rotate(k, *angles)
        if kv is not None:  # the cache holds the Hkv heads: GQA's saving
            kv[0][:, :, t0 : t0 + T], kv[1][:, :, t0 : t0 + T] = k, v
            k, v = kv[0][:, :, : t0 + T], kv[1][:, :, : t0 + T]
        if H != Hkv:
            ### BEGIN SOLUTION
            k = k.repeat_interleave(H // Hkv, dim=1)  # (B, H, L, D): each kv head serves H/Hkv query heads
            v = v.repeat_interleave(H // Hkv, dim=1)
            ### END SOLUTION
        p = cfg.dropout if self.training else 0.0
        if cfg.attn_impl == "manual":
            y = manual_attention(q, k, v, bias, p)
        else:
            y = sdpa_attention(q, k, v, bias, p)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, H * D))


def scaled_positions(pos: torch.Tensor, cfg: LlamaConfig) -> tuple[torch.Tensor, float]:
    """Positions and RoPE base after rope scaling: linear interpolation divides the positions by the
    factor; NTK-aware scaling keeps them and raises the base to `base * factor^(D / (D - 2))`, which
    stretches the lowest frequency's wavelength by the factor and leaves the highest alone."""
    if cfg.rope_scaling == "linear":
        return pos.float() / cfg.rope_factor, cfg.rope_theta
    if cfg.rope_scaling == "ntk":
        D = cfg.head_dim
        return pos, cfg.rope_theta * cfg.rope_factor ** (D / (D - 2))
    return pos, cfg.rope_theta


class MLP(nn.Module):
    """SwiGLU: `down(silu(gate(x)) * up(x))`."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.ffn_dim, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.ffn_dim, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_dim, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        ### END SOLUTION


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, angles, bias, kv=None, t0: int = 0) -> torch.Tensor:
        x = x + self.drop(self.self_attn(self.input_layernorm(x), angles, bias, kv, t0))
        return x + self.drop(self.mlp(self.post_attention_layernorm(x)))


# ---------------------------------------------------------------------------------------------------
# The model


class Llama(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.model = nn.ModuleDict(
            dict(
                embed_tokens=nn.Embedding(cfg.vocab_size, cfg.n_embd),
                layers=nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer)),
                norm=RMSNorm(cfg.n_embd, cfg.norm_eps),
            )
        )
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # residual projections, as llama2.c and GPT-2
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self) -> float:
        """Training FLOPs per token at full context, for MFU (gpt.flops_per_token)."""
        c = self.config
        return flops_per_token(self.num_params(), c.n_layer, c.n_embd, c.block_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, mask=None, cache=None):
        """As `GPT.forward`: logits (B, T, V) and the loss with targets, else the last position's (B, 1, V);
        `mask` (B, T) False at left padding; `cache` a KVCache (`new_cache`)."""
        x = self.hidden(idx, mask, cache)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def logits(self, idx: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """All positions' logits (B, T, V), for parity tests and scoring."""
        return self.lm_head(self.hidden(idx, mask))

    def hidden(self, idx: torch.Tensor, mask=None, cache: KVCache | None = None) -> torch.Tensor:
        t0 = cache.n if cache is not None else 0
        pos, bias = attention_inputs(idx, mask, cache)
        pos, base = scaled_positions(pos, self.config)
        angles = rope_angles(pos, self.config.head_dim, base)  # one (cos, sin) for every layer
        x = self.model.embed_tokens(idx)
        for i, block in enumerate(self.model.layers):
            x = block(x, angles, bias, None if cache is None else cache.layers[i], t0)
        if cache is not None:
            cache.n += idx.size(1)
        return self.model.norm(x)

    def new_cache(self, B: int, length: int | None = None) -> KVCache:
        """A preallocated KV cache for B rows of up to `length` tokens: n_kv_head heads, not n_head."""
        c, p = self.config, self.model.embed_tokens.weight  # (a quantized head has no plain weight)
        return KVCache(c.n_layer, B, c.n_kv_head, length or c.block_size, c.head_dim, p.device, p.dtype)

    @torch.no_grad()
    def stream(self, idx: torch.Tensor, max_new_tokens: int, **kw) -> Iterator[torch.Tensor]:
        """Yield (B,) next tokens one at a time after `idx` (B, T). `kw`: temperature, top_k, top_p,
        repetition_penalty, stop (a token id or a list of token-id sequences), generator, mask, use_cache
        (as `sampling.next_tokens`)."""
        yield from next_tokens(self, idx, max_new_tokens, **kw)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, **kw) -> torch.Tensor:
        """`idx` (B, T) followed by the sampled tokens; `kw` as `stream`."""
        new = list(self.stream(idx, max_new_tokens, **kw))
        return torch.cat([idx, torch.stack(new, dim=1)], dim=1) if new else idx

    def save(self, path: str | Path, step: int = 0) -> None:
        save_weights(self, path, step)

    # -----------------------------------------------------------------------------------------------
    # HF transformers Llama format: config.json + model.safetensors

    def save_pretrained(self, path: str | Path) -> None:
        """Write a folder that `transformers.LlamaForCausalLM.from_pretrained` loads."""
        cfg = self.config
        if cfg.rope_scaling == "ntk":
            raise ValueError("HF Llama has no static NTK-aware rope scaling: save with rope_scaling='none'")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        rope_parameters = {"rope_type": "default", "rope_theta": cfg.rope_theta}
        if cfg.rope_scaling == "linear":
            rope_parameters |= {"rope_type": "linear", "factor": cfg.rope_factor}
        hf = {
            "model_type": "llama",
            "architectures": ["LlamaForCausalLM"],
            "vocab_size": cfg.vocab_size,
            "hidden_size": cfg.n_embd,
            "intermediate_size": cfg.ffn_dim,
            "num_hidden_layers": cfg.n_layer,
            "num_attention_heads": cfg.n_head,
            "num_key_value_heads": cfg.n_kv_head,
            "max_position_embeddings": cfg.block_size,
            "rms_norm_eps": cfg.norm_eps,
            "rope_parameters": rope_parameters,
            "rope_theta": cfg.rope_theta,
            "tie_word_embeddings": cfg.tie_embeddings,
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
            "bos_token_id": 1,
            "eos_token_id": 2,
        }
        atomic_write(path / "config.json", json.dumps(hf, indent=2))
        sd = {
            k: v for k, v in self.state_dict().items() if not (cfg.tie_embeddings and k == "lm_head.weight")
        }
        save_tensors(sd, path / "model.safetensors", metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> Llama:
        """Load an HF Llama folder (config.json + model.safetensors), e.g. one `save_pretrained` wrote."""
        from safetensors.torch import load_file

        path = Path(path)
        if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
            raise CheckpointError(
                f"{path} is not an HF Llama folder (needs config.json and model.safetensors)"
            )
        hf = json.loads((path / "config.json").read_text())
        if hf.get("model_type") != "llama":
            raise CheckpointError(f"{path} holds a {hf.get('model_type')!r} model, not llama")
        for name, ours in {"hidden_act": "silu", "attention_bias": False, "mlp_bias": False}.items():
            if hf.get(name, ours) != ours:
                raise CheckpointError(
                    f"{path}: {name}={hf[name]!r} is not supported; this Llama has {ours!r}"
                )
        rope_params = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        kind = rope_params.get("rope_type", rope_params.get("type", "default"))
        if kind not in ("default", "linear"):
            raise CheckpointError(f"{path}: rope type {kind!r} is not supported (default or linear)")
        cfg = LlamaConfig(
            vocab_size=hf["vocab_size"],
            block_size=hf.get("max_position_embeddings", 2048),
            n_layer=hf["num_hidden_layers"],
            n_head=hf["num_attention_heads"],
            n_kv_head=hf.get("num_key_value_heads") or hf["num_attention_heads"],
            n_embd=hf["hidden_size"],
            hidden_dim=hf["intermediate_size"],
            norm_eps=hf.get("rms_norm_eps", 1e-6),
            rope_theta=rope_params.get("rope_theta", hf.get("rope_theta", 10000.0)),
            rope_scaling="linear" if kind == "linear" else "none",
            rope_factor=rope_params.get("factor", 1.0) if kind == "linear" else 1.0,
            tie_embeddings=hf.get("tie_word_embeddings", False),
            **overrides,
        )
        if hf.get("head_dim") not in (None, cfg.head_dim):
            raise CheckpointError(
                f"{path}: head_dim={hf['head_dim']} is not hidden_size / num_attention_heads"
            )
        model = cls(cfg)
        model.load_matching(load_file(str(path / "model.safetensors")), str(path))
        return model

    def load_matching(self, sd: dict[str, torch.Tensor], where: str) -> None:
        """Copy a state dict of our names into the model, refusing a missing, extra or misshapen tensor."""
        ours = self.state_dict()
        if self.config.tie_embeddings:
            head = sd.pop("lm_head.weight", None)
            if head is not None and not torch.equal(head, sd["model.embed_tokens.weight"]):
                raise CheckpointError(f"{where}: lm_head.weight differs from the tied embedding")
            ours.pop("lm_head.weight")
        missing, unexpected = set(ours) - set(sd), set(sd) - set(ours)
        if missing or unexpected:
            raise CheckpointError(
                f"{where}: missing {sorted(missing)[:4]}, unexpected {sorted(unexpected)[:4]}"
            )
        with torch.no_grad():
            for k, v in sd.items():
                if ours[k].shape != v.shape:
                    raise CheckpointError(
                        f"{where}: {k} has shape {tuple(v.shape)}, expected {tuple(ours[k].shape)}"
                    )
                ours[k].copy_(v)


def quantize_int8(model: nn.Module) -> nn.Module:
    """A CPU copy of `model` whose `nn.Linear` layers are int8 with dynamic quantization (weights int8 per
    tensor, activations quantized on the fly at each call): a quarter of the weight bytes to read per
    token. The embedding stays fp32. The original is untouched."""
    import copy
    import warnings

    with warnings.catch_warnings():  # NOTE: torch.ao's eager quantization warns that torchao replaces it
        warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8, inplace=True
        )


__all__ = [
    "Llama", "LlamaConfig", "RMSNorm", "permute_qk", "quantize_int8", "rope_interleaved", "unpermute_qk"
]  # fmt: skip
