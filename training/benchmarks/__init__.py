"""Benchmarks: `python -m training.benchmarks.<name> --help`. They print figures; no test times them."""
