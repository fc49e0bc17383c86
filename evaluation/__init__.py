"""Rolling backtest, model comparison, renewal forecast and the promotion gate.

Public API (import the modules; nothing loads at package import):

- `evaluation.metrics`: `roc_auc`, `pr_auc`, `brier`, `log_loss`, `expected_calibration_error`,
  `top_decile_lift`, `arr_caught_share`, `band_renewal_rates`, `green_red_ratio`;
- `evaluation.backtest`: `build_backtest_frame`, `run_backtest` -> `BacktestResult`;
- `evaluation.forecast`: `fit_arr_rates`, `expected_arr`, `forecast_table`;
- `evaluation.outputs`: `save_backtest`, `log_backtest`;
- `evaluation.report`: `render_report`, `write_report`;
- `evaluation.gate`: `check_promotion` -> `PromotionDecision`, `compare_estimators`, `decide`.
"""
