"""amass_arrow: AMASS motion capture as a partitioned Parquet store, with SQL splits and exporters.

The data walk from discover to export, the store contract and the extension points: docs/architecture.md.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "scan"]


def __getattr__(name: str):
    """Lazy exports, so `import amass_arrow` stays light: connect (DuckDB), scan (polars)."""
    if name in ("connect", "scan"):
        from .query import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'amass_arrow' has no attribute {name!r}")
