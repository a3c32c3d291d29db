"""The registry: tables read without torch, every torch experiment's model built and loaded back."""

import json
import subprocess
import sys

import pytest
import torch

from nanozoo.core.checkpoint import save_weights
from nanozoo.core.config import to_dict
from nanozoo.core.runlog import write_config
from nanozoo.experiments import ExperimentError, all_experiments, get
from nanozoo.experiments.registry import load_model


def test_listing_and_configuring_experiments_imports_no_torch():
    code = (
        "import sys, json\n"
        "from nanozoo.experiments import all_experiments\n"
        "names = [e.name for e in all_experiments().values()]\n"
        "print(json.dumps([names, sorted(m for m in sys.modules if m.split('.')[0] == 'torch')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names, torch_modules = json.loads(out)
    assert "shakespeare-char-cpu" in names and "moons-mlp" in names and len(names) == len(set(names))
    assert torch_modules == []


@pytest.mark.parametrize("name", [e.name for e in all_experiments().values() if e.loop is None])
def test_build_loads_the_model_of_any_run(name, tmp_path):
    exp = get(name)
    cfg = exp.default_config()
    torch.manual_seed(0)
    model = exp.build(cfg)
    write_config(tmp_path, name, to_dict(cfg))
    save_weights(model, tmp_path / "model.safetensors", 0)
    loaded, cfg2 = load_model(tmp_path)
    assert type(loaded) is type(model) and cfg2 == cfg and not loaded.training
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k


def test_an_own_loop_experiment_has_no_model_and_unknown_names_are_refused():
    with pytest.raises(ExperimentError, match="own training loop"):
        get("moons-mlp").build(get("moons-mlp").default_config())
    with pytest.raises(ExperimentError, match="did you mean names-mlp"):
        get("names-mpl")
    with pytest.raises(KeyError):  # a caller that expects the builtin still catches it
        get("nope")
