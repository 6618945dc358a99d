"""Importing a ChatGPT data export: the parser (`export.py`), the worker process that
prepares its messages (`worker.py`), and the reader that starts it (`reader.py`).

Nothing is imported here: the worker must start on the standard library and `domain`.
"""
