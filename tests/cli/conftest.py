import pytest

from nanozoo.cli import main


@pytest.fixture
def cli(capsys):
    """Run `nanozoo ARGS` in this process; returns (exit code, stdout, stderr). main() returns on success."""

    def run(args):
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
