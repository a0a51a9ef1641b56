"""The package version, read by receipts and `earlog --version`."""

__version__ = "0.1.0"
