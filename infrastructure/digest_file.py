"""Digests in an append-only JSON Lines file, outside the database (domain/integrity.py).

One line per digest, appended with O_APPEND and fsynced before `append` returns; the file
is created 0600 in a 0700 directory. With a key (HELIONYX_DIGEST_KEY), each line carries
an HMAC-SHA256 of its content, so whoever can rewrite the database and the file but does
not hold the key cannot write digests that match a rewritten chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict
from pathlib import Path

from domain.chain import canonical_json
from domain.integrity import Digest, Finding
from infrastructure.durable_files import fsync_directory

FORMAT = 1


class DigestFile:
    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self._path = path
        self._key = key

    @property
    def location(self) -> str:
        return str(self._path)

    def read(self) -> tuple[list[Digest], list[Finding]]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return [], []
        digests: list[Digest] = []
        findings: list[Finding] = []
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            digest, problem = self._parse(line)
            if digest is not None:
                digests.append(digest)
            elif number == len(lines) and not raw.endswith(b"\n"):
                continue  # a line cut short by a crash while appending: never acknowledged
            else:
                findings.append(
                    Finding(
                        "digests",
                        f"digests-line@{number}",
                        f"{self._path.name} line {number} {problem}",
                    )
                )
        return digests, findings

    def append(self, digest: Digest) -> None:
        body = {"v": FORMAT, **asdict(digest), "accepts": list(digest.accepts)}
        if self._key is not None:
            body["mac"] = self._mac(body)
        line = (json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n").encode()
        created = not self._path.exists()
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new name too must survive a power loss
            fsync_directory(self._path.parent)

    def _parse(self, line: bytes) -> tuple[Digest | None, str]:
        try:
            body = json.loads(line)
            mac = body.pop("mac", None)
            if self._key is not None and (
                not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(body))
            ):
                return None, "is not authentic (its HMAC does not match HELIONYX_DIGEST_KEY)"
            if body.pop("v") != FORMAT:
                return None, "has an unknown format"
            body["accepts"] = tuple(body.get("accepts", ()))
            return Digest(**body), ""
        except (ValueError, TypeError, KeyError, AttributeError):
            return None, "cannot be read"

    def _mac(self, body: dict) -> str:
        assert self._key is not None
        content = {k: v for k, v in body.items() if k != "mac"}
        return hmac.new(self._key, canonical_json(content).encode(), hashlib.sha256).hexdigest()


class DigestFiles:
    """One digest file per log, `<directory>/<log id>.jsonl`."""

    def __init__(self, directory: Path, key: bytes | None = None) -> None:
        self._directory = directory
        self._key = key

    def for_log(self, log_id: str) -> DigestFile:
        if not log_id.replace("-", "").isalnum():
            raise ValueError(f"not a log id: {log_id!r}")
        return DigestFile(self._directory / f"{log_id}.jsonl", self._key)
