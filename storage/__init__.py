"""All SQL lives in this package; the rest of the program sees models and repositories."""

from storage.db import Database, NestedTransactionError, Tx

__all__ = ["Database", "NestedTransactionError", "Tx"]
