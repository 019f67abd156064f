"""Benchmarks of the hot paths. Each prints its figures and a ratio against a baseline
measured in the same run. `python -m bench.run` runs them all and writes bench/results.md."""
