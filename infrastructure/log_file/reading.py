"""Reading a helionyx-log file back, checked line by line, without a database.

Every event's hash is recomputed as the databases' own verification does it
(infrastructure/postgres/verification.py): the sealed text spelled from payload and
metadata as the line holds them (`infrastructure.sealing.sealed_text`), and, where that
does not hash right, the parsed content judged by `domain.chain.hash_of`; the chain is
followed by `domain.chain.ChainVerifier`, so the file is judged by the same functions as
`make verify`. The first line that is wrong stops the reading with its number and what is
wrong with it: a file cut short (lines missing at the end, a half line), a line edited,
removed or moved, a line that is not JSON. Memory stays that of one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import BinaryIO, NamedTuple

from domain.chain import ChainVerifier
from domain.events import LogHead
from infrastructure.fast_json import canonical_json
from infrastructure.log_file.lines import FORMAT, Header, LineProblem, parse_event, parse_header
from infrastructure.sealing import SEALED_SPLIT, Sealed, sealed_text


class FileProblem(Exception):
    """The first thing wrong with the file: on which line, and what."""

    def __init__(self, line: int, detail: str) -> None:
        super().__init__(f"line {line}: {detail}")
        self.line = line
        self.detail = detail


class FileSummary(NamedTuple):
    header: Header
    events: int
    head: LogHead
    lines: int


class LogFileReader:
    """One pass over a helionyx-log file: `header` first, then `events()`, which raises
    FileProblem at the first bad line and, after the last, checks the header's promise."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._line = 0
        first = self._next_line()
        if first is None:
            raise FileProblem(1, f"missing: the file is empty, not a {FORMAT} export")
        try:
            self.header = parse_header(first)
        except LineProblem as e:
            raise FileProblem(1, str(e)) from None

    def events(self) -> Iterator[Sealed]:
        """Each event, with the payload and metadata text a store keeps for it."""
        header, verifier = self.header, ChainVerifier()
        while (text := self._next_line()) is not None:
            try:
                sealed = parse_event(text)
            except LineProblem as e:
                raise FileProblem(self._line, str(e)) from None
            event = sealed.event
            if event.seq > header.head.last_seq:
                raise FileProblem(
                    self._line,
                    f"seq {event.seq} lies past the header's head (seq {header.head.last_seq})",
                )
            if _seals(sealed) and verifier.follows(event.seq, event.prev_hash, event.hash):
                yield sealed
                continue
            try:
                verifier.feed([event])
            except (TypeError, ValueError) as e:  # a number JSON cannot spell (1e400)
                verifier.unreadable(event.seq, event.prev_hash, event.hash, str(e))
            if verifier.broken:
                raise FileProblem(self._line, verifier.problems[0].detail)
            # Its content hashes right, spelled otherwise (`1e16` for `1e+16`): what a store
            # keeps is the text the hash covers, canonical JSON, as it was sealed.
            yield sealed._replace(
                payload_json=canonical_json(event.payload),
                metadata_json=canonical_json(event.metadata),
            )
        if (verifier.last_seq, verifier.head_hash) != (header.head.last_seq, header.head.last_hash):
            self._cut_short(verifier)

    def _cut_short(self, verifier: ChainVerifier) -> None:
        head = self.header.head
        if verifier.last_seq == head.last_seq:  # the last event is there, another hash
            raise FileProblem(
                self._line,
                f"seq {head.last_seq} has hash "
                f"{verifier.head_hash[:16]}…, the header's head "
                f"{head.last_hash[:16]}…",
            )
        raise FileProblem(
            self._line + 1,
            f"missing: the file ends after seq "
            f"{verifier.last_seq}, its header says the log "
            f"ends at seq {head.last_seq} (truncated)",
        )

    def _next_line(self) -> str | None:
        raw = self._stream.readline()
        if not raw:
            return None
        self._line += 1
        if not raw.endswith(b"\n"):
            raise FileProblem(self._line, "cut short: the file ends inside it (truncated)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FileProblem(self._line, f"is not UTF-8 ({e.reason} at byte {e.start})") from None
        if not text.strip():
            raise FileProblem(self._line, "is empty")
        return text

    @property
    def line(self) -> int:
        """The number of the last line read."""
        return self._line


def check_file(path: Path) -> FileSummary:
    """The whole file checked; FileProblem names the first bad line. OSError if it cannot
    be read."""
    with path.open("rb") as stream:
        reader = LogFileReader(stream)
        count = sum(1 for _ in reader.events())
        return FileSummary(reader.header, count, reader.header.head, reader.line)


def _seals(sealed: Sealed) -> bool:
    """Whether the sealed text spelled from the line's own texts hashes to its hash (the
    fast path); a text holding the key between metadata and payload is judged by content,
    as the databases judge it (SEALED_SPLIT)."""
    if SEALED_SPLIT in sealed.payload_json or SEALED_SPLIT in sealed.metadata_json:
        return False
    event = sealed.event
    text = sealed_text(
        event.seq,
        event.event_id,
        event.type,
        event.aggregate_type,
        event.aggregate_id,
        sealed.payload_json,
        sealed.metadata_json,
        event.idempotency_key,
        sealed.occurred_iso,
        sealed.recorded_iso,
        event.schema_version,
        event.prev_hash,
    )
    try:
        return sha256(text.encode("utf-8")).hexdigest() == event.hash
    except UnicodeEncodeError:  # a lone surrogate, which no database stores
        return False
