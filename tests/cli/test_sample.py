"""`nanozoo sample`: options refused before a run is read, prompts refused before they are echoed, and the
names options (`--exclude-train`, `--mark-train`, the sampling ones) on every names sampler, counts too."""

import click
import pytest
import typer

from nanozoo.cli import app
from nanozoo.data.names import load_names, split_names
from nanozoo.experiments import runner

QUICK = ["train.max_iters=2", "train.eval_iters=1", "train.eval_interval=2", "train.progress=false"]
RUNS = {
    "shakespeare-char-cpu": ["model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=8"],
    "shakespeare-mlp": ["model.n_hidden=16", "train.batch_size=8"],
    "shakespeare-wavenet": ["model.n_hidden=8", "train.batch_size=8"],
    "names-mlp": [],
    "names-bow": [],
    "names-bigram-count": None,  # counts: no training loop
}
TEXT = [name for name in RUNS if name.startswith("shakespeare")]
NAMES = [name for name in RUNS if name.startswith("names")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One barely trained run folder per sampling experiment."""
    root = tmp_path_factory.mktemp("runs")
    return {
        name: str(runner.train(name, [] if sets is None else QUICK + sets, runs_root=root)[0])
        for name, sets in RUNS.items()
    }


def lines(cli, args):
    code, out, err = cli(["sample", *args])
    assert code == 0, err
    return out.splitlines()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-new-tokens", "-5"], "max_new_tokens=-5 must be >= 1"),
        (["--max-new-tokens", "0"], "max_new_tokens=0 must be >= 1"),
        (["--num", "0"], "num=0 must be >= 1"),
        (["--temperature", "-1"], "temperature=-1.0 must be >= 0"),
        (["--top-k", "0"], "top_k=0 must be >= 1"),
        (["--top-p", "0"], "top_p=0.0 must be in (0, 1]"),
        (["--top-p", "1.5"], "top_p=1.5 must be in (0, 1]"),
        (["--exclude-train", "--mark-train"], "drop --mark-train"),
    ],
)
def test_bad_options_are_refused_before_the_run_is_read(args, message, cli):
    code, out, err = cli(["sample", "/nonexistent/run", *args])  # a missing run would be another error
    assert code == 1 and out == "" and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_every_sample_option_says_what_it_does_and_its_range():
    import nanozoo.cli.experiments  # noqa: F401  (adds `sample` to the app)

    cmd = next(c for c in typer.main.get_command(app).commands.values() if c.name == "sample")
    helps = {p.name: p.help for p in cmd.params if isinstance(p, click.Option)}
    assert all(helps.values()), helps
    for name in ("max_new_tokens", "temperature", "top_k", "top_p", "num"):
        assert any(r in helps[name] for r in (">= 0", ">= 1", "<= 1")), (name, helps[name])


@pytest.mark.parametrize("name", list(RUNS))
def test_a_prompt_outside_the_vocabulary_is_refused_before_it_is_echoed(name, runs, cli):
    code, out, err = cli(["sample", runs[name], "--prompt", "ab{", "--max-new-tokens", "3"])
    assert code == 1 and out == "" and "'{'" in err and "vocabulary" in err and err.count("\n") == 1


@pytest.mark.parametrize("name", NAMES)
def test_a_names_prompt_cannot_hold_the_end_of_a_name(name, runs, cli):
    code, out, err = cli(["sample", runs[name], "--prompt", "an.a"])
    assert code == 1 and out == "" and "'.' ends a name" in err


@pytest.mark.parametrize("flag", ["--exclude-train", "--mark-train"])
@pytest.mark.parametrize("name", TEXT)
def test_the_training_names_options_are_refused_for_text(name, flag, runs, cli):
    code, out, err = cli(["sample", runs[name], flag])
    assert code == 1 and out == "" and "for runs on names" in err and err.count("\n") == 1


@pytest.mark.parametrize("name", NAMES)
def test_exclude_train_draws_until_num_names_are_new(name, runs, cli):
    train = set(split_names(load_names())["train"])
    marked = lines(cli, [runs[name], "--num", "40", "--seed", "0", "--mark-train"])
    plain = [w.removesuffix("  [in train]") for w in marked]
    assert all((w in train) == m.endswith("  [in train]") for w, m in zip(plain, marked, strict=True))
    new = lines(cli, [runs[name], "--num", "40", "--seed", "0", "--exclude-train"])
    assert len(new) == 40 and not train & set(new)
    first = [w for w in plain if w not in train]  # the first batch is the same draw, less the training names
    assert new[: len(first)] == first


def test_the_counting_bigram_excludes_the_training_names_it_repeats(runs, cli):
    """The counts are a fitted model: a fair share of what they draw are real names."""
    train = set(split_names(load_names())["train"])
    plain = lines(cli, [runs["names-bigram-count"], "--num", "40", "--seed", "0"])
    new = lines(cli, [runs["names-bigram-count"], "--num", "40", "--seed", "0", "--exclude-train"])
    assert len(train & set(plain)) >= 4 and not train & set(new) and len(new) == 40


def test_exclude_train_gives_up_with_a_clear_line(runs, cli):
    run = runs["names-bigram-count"]
    # greedy after 'a' is the end of a name ('.' follows 'a' most often), so every draw is the prompt itself
    assert (
        lines(cli, [run, "--prompt", "emma", "--temperature", "0", "--num", "2", "--mark-train"])
        == ["emma  [in train]"] * 2
    )
    code, out, err = cli(
        ["sample", run, "--prompt", "emma", "--temperature", "0", "--num", "2", "--exclude-train"]
    )
    assert (
        code == 1 and out == "" and "--exclude-train: of 200 names drawn, 0 were not in the training" in err
    )


@pytest.mark.parametrize("name", NAMES)
def test_names_samplers_honour_temperature_top_k_top_p_and_the_prompt(name, runs, cli):
    run = [runs[name], "--num", "8", "--seed", "0"]
    greedy = lines(cli, [*run, "--temperature", "0"])
    assert len(set(greedy)) == 1  # one most likely name
    assert lines(cli, [*run, "--top-k", "1"]) == greedy
    assert lines(cli, [*run, "--top-p", "1e-6"]) == greedy  # the nucleus is the most likely token alone
    assert len(set(lines(cli, run))) > 1
    assert all(w.startswith("jo") for w in lines(cli, [*run, "--prompt", "jo"]))
