"""Benchmarks: `python -m benchmarks` (or `make bench`) prints what it measured."""
