"""amass_arrow: AMASS motion capture as a partitioned Parquet store, with SQL splits and exporters."""

__version__ = "0.1.0"
