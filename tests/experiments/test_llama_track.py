"""shakespeare-llama-cpu: the Llama learns characters through the Shakespeare track's plumbing, samples,
and its finished run loads back (the same config, data and budget as shakespeare-char-cpu)."""

from nanozoo.experiments import SampleOptions, registry, runner
from nanozoo.experiments.llama import cpu
from nanozoo.experiments.shakespeare import cpu as gpt_cpu
from nanozoo.models.llama import Llama

TINY = [
    "model.n_layer=2",
    "model.n_embd=64",
    "train.max_iters=150",
    "train.eval_interval=150",
    "train.progress=false",
]


def test_the_llama_config_is_the_gpt_recipe_with_llama_blocks():
    llama, gpt = cpu(), gpt_cpu()
    assert llama.train == gpt.train and llama.data == gpt.data
    same = ("block_size", "n_layer", "n_head", "n_embd")
    assert all(getattr(llama.model, k) == getattr(gpt.model, k) for k in same)
    assert llama.model.n_kv_head == 2 and llama.model.ffn_dim == 352


def test_shakespeare_llama_learns_and_samples(tmp_path):
    """A character's frequency alone gives a loss of ~3.3 nats; 150 steps of a 2-layer Llama reach < 2.6."""
    run_dir, m = runner.train("shakespeare-llama-cpu", TINY, runs_root=tmp_path)
    assert m["val_loss"] < 2.6
    assert abs(m["val_loss_int8"] - m["val_loss_fp32"]) < 0.05  # int8's quality cost, logged by every run
    assert isinstance(registry.load_model(run_dir)[0], Llama)
    text = "".join(runner.sample(run_dir, SampleOptions(prompt="ROMEO:", max_new_tokens=40, seed=1)))
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 40
