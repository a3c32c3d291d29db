"""The layering contract of pyproject.toml (run by `make lint`): kept by the code, and able to fail."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(cwd: Path, src: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_code_keeps_the_layers():
    done = lint(ROOT, ROOT / "src")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Contracts: 4 kept, 0 broken." in done.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    shutil.copytree(
        ROOT / "src" / "nanozoo", tmp_path / "src" / "nanozoo", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "src" / "nanozoo" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _up():\n    from nanozoo.experiments import registry\n")
    done = lint(tmp_path, tmp_path / "src")
    assert done.returncode == 1 and "BROKEN" in done.stdout
    assert "nanozoo.core.errors -> nanozoo.experiments" in done.stdout
