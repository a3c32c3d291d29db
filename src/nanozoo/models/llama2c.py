"""llama2.c's checkpoint format (karpathy/llama2.c, the legacy "version 0" `.bin` that `run.c` reads), both
ways: `export(model, path)` writes our Llama so that `run.c` runs it, `load(path)` reads one back.

The file is a header of seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
a negative vocab_size says the output head is a matrix of its own, not the token embedding), then every
weight as fp32 in this order, each stacked over the layers: token embedding, attention RMSNorm, wq, wk, wv,
wo, MLP RMSNorm, w1 (gate), w2 (down), w3 (up), final RMSNorm, two RoPE tables `run.c` skips (cos, sin:
seq_len x head_size/2 each), and the output head when it is not shared. A matrix is stored (out, in), as
torch's Linear holds it. `run.c` rotates channel pairs (2i, 2i+1) (Meta's order) where our weights follow
HF's rotate-half order, so wq and wk are unpermuted on the way out and permuted on the way in.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from nanozoo.core.atomic import atomic_path
from nanozoo.core.checkpoint import CheckpointError
from nanozoo.models.llama import Llama, LlamaConfig, permute_qk, unpermute_qk
from nanozoo.models.positions import rope_angles

HEADER = struct.Struct("<7i")


def _layers(model: Llama, name: str) -> list[torch.Tensor]:
    return [dict(layer.named_parameters())[name] for layer in model.model.layers]


def export(model: Llama, path: str | Path) -> Path:
    """Write `model` as a llama2.c legacy checkpoint (atomically)."""
    cfg = model.config
    if cfg.rope_theta != 10000.0 or cfg.rope_scaling != "none" or cfg.norm_eps != 1e-5:
        raise CheckpointError(
            "run.c fixes rope_theta=10000, no rope scaling and norm_eps=1e-5; this model has "
            f"rope_theta={cfg.rope_theta}, rope_scaling={cfg.rope_scaling!r}, norm_eps={cfg.norm_eps}"
        )
    vocab = cfg.vocab_size if cfg.tie_embeddings else -cfg.vocab_size
    header = HEADER.pack(
        cfg.n_embd, cfg.ffn_dim, cfg.n_layer, cfg.n_head, cfg.n_kv_head, vocab, cfg.block_size
    )
    D = cfg.head_dim  # run.c recomputes the RoPE tables; they are written for older readers
    cos, sin = (t[:, : D // 2] for t in rope_angles(torch.arange(cfg.block_size), D))  # (seq_len, D/2)
    m = model.model
    tensors = [
        m.embed_tokens.weight,
        *_layers(model, "input_layernorm.weight"),
        *(unpermute_qk(w, cfg.n_head) for w in _layers(model, "self_attn.q_proj.weight")),
        *(unpermute_qk(w, cfg.n_kv_head) for w in _layers(model, "self_attn.k_proj.weight")),
        *_layers(model, "self_attn.v_proj.weight"),
        *_layers(model, "self_attn.o_proj.weight"),
        *_layers(model, "post_attention_layernorm.weight"),
        *_layers(model, "mlp.gate_proj.weight"),
        *_layers(model, "mlp.down_proj.weight"),
        *_layers(model, "mlp.up_proj.weight"),
        m.norm.weight,
        cos,
        sin,
        *([] if cfg.tie_embeddings else [model.lm_head.weight]),
    ]
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header)
        for t in tensors:
            f.write(t.detach().float().contiguous().numpy().tobytes())
    return path


def load(path: str | Path) -> Llama:
    """A llama2.c legacy checkpoint as our Llama (rope_theta 10000, norm_eps 1e-5, as run.c computes)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < HEADER.size:
        raise CheckpointError(f"{path} is too short for a llama2.c checkpoint ({len(data)} bytes)")
    dim, hidden, n_layer, n_head, n_kv_head, vocab, seq_len = HEADER.unpack_from(data)
    if min(dim, hidden, n_layer, n_head, n_kv_head, seq_len) < 1 or vocab == 0 or dim % n_head:
        raise CheckpointError(f"{path}: the header {HEADER.unpack_from(data)} is not a llama2.c model's")
    cfg = LlamaConfig(
        vocab_size=abs(vocab), block_size=seq_len, n_layer=n_layer, n_head=n_head, n_kv_head=n_kv_head,
        n_embd=dim, hidden_dim=hidden, tie_embeddings=vocab > 0,
    )  # fmt: skip
    D = dim // n_head
    kv = n_kv_head * D
    shapes = [("embed", (abs(vocab), dim))] + [
        (name, (n_layer, *shape))
        for name, shape in [
            ("rms_att", (dim,)), ("wq", (dim, dim)), ("wk", (kv, dim)), ("wv", (kv, dim)), ("wo", (dim, dim)),
            ("rms_ffn", (dim,)), ("w1", (hidden, dim)), ("w2", (dim, hidden)), ("w3", (hidden, dim)),
        ]
    ]  # fmt: skip
    shapes += [("rms_final", (dim,)), ("freqs", (2, seq_len, D // 2))]
    if vocab < 0:
        shapes.append(("wcls", (-vocab, dim)))
    need = HEADER.size + 4 * sum(int(np.prod(s)) for _, s in shapes)
    if len(data) != need:
        raise CheckpointError(f"{path} holds {len(data)} bytes; a llama2.c model with this header has {need}")
    flat = np.frombuffer(data, dtype="<f4", offset=HEADER.size)
    w, i = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        w[name] = torch.from_numpy(flat[i : i + n].copy()).view(shape)
        i += n
    sd = {"model.embed_tokens.weight": w["embed"], "model.norm.weight": w["rms_final"]}
    for li in range(n_layer):
        p = f"model.layers.{li}."
        sd |= {
            p + "input_layernorm.weight": w["rms_att"][li],
            p + "self_attn.q_proj.weight": permute_qk(w["wq"][li], n_head),
            p + "self_attn.k_proj.weight": permute_qk(w["wk"][li], n_kv_head),
            p + "self_attn.v_proj.weight": w["wv"][li],
            p + "self_attn.o_proj.weight": w["wo"][li],
            p + "post_attention_layernorm.weight": w["rms_ffn"][li],
            p + "mlp.gate_proj.weight": w["w1"][li],
            p + "mlp.down_proj.weight": w["w2"][li],
            p + "mlp.up_proj.weight": w["w3"][li],
        }
    if vocab < 0:
        sd["lm_head.weight"] = w["wcls"]
    model = Llama(cfg)
    model.load_matching(sd, str(path))
    return model


__all__ = ["export", "load"]
