"""Backup and restore of a tier's database, the same steps on every backend.

`orchestration.py`: `backup` and `restore`, with the chain checked at every step;
`base.py`: errors, what a database's chain looked like, the steps a backend supplies;
`manifest.py`: the manifest next to each backup, file names, checksums. What differs per
backend (how the live database is copied, how a target is replaced) is in
`infrastructure/<backend>/backup.py`, reached through the backend (infrastructure/backends.py).

Nothing is imported here: the backends import `base` without the rest.
"""
