"""The makemore ladder on `names` (code: experiments/makemore.py). Train sections are sized to reach each
published figure on 2 CPU cores (benchmarks/RESULTS.md)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.makemore", sampler="sample_run")
_LECTURES = "Zero to Hero lecture notebook"
_MEASURED = "no published figure; measured here 2026-11-23 (benchmarks/RESULTS.md)"

EXPERIMENTS = [
    _exp(
        name="names-bigram",
        summary="neural bigram: one 27x27 weight matrix, the counts' NLL by gradient descent",
        config="bigram",
        reference=Reference("val_loss", 2.48, f"{_LECTURES} makemore part 1 (~2.48, whole set)"),
    ),
    _exp(
        name="names-mlp",
        summary="Bengio 2003 MLP: context 3, embedding 10, hidden 200 (11,897 params)",
        config="mlp",
        reference=Reference("val_loss", 2.1701, f"{_LECTURES} makemore part 3 (dev, before the init fixes)"),
    ),
    _exp(
        name="names-mlp-bn",
        summary="the MLP with a hand-written BatchNorm (context 3, embedding 10, hidden 200)",
        config="mlp_bn",
        reference=Reference("val_loss", 2.1048, f"{_LECTURES} makemore part 3 (dev, with BatchNorm)"),
    ),
    _exp(
        name="names-backprop",
        summary="MLP + BatchNorm trained by a hand-written backward pass (hidden 200, 12,297 params)",
        config="backprop",
        reference=Reference("val_loss", 2.1099, f"{_LECTURES} makemore part 4 (val)"),
    ),
    _exp(
        name="names-wavenet",
        summary="WaveNet-style hierarchical MLP: context 8, embedding 24, hidden 128 (76,579 params)",
        config="wavenet",
        reference=Reference("val_loss", 1.9937, f"{_LECTURES} makemore part 5 (val)"),
    ),
    _exp(
        name="names-rnn",
        summary="RNN (cell from scratch), makemore's sizes 64/64",
        config="rnn",
        reference=Reference("val_loss", 2.0553, _MEASURED),
    ),
    _exp(
        name="names-gru",
        summary="GRU (cell from scratch), makemore's sizes 64/64",
        config="gru",
        reference=Reference("val_loss", 2.0124, _MEASURED),
    ),
    _exp(
        name="names-lstm",
        summary="LSTM (cell from scratch), makemore's sizes 64/64",
        config="lstm",
        reference=Reference("val_loss", 1.9971, _MEASURED),
    ),
    _exp(
        name="names-bow",
        summary="bag of words: causal averaging + MLP block, makemore's sizes 64/64",
        config="bow",
        reference=Reference("val_loss", 2.1495, _MEASURED),
    ),
    _exp(
        name="names-transformer",
        summary="makemore's default transformer (4 layers, 4 heads, 64 wide) = our GPT",
        config="transformer",
        reference=Reference(
            "test_loss", 1.92, "karpathy/makemore README (default transformer, its 1,000-name test split)"
        ),
    ),
    _exp(
        name="names-bigram-count",
        summary="bigram by counting with add-k smoothing (no training loop)",
        config="bigram_count",
        loop="count_bigram",
        sampler="sample_counts",
        reference=Reference(
            "all_loss",
            2.4544,
            f"{_LECTURES} makemore part 1 (P = (N+1) row-normalised, NLL over all 228,146 bigrams, float32 "
            "sum; its stored 2.4765 output came from a gradient-trained P, not the counts)",
        ),
    ),
]
