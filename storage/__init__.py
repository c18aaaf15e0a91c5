"""All SQL lives in this package; the rest of the program sees models and repositories."""

from storage.db import Database, Tx

__all__ = ["Database", "Tx"]
