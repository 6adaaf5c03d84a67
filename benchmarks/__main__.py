"""Run every benchmark and print a table of results."""

from benchmarks.bench_cli import main

main()
