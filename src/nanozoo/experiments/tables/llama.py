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
