"""Benchmarks an engineer runs by hand; never imported by the service or the test suite."""
