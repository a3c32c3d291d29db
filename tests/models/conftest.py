import pytest
from random_weights import randomise as _randomise
from random_weights import same_model as _same_model


@pytest.fixture(scope="session")
def randomise():
    return _randomise


@pytest.fixture(scope="session")
def same_model():
    return _same_model
