"""`nan_as_null` reads a stored floating NaN as missing and keeps every other value, infinities
included, on a real parquet file read by DuckDB."""

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from features.windows import nan_as_null


def test_stored_nan_is_null_and_every_other_value_is_kept(tmp_path):
    values = [1.5, float("nan"), -np.nan, float("inf"), float("-inf"), None, 0.0, -2.0]
    path = tmp_path / "values.parquet"
    pq.write_table(pa.table({"x": pa.array(values, type=pa.float64(), from_pandas=False)}), path)
    table = ibis.duckdb.connect().read_parquet(path)

    result = table.select(y=nan_as_null(table.x)).to_pyarrow().column("y").to_pylist()

    assert result == [1.5, None, None, float("inf"), float("-inf"), None, 0.0, -2.0]
