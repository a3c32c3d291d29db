"""micrograd on two moons (code: experiments/micrograd.py)."""

from nanozoo.experiments.registry import Experiment, Reference

EXPERIMENTS = [
    Experiment(
        name="moons-mlp",
        summary="micrograd MLP 2-16-16-1 on make_moons, max-margin loss + L2 (karpathy/micrograd demo)",
        module="nanozoo.experiments.micrograd",
        config="MoonsConfig",
        loop="run_moons",
        reference=Reference(
            "train_acc",
            1.0,
            "karpathy/micrograd demo.ipynb: 100% train accuracy at step 99 (loss 0.010978)",
            lower_is_better=False,
        ),
    ),
]
