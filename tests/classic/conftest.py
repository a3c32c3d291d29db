import contextlib

import pytest

try:
    from threadpoolctl import threadpool_limits  # installed with scikit-learn
except ImportError:  # pragma: no cover
    threadpool_limits = None


@pytest.fixture(autouse=True)
def one_blas_thread():
    # These matrices are small: a second BLAS/OpenMP thread only spins against the other jobs on a busy
    # machine (measured on 2 shared cores: the digits test took 24 s with 2 threads, 0.3 s with 1).
    with threadpool_limits(1) if threadpool_limits else contextlib.nullcontext():
        yield
