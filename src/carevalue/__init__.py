"""CareValue: value-based healthcare for hospital condition pathways."""

__version__ = "0.1.0"
