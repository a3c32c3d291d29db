"""GPT language models on the Penn Treebank: words and our BPE (code: experiments/ptb.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.ptb")
_ZAREMBA = "Zaremba et al. 2014, medium LSTM (2x650, dropout 0.5, 39 epochs on a GPU; large: 78.4)"

EXPERIMENTS = [
    _exp(
        name="ptb-word",
        summary="4-layer GPT on Penn Treebank words (10k vocabulary), exact test perplexity, 1 thread",
        config="word",
        sampler="sample",
        reference=Reference("test_ppl", 82.7, _ZAREMBA),
    ),
    _exp(
        name="ptb-bpe",
        summary="4-layer GPT on our 2048-token BPE of Penn Treebank; test perplexity per word too",
        config="bpe",
        sampler="sample",
        reference=Reference("test_ppl_word", 82.7, _ZAREMBA),
    ),
]
