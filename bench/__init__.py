"""Benchmarks of the gateway, each beside a bare aiomqtt baseline measured in the same run on
the same broker. `python -m bench` runs them and rewrites docs/benchmarks.md."""
