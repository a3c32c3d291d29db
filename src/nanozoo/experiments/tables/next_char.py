"""Next-character models on Tiny Shakespeare that report accuracy (code: experiments/next_char.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.next_char", sampler="sample_text")
_GOAL = Reference(
    "val_acc",
    0.50,
    "no published figure: a plain MLP's accuracy",
    lower_is_better=False,
    note="issue 4: about 50% from a plain MLP (goal >= 55%)",
)

EXPERIMENTS = [
    _exp(
        name="shakespeare-mlp",
        summary="next-character MLP on Tiny Shakespeare: context 16, 2 hidden layers of 512; reports val_acc",
        config="mlp",
        reference=_GOAL,
    ),
    _exp(
        name="shakespeare-wavenet",
        summary="makemore's hierarchical (WaveNet) MLP, residual, context 32, on Tiny Shakespeare; val_acc",
        config="wavenet",
        reference=_GOAL,
    ),
]
