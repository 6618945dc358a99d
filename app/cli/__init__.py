"""Operator commands: `python -m app.cli --env <tier> <command>` (the Makefile calls these).

`main.py` holds the parser and the dispatch; each command, or a closely related pair, is
a module of its own with its `cmd_*` coroutine and its `add_parser`. Nothing is imported
here, so that importing one command does not import them all.
"""
