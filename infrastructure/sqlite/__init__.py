"""The SQLite backend (dev): infrastructure/sqlite/backend.py."""
