"""A backup's files: its name, its manifest, its checksum, and publishing it whole.

A backup is one file plus `<file>.manifest.json` next to it. The manifest records what
the chain looked like when the copy was taken (count, last seq, head hash), the tier, the
time, the schema revision, the last digest, the effective configuration with its secrets
masked (as `make config` prints it), and the file's size and SHA-256, so a restore can
tell a damaged or swapped file from the one that was written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from infrastructure.backup.base import BackupCorrupt
from infrastructure.durable_files import fsync_directory

MANIFEST_SUFFIX = ".manifest.json"
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Manifest:
    tier: str
    dialect: str  # the backend's name (Backend.name): "sqlite", "postgresql"
    format: str
    created_at: str
    count: int
    last_seq: int
    head_hash: str
    schema_revision: str | None
    file_name: str
    file_size: int
    sha256: str
    consistency: str
    # The last digest of the log written outside the database before the copy was taken
    # (domain/integrity.py): the copy must agree with it.
    digest: dict | None = None
    # The effective configuration, secrets masked (Settings.redacted, `make config`).
    configuration: dict | None = None
    # Set only on the copy a restore keeps of a database whose chain was already broken:
    # evidence, which `restore` refuses.
    chain_problem: str | None = None

    def to_json(self) -> str:
        return json.dumps({"helionyx_backup": 1, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, raw: str) -> Manifest:
        try:
            data = json.loads(raw)
            data.pop("helionyx_backup")
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise BackupCorrupt(f"the manifest is not readable ({e})") from e


def backup_name(
    tier: str, created_at: datetime, last_seq: int, extension: str, label: str = ""
) -> str:
    kind = f"{label}-" if label else ""
    return f"helionyx-{tier}-{kind}{created_at:%Y%m%dT%H%M%SZ}-seq{last_seq}.{extension}"


def free_path(directory: Path, name: str) -> Path:
    """`name` in `directory`, or `name` with -2, -3, ... if a backup already has it."""
    path = directory / name
    stem, dot, extension = name.partition(".")
    number = 2
    while path.exists():
        path = directory / f"{stem}-{number}{dot}{extension}"
        number += 1
    return path


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def publish(temporary: Path, final: Path) -> None:
    """Make a finished file durable, then give it its name in one step: a reader sees the
    whole backup or none (os.replace is atomic within a file system)."""
    with temporary.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, final)
    fsync_directory(final.parent)


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    path = manifest_path(backup)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(manifest.to_json(), encoding="utf-8")
    publish(temporary, path)
    return path


def read_manifest(backup: Path) -> Manifest | None:
    """The backup's manifest, checked against the file; None when there is none."""
    path = manifest_path(backup)
    if not path.exists():
        return None
    manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
    size = backup.stat().st_size
    if size != manifest.file_size:
        raise BackupCorrupt(
            f"the backup is {size} bytes, its manifest says "
            f"{manifest.file_size}: the file changed after it was written"
        )
    if sha256_of(backup) != manifest.sha256:
        raise BackupCorrupt(
            "the backup's SHA-256 does not match its manifest: "
            "the file changed after it was written"
        )
    return manifest
