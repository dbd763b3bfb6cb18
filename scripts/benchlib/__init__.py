"""Benchmarks for aidflow; run ``python scripts/bench.py --help``."""
