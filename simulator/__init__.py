"""The demo customer base: a simulator of a B2B SaaS business that knows the true answer.

`simulate(out_dir, ...)` writes the eight input-contract tables as parquet, a `retain.toml`
naming the key value events, and `truth.parquet` with the oracle's churn and expansion
probabilities for every monthly and renewal snapshot.
"""

from simulator._run import simulate

__all__ = ["simulate"]
