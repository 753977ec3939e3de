"""amass_arrow: AMASS motion capture as a partitioned Parquet store, with SQL splits and exporters."""

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "scan"]


def __getattr__(name: str):
    """Lazy exports, so `import amass_arrow` stays light: connect (DuckDB), scan (polars)."""
    if name in ("connect", "scan"):
        from . import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'amass_arrow' has no attribute {name!r}")
