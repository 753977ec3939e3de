"""SQL over a store: DuckDB views, polars scans, split and slice SQL with leakage checks."""
