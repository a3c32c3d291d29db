import importlib
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_configure(config):
    # Tests read real data from the shared mirror; CI sets NANOZOO_DATA, a local run may not.
    if not os.environ.get("NANOZOO_DATA") and SHARED.is_dir():
        os.environ["NANOZOO_DATA"] = str(SHARED)
    # Small models on 2 shared cores: one thread per test process is several times faster than two
    # (spin-waiting threads of two xdist workers thrash); `make test` also sets OMP_NUM_THREADS=1.
    import torch

    torch.set_num_threads(1)
    os.environ["NANOZOO_OFFLINE"] = "1"  # a test never downloads; a missing file is a clear failure
    os.environ.setdefault("NANOZOO_CACHE", str(Path(config.rootpath) / ".pytest_cache" / "nanozoo-cache"))


@pytest.fixture
def tiny_gpt_overrides():
    """A char GPT that trains in well under a second per 10 steps."""
    return [
        "model.n_layer=1",
        "model.n_head=2",
        "model.n_embd=32",
        "model.block_size=16",
        "train.batch_size=4",
        "train.max_iters=20",
        "train.eval_interval=10",
        "train.eval_iters=2",
        "train.log_interval=1",
        "train.warmup_iters=2",
        "train.progress=false",
        "data.sample_tokens=20",
    ]


# ---------------------------------------------------------------------------------------------------
# References: a reference library or data file missing skips a local run without the data mirror, and fails
# one with it (CI sets NANOZOO_DATA; so does pytest_configure when ../shared/datasets exists), so a green
# run always means the references were there.


def _missing(what: str) -> None:
    if os.environ.get("NANOZOO_DATA"):
        pytest.fail(f"{what}, but NANOZOO_DATA is set: the reference checks must run (install `.[ref]`)")
    pytest.skip(f"{what} (NANOZOO_DATA is unset)")


def need_module(name: str):
    """Import a reference library (`need_module("tiktoken")`), or skip/fail as above."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the reference library {name!r} is not installed")


def need_file(dataset: str, file: str) -> Path:
    """A file of the data catalogue from the local mirror or cache (never downloaded), or skip/fail."""
    from nanozoo import data

    path = data.find(dataset, file)
    if path is None:
        _missing(f"{dataset}/{file} is not in the data mirror or the cache")
    return path


def need_peer_file(peer: str, file: str) -> Path:
    """A file of a reference program in ../shared/peers (beside the data mirror), or skip/fail."""
    data = os.environ.get("NANOZOO_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    path = Path(data).parent / "peers" / peer / file
    if not path.is_file():
        _missing(f"the peer program file {path} is not there")
    return path


@pytest.fixture(scope="session")
def need_peer():
    return need_peer_file


@pytest.fixture(scope="session")
def need():
    return need_module


@pytest.fixture(scope="session")
def need_data():
    return need_file


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `nanozoo ARGS` in this process, `stdin` as its standard input; returns (exit code, stdout,
    stderr). main() returns on success."""
    import io

    from nanozoo.cli import main

    def run(args, stdin=None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
