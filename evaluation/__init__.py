"""Rolling backtest, model comparison, renewal forecast and the promotion gate.

Public API (import the modules; nothing loads at package import):

- `evaluation.metrics`: `roc_auc`, `pr_auc`, `brier`, `log_loss`, `expected_calibration_error`,
  `top_decile_lift`, `arr_caught_share`, `band_renewal_rates`, `green_red_ratio`;
- `evaluation.backtest`: `build_backtest_frame`, `plan_backtest`, `run_backtest` ->
  `BacktestResult` (per target: rolling origins or k-fold grouped by account);
- `evaluation.bootstrap`: `bootstrap_intervals` (accounts resampled);
- `evaluation.suggest`: `supported_evaluation`, `settings_toml` (`retain profile`);
- `evaluation.forecast`: `fit_arr_rates`, `expected_arr`, `forecast_table`;
- `evaluation.outputs`: `save_backtest`, `log_backtest`;
- `evaluation.report`: `render_report`, `write_report`;
- `evaluation.gate`: `check_promotion` -> `PromotionDecision`, `compare_estimators`, `decide`.
"""
