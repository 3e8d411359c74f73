"""A YAML suite run inside a test: its cells join the session's results and report."""


def test_smoke_suite(harness_run):
    result = harness_run("suites/smoke.yaml")
    assert result.ok, result.counts
