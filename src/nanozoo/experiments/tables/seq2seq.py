"""The encoder-decoder transformer: toy sequence tasks and translation (code: experiments/seq2seq.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.seq2seq")
_EXACT = Reference(
    "val_acc",
    0.99,
    "no published figure: issue 13's goal, >= 99% exact match in about a minute on CPU",
    lower_is_better=False,
)

EXPERIMENTS = [
    _exp(
        name="seq2seq-reverse",
        summary="2+2-layer encoder-decoder transformer reverses 4-12 symbols; exact match, attention.png",
        config="reverse",
        reference=_EXACT,
    ),
    _exp(
        name="seq2seq-sort",
        summary="the same transformer sorts 4-12 symbols; exact match by greedy decoding",
        config="sort",
        reference=_EXACT,
    ),
    _exp(
        name="seq2seq-copy",
        summary="the same transformer copies 4-12 symbols; exact match by greedy decoding",
        config="copy",
        reference=_EXACT,
    ),
]

_BLEU = Reference(
    "test_bleu",
    25.0,
    "issue 13's goal on 2 CPU cores in 30 minutes; a base transformer reaches about 35-38 on a GPU",
    lower_is_better=False,
    note="sacrebleu corpus BLEU, cased, 13a, on Multi30k test2016 (beam 4, alpha 0.6)",
)

EXPERIMENTS += [
    _exp(
        name="translate-multi30k",
        summary="English -> German on Multi30k: 3+3-layer transformer, d_model 256, shared BPE; BLEU",
        config="multi30k_cpu",
        reference=_BLEU,
    ),
    _exp(
        name="translate-multi30k-gpu",
        summary="English -> German on Multi30k: the paper's base transformer (6+6 layers, d_model 512)",
        config="multi30k_gpu",
        reference=Reference(
            "test_bleu",
            35.0,
            "issue 13: a base transformer reaches about 35-38 BLEU on Multi30k en-de on a GPU",
            lower_is_better=False,
        ),
    ),
    _exp(
        name="translate-tatoeba",
        summary="English -> French on Tatoeba (1% of sources held out for val, 1% for test); BLEU",
        config="tatoeba_cpu",
        reference=Reference(
            "test_bleu",
            25.0,
            "no published figure for this split: the Multi30k goal, for comparison",
            lower_is_better=False,
        ),
    ),
]
