"""Named, runnable experiments. Importing this package registers every experiment module listed below."""

import importlib

from nanozoo.experiments.registry import REGISTRY, Experiment, Reference, SampleOptions, get, register

# One module per family; each registers its experiments on import.
_MODULES = ["shakespeare", "makemore", "next_char", "basics"]
for _m in _MODULES:
    importlib.import_module(f"nanozoo.experiments.{_m}")

__all__ = ["REGISTRY", "Experiment", "Reference", "SampleOptions", "get", "register"]
