"""summarize(): rows per table and renewal outcomes read back from the written files."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from retain.errors import RetainError
from simulator._summary import summarize


def test_summary_counts_rows_and_renewal_outcomes(sim_dir):
    summary = summarize(sim_dir)
    assert summary.rows["usage"] == pq.ParquetFile(sim_dir / "usage.parquet").metadata.num_rows
    assert set(summary.rows) >= {"accounts", "contracts", "usage", "truth"}
    assert summary.renewals_decided > 300
    assert 0.02 < summary.churn_rate < 0.3
    assert 0.0 < summary.contraction_rate < summary.expansion_rate < 0.5


def test_summary_of_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RetainError, match="No parquet tables"):
        summarize(tmp_path)
