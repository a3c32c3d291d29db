import hashlib
import http.server
import threading
from functools import partial

import pytest

from nanozoo import data
from nanozoo.data import catalogue
from nanozoo.data.catalogue import DataFile, Dataset

CONTENT = b"to be or not to be\n" * 50


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A catalogue entry for a small file, with an empty cache and mirror, served nowhere (offline)."""
    f = DataFile("toy.txt", hashlib.sha256(CONTENT).hexdigest(), len(CONTENT), "http://127.0.0.1:9/toy.txt")
    ds = Dataset("toy", "a toy", "public", (f,), system_dirs=(str(tmp_path / "system"),))
    monkeypatch.setitem(catalogue.CATALOGUE, "toy", ds)
    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NANOZOO_DATA", str(tmp_path / "mirror"))
    monkeypatch.delenv("NANOZOO_OFFLINE", raising=False)  # these tests download from a loopback server
    catalogue._verified.clear()
    return ds


def put(path, content=CONTENT):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_lookup_order(toy, tmp_path):
    system = put(tmp_path / "system" / "toy.txt")
    assert data.path("toy") == system
    cache = put(tmp_path / "cache" / "toy" / "toy.txt")
    assert data.path("toy") == cache
    mirror = put(tmp_path / "mirror" / "toy" / "toy.txt")
    assert data.path("toy") == mirror
    explicit = put(tmp_path / "mine" / "toy.txt")
    assert data.path("toy", data_dir=tmp_path / "mine") == explicit


def test_checksum_mismatch_names_the_file(toy, tmp_path):
    bad = put(tmp_path / "mirror" / "toy" / "toy.txt", CONTENT[:-1] + b"X")
    with pytest.raises(data.DataError, match=f"{bad}.*sha256.*expected {toy.files[0].sha256[:16]}"):
        data.path("toy")


def test_truncated_file(toy, tmp_path):
    put(tmp_path / "cache" / "toy" / "toy.txt", CONTENT[:100])
    with pytest.raises(data.DataError, match=r"truncated: 100 bytes, expected 950"):
        data.path("toy")


def test_offline_missing_says_where_and_how(toy, tmp_path):
    with pytest.raises(data.DataError, match=r"toy/toy.txt not found.*download failed.*NANOZOO_DATA") as e:
        data.path("toy")
    assert "http://127.0.0.1:9/toy.txt" in str(e.value)
    assert not list((tmp_path / "cache").rglob("*")) or not list((tmp_path / "cache").rglob("*.part"))


def test_offline_setting_never_downloads(toy, monkeypatch):
    monkeypatch.setenv("NANOZOO_OFFLINE", "1")
    with pytest.raises(data.DataError, match=r"toy/toy.txt not found.*\(no download: offline\)"):
        data.path("toy")


def serve(root, monkeypatch, ds, name):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    f = ds.files[0]
    new = DataFile(f.name, f.sha256, f.size, f"http://127.0.0.1:{srv.server_address[1]}/{name}")
    monkeypatch.setitem(catalogue.CATALOGUE, "toy", Dataset(ds.name, ds.description, ds.licence, (new,)))
    return srv


def test_download_verifies_and_is_atomic(toy, tmp_path, monkeypatch):
    put(tmp_path / "www" / "good.txt")
    put(tmp_path / "www" / "bad.txt", CONTENT.upper())
    srv = serve(tmp_path / "www", monkeypatch, toy, "bad.txt")
    with pytest.raises(data.DataError, match="sha256"):
        data.path("toy")
    assert list((tmp_path / "cache").rglob("*toy*")) == [tmp_path / "cache" / "toy"]  # no half file left
    srv.shutdown()
    srv = serve(tmp_path / "www", monkeypatch, toy, "good.txt")
    p = data.path("toy")
    assert p == tmp_path / "cache" / "toy" / "toy.txt" and p.read_bytes() == CONTENT
    srv.shutdown()


def test_unknown_dataset_and_real_mirror():
    with pytest.raises(data.DataError, match="unknown dataset 'nope'; known: .*tinyshakespeare"):
        data.path("nope")
    assert data.path("tinyshakespeare", download=False).stat().st_size == 1115394


def test_a_file_that_is_not_text_is_a_data_error_naming_it(need_data):
    path = need_data("sentiment", "rt-polarity.pos")  # Latin-1, not UTF-8
    with pytest.raises(catalogue.DataError, match=rf"{path} is not utf-8 text"):
        data.read_text("sentiment", "rt-polarity.pos")
    assert data.read_text("sentiment", "rt-polarity.pos", encoding="latin-1")
