"""GPT on Tiny Shakespeare: characters, our BPE, GPT-2 small (code: experiments/shakespeare.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.shakespeare", sampler="sample_text")

EXPERIMENTS = [
    _exp(
        name="shakespeare-char",
        summary="6-layer char GPT (10.7M params) on Tiny Shakespeare, nanoGPT's published config (GPU-sized)",
        config="published",
        reference=Reference("val_loss", 1.4697, "nanoGPT README, shakespeare_char on one A100, ~3 min"),
    ),
    _exp(
        name="shakespeare-char-cpu",
        summary="4-layer char GPT on Tiny Shakespeare sized for ~2 minutes on 2 CPU cores (make demo)",
        config="cpu",
        reference=Reference(
            "val_loss", 1.88, "nanoGPT README CPU recipe (4x4x128, ctx 64, batch 12, 2000 iters)"
        ),
    ),
    _exp(
        name="shakespeare-char-speedrun",
        summary="shakespeare-char-cpu with Muon, RoPE, QK-norm, ReLU^2, untied head: 1,350 steps in 120 s",
        config="speedrun",
        reference=Reference(
            "val_loss", 1.60, "issue 10's goal: <= 1.60 in 120 s on 2 CPU cores (measured 1.545, Xeon)"
        ),
    ),
    _exp(
        name="shakespeare-bpe",
        summary="4-layer GPT on our 1024-token BPE of Tiny Shakespeare (saved with the run)",
        config="bpe",
    ),
    _exp(
        name="shakespeare-bpe-2048",
        summary="4-layer GPT on our 2048-token BPE of Tiny Shakespeare (shakespeare-bpe, 2048 tokens)",
        config="bpe_2048",
    ),
    _exp(
        name="gpt2-124m",
        summary="GPT-2 small (124M) on Tiny Shakespeare with GPT-2's tokenizer (GPU-sized)",
        config="gpt2_124m",
    ),
]
