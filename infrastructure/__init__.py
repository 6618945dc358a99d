"""Adapters to the outside world, grouped by concern: one package per database backend
(`sqlite/`, `postgres/`, chosen in `backends.py`) and what they share, `backup/`,
`chatgpt/` (the export import), `extractors/`, `telegram/` (the notifier).

Nothing is imported here: worker processes start inside this package.
"""
