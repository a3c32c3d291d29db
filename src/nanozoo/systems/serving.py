"""What the two systems' servers share (search/serve.py, recsys/serve.py): their SQLite store, and a
server started beside the caller, in a thread (tests) or as its own process (load tests, crash tests).

- `connect(path)`: one SQLite connection in WAL mode (readers never wait for the writer; a transaction
  is committed once its WAL frames are written, so a process killed at any moment loses no committed
  transaction) with `synchronous=FULL` (the WAL is fsynced at each commit: a power cut loses none either).
- `in_thread(app)`: uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread, for as long as a `with`.
- `process(argv, url)`: a server command as a child process, ready when GET url/health answers 200.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to the SQLite file `path` (made, with its folder, if missing), WAL mode, shareable
    across a server's worker threads (the caller serialises writes: sqlite3 connections are not)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (a child process will bind it: a race with
    another process is possible, unlike `in_thread`, which binds the socket itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def in_thread(app, startup_s: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1 in a daemon thread; yields its base URL and
    stops it on exit."""
    import uvicorn

    sock = socket.socket()  # bound here and handed to uvicorn: no other process can take the port between
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        t0 = time.monotonic()
        while not server.started and thread.is_alive() and time.monotonic() - t0 < startup_s:
            time.sleep(0.02)
        if not server.started:
            raise RuntimeError(f"uvicorn did not start within {startup_s:.0f} s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Block until GET url/health answers 200; raise if `proc` exits first or `timeout` passes."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url}/health within {timeout:.0f} s")


@contextlib.contextmanager
def process(argv: Sequence[str], url: str, timeout: float = 120.0, **popen) -> Iterator[subprocess.Popen]:
    """Run the server command `argv` (which must serve `url`) as a child process; yields it once ready.
    On exit it is stopped (SIGTERM, then SIGKILL after 10 s) unless it has already ended."""
    proc = subprocess.Popen(list(argv), **popen)
    try:
        wait_ready(url, proc, timeout)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
