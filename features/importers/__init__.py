"""Importers that map public datasets onto the input contract (features.contract).

`telco.import_telco` and `ravenstack.import_ravenstack` each write the contract tables as parquet
plus a `retain.toml` with what the data needs; each module's docstring documents its mapping.
"""
