import pytest


@pytest.fixture(scope="session")
def cranfield(need_data):
    """The Cranfield files: {"docs": ..., "queries": ..., "qrels": ...} paths in the data mirror."""
    return {
        k: need_data("cranfield", f)
        for k, f in [("docs", "cran.all.1400"), ("queries", "cran.qry"), ("qrels", "cranqrel")]
    }


@pytest.fixture(scope="session")
def cran_index(cranfield, tmp_path_factory):
    """A BM25 index folder of Cranfield, built once per test process."""
    from nanozoo.systems.search.index import build

    out = tmp_path_factory.mktemp("cran-index")
    build(cranfield["docs"], out)
    return out
