"""The helionyx-log file (JSON Lines, every event column): export, offline check, import.

Imports nothing, as every infrastructure package's `__init__` (docs/ARCHITECTURE.md)."""
