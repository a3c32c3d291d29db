"""The `need`/`need_data` fixtures of conftest.py: a missing reference skips only without the data mirror."""

import pytest


def test_a_missing_reference_fails_when_the_data_mirror_is_set(need, need_data, monkeypatch, tmp_path):
    monkeypatch.setenv("NANOZOO_DATA", str(tmp_path))
    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="'no_such_reference' is not installed.*NANOZOO_DATA"):
        need("no_such_reference")
    with pytest.raises(pytest.fail.Exception, match="cl100k/cl100k_base.tiktoken is not in the data mirror"):
        need_data("cl100k", "cl100k_base.tiktoken")
    monkeypatch.delenv("NANOZOO_DATA")
    with pytest.raises(pytest.skip.Exception, match="NANOZOO_DATA is unset"):
        need("no_such_reference")
    with pytest.raises(pytest.skip.Exception, match="NANOZOO_DATA is unset"):
        need_data("cl100k", "cl100k_base.tiktoken")


def test_a_present_reference_is_returned(need, need_data):
    assert need("json").dumps([]) == "[]"
    assert need_data("names", "names.txt").name == "names.txt"
