"""Benchmarks (make bench). A package only so gunicorn can load bench.hello:app."""
