"""Benchmarks: a deterministic data generator (`python -m bench.generate`) and the harness (`python -m bench.run`).

Everything runs against the bench's own PostgreSQL cluster and Redis under `.data/bench/` (free ports, reused
across runs); nothing here is imported by the application or by `make test` (except the smoke mode).
"""
