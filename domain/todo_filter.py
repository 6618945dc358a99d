"""Which todos a list shows and in what order: `GET /api/v1/todos`'s filters and sorts.

The repositories filter and order in their database; `TodoFilter.keeps` and `sort_key`
say the same in Python (the in-memory fakes use them, and one contract suite checks
every backend against them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.changes import choice
from domain.errors import InvalidInput
from domain.extraction import normalise_tags
from domain.listing import BY_NUMBER, Key, Reader, day_or_none, instant_or_none, number
from domain.objects import TODO_PRIORITIES, TODO_STATUSES, Todo

SORTS = ("number", "due")

# Where a todo without a due sorts: after the rest; one without a time on its day: before
# the timed ones (as the agenda lists a day, domain/agenda.py).
LAST_DAY = date(9999, 12, 31)
FIRST_INSTANT = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TodoFilter:
    """status None: every status. due_before and due_after compare the due day (in the
    owner's time zone, as the read model keeps it), both strictly; with either, todos
    without a due are left out. `sort="due"`: soonest due first, on a day those without
    a time and then the timed ones by time, undated last; ties by number."""

    status: str | None = "open"
    tag: str | None = None
    priority: str | None = None
    due_before: date | None = None
    due_after: date | None = None
    sort: str = "number"

    @classmethod
    def asked(
        cls,
        status: str | None = "open",
        tag: str | None = None,
        priority: str | None = None,
        due_before: date | None = None,
        due_after: date | None = None,
        sort: str = "number",
    ) -> TodoFilter:
        """From what a client or the owner typed; InvalidInput for what names nothing."""
        if status is not None and status.strip().lower() == "all":
            status = None
        if tag is not None:
            tags = normalise_tags([tag])
            if not tags:
                raise InvalidInput("tag must not be empty")
            tag = tags[0]
        return cls(
            status=None if status is None else choice(status, TODO_STATUSES, "status"),
            tag=tag,
            priority=None if priority is None else choice(priority, TODO_PRIORITIES, "priority"),
            due_before=due_before,
            due_after=due_after,
            sort=choice(sort, SORTS, "sort"),
        )

    def keeps(self, todo: Todo) -> bool:
        if self.status is not None and todo.status != self.status:
            return False
        if self.tag is not None and self.tag not in todo.tags:
            return False
        if self.priority is not None and todo.priority != self.priority:
            return False
        if self.due_before is not None and (todo.due is None or todo.due >= self.due_before):
            return False
        return self.due_after is None or (todo.due is not None and todo.due > self.due_after)

    @property
    def ordering(self) -> str:
        """What a cursor of this list names: the list and its order."""
        return f"todos.{self.sort}"

    @property
    def key_readers(self) -> tuple[Reader, ...]:
        return BY_NUMBER if self.sort == "number" else (day_or_none, instant_or_none, number)

    def key_of(self, todo: Todo) -> Key:
        """The todo's place in this order, as a cursor carries it."""
        if self.sort == "number":
            return (todo.number,)
        return (todo.due, todo.due_at, todo.number)


def sort_key(key: Key) -> tuple[date, datetime, int]:
    """A due ordering's key with its blanks filled in, to compare: (day, instant, number)."""
    day, moment, n = key
    assert isinstance(n, int)
    return (
        day if isinstance(day, date) else LAST_DAY,
        moment if isinstance(moment, datetime) else FIRST_INSTANT,
        n,
    )
