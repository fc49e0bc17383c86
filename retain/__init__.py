"""retain: churn and expansion prediction for B2B SaaS customer-success teams.

This package holds what every stage shares: the configuration (`retain.config`), the error type
the CLI turns into clean messages (`retain.errors`), atomic file writes (`retain.files`) and the
command line (`retain.cli`). The stages themselves live in `features`, `training`, `evaluation`,
`serving`, `monitoring` and `simulator`.
"""

__version__ = "0.1.0"
