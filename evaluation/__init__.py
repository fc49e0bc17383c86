"""Rolling backtest, model comparison, renewal forecast and the promotion gate."""
