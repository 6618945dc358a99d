"""Errors the domain raises. Adapters translate them once, at their boundary."""


class DomainError(Exception):
    """Base of every error a use case can raise on purpose."""


class InvalidInput(DomainError):
    """What was asked cannot be stored or done as given."""


class NotFound(DomainError):
    """The named object does not exist."""


class Conflict(DomainError):
    """The request contradicts what is already recorded."""


class IdempotencyConflict(Conflict):
    """An idempotency key was reused with a different request."""


class StorageUnavailable(DomainError):
    """The event store could not be reached or did not commit."""


class LogContradicted(StorageUnavailable):
    """The log contradicts its own guarantees (a digest, its triggers, its chain): writes
    are refused until an operator has looked (`make verify`) and repaired or accepted it."""
