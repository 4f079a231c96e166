"""Benchmark of idp side by side with node-oidc-provider (``python -m bench``; docs/benchmarks.md)."""
