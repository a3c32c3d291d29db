"""Llama 2 (code: experiments/llama.py): the modern decoder next to the GPT of the same size and budget."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.llama", sampler="sample_text")

EXPERIMENTS = [
    _exp(
        name="shakespeare-llama-cpu",
        summary="4-layer char Llama (RMSNorm, RoPE, SwiGLU, GQA 4/2), shakespeare-char-cpu's size and budget",
        config="cpu",
        reference=Reference(
            "val_loss",
            1.88,
            "nanoGPT README CPU recipe (4x4x128, ctx 64, batch 12, 2000 iters): the GPT figure, the same as "
            "shakespeare-char-cpu's, so that the two rows of `nanozoo list` compare the architectures",
        ),
    ),
]
EXPERIMENTS += [
    _exp(
        name="tinystories-llama-260k",
        summary="llama2.c's stories260K: 5-layer Llama (dim 64, GQA 8/4, ctx 512), 512 SentencePieces",
        module="nanozoo.experiments.tinystories",
        config="stories_260k",
        reference=Reference("val_loss", 1.297, "llama2.c README, stories260K (trained on a GPU)"),
    ),
    _exp(
        name="tinystories-llama-15m",
        summary="llama2.c's stories15M: 6-layer Llama (dim 288, ctx 256) on TinyStories, Llama 2's pieces",
        module="nanozoo.experiments.tinystories",
        config="stories_15m",
        reference=Reference("val_loss", 1.072, "llama2.c README, stories15M (trained on a GPU)"),
    ),
]
