"""Failed bearer attempts per client address, and the lockout that follows too many.

After `max_failures` failures from one address within `window_s` seconds, that address
is locked out for `lockout_s`: every guarded request from it is answered 429 with
Retry-After before its token is looked at, a correct token included. Otherwise the
lockout would tell a guesser when a guess was right, and guessing would go on at full
speed. A success does not clear the count either: an attacker sharing the owner's
address (a NAT, a proxy) must not get fresh guesses from the owner's own requests.

Memory is bounded: past `max_addresses` the address heard least recently is forgotten
(SECURITY.md, "Audit log"). Someone with that many addresses can guess from each of
them anyway; the lockout slows guessing, the token's length is what stops it.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Failures:
    times: deque[float]
    locked_until: float = field(default=-math.inf)


class AuthThrottle:
    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 60.0,
        lockout_s: float = 60.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_addresses = max_addresses
        self._clock = clock
        self._addresses: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until `address` may try again, or None when it is not locked out."""
        failures = self._addresses.get(address)
        if failures is None:
            return None
        left = failures.locked_until - self._clock()
        return max(1, math.ceil(left)) if left > 0 else None

    def failed(self, address: str) -> int | None:
        """Counts one failed attempt; returns the lockout in whole seconds when this
        failure starts one, else None."""
        now = self._clock()
        failures = self._addresses.pop(address, None)
        if failures is None:
            failures = _Failures(deque(maxlen=self.max_failures))
        self._addresses[address] = failures  # the most recently heard, last
        if len(self._addresses) > self.max_addresses:
            self._addresses.popitem(last=False)
        failures.times.append(now)
        if len(failures.times) < self.max_failures or now - failures.times[0] > self.window_s:
            return None
        failures.times.clear()  # after the lockout, a fresh count
        failures.locked_until = now + self.lockout_s
        return max(1, math.ceil(self.lockout_s))

    def __len__(self) -> int:
        return len(self._addresses)
