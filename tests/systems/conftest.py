import pytest


def fuzz_openapi(need, url: str, max_examples: int = 25, must_hold=None) -> list[int]:
    """Every operation of the OpenAPI spec at `url`/openapi.json, called with up to `max_examples` requests
    that schemathesis draws from it; asserts no 5xx and a `detail` in every 4xx (and `must_hold(case,
    response)` if given). Returns the status codes seen."""
    schemathesis = need("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    seen = []
    for op in schema.get_all_operations():
        operation = op.ok()

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests every run: a failure is reproducible, never a flake
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            r = case.call()
            seen.append(r.status_code)
            assert r.status_code < 500, (case.method, case.path, case.path_parameters, case.query, r.text)
            if r.status_code >= 400:
                assert r.json()["detail"], (case.path, case.query)
            if must_hold is not None:
                must_hold(case, r)

        check()
    return seen


@pytest.fixture(scope="session")
def openapi_fuzz(need):
    """`openapi_fuzz(url, max_examples)`: the API at url fuzzed from its own spec (schemathesis, bounded)."""
    return lambda url, max_examples=25, must_hold=None: fuzz_openapi(need, url, max_examples, must_hold)
