"""Named, runnable experiments: one table per track (`tables/`, plain data), the tracks' code beside it, the
plumbing tracks share (`lm`, `loops`), and the runner. Importing this package imports neither torch nor a
model: a track's module is imported the first time one of its experiments is used."""

from nanozoo.experiments.registry import (
    Experiment,
    ExperimentError,
    Reference,
    SampleOptions,
    all_experiments,
    get,
)

__all__ = ["Experiment", "ExperimentError", "Reference", "SampleOptions", "all_experiments", "get"]
