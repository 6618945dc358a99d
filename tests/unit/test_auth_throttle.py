"""The lockout of an address after too many failed bearer attempts, on an injected clock."""

from __future__ import annotations

from app.api.auth_throttle import AuthThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **kwargs) -> AuthThrottle:
    return AuthThrottle(
        **{
            "max_failures": 3,
            "window_s": 60,
            "lockout_s": 30,
            "max_addresses": 100,
            "clock": clock,
            **kwargs,
        }
    )


def test_the_failure_that_reaches_the_limit_starts_the_lockout():
    clock = Clock()
    guard = throttle(clock)
    assert [guard.failed("a") for _ in range(2)] == [None, None]
    assert guard.retry_after("a") is None
    assert guard.failed("a") == 30
    assert guard.retry_after("a") == 30
    assert guard.retry_after("b") is None


def test_the_lockout_ends_after_its_time_and_the_count_starts_again():
    clock = Clock()
    guard = throttle(clock)
    for _ in range(3):
        guard.failed("a")
    clock.now += 29.5
    assert guard.retry_after("a") == 1  # whole seconds, never 0 while locked out
    clock.now += 0.5
    assert guard.retry_after("a") is None
    assert guard.failed("a") is None  # a fresh count: the old failures were cleared


def test_failures_spread_wider_than_the_window_never_lock_out():
    clock = Clock()
    guard = throttle(clock)
    for _ in range(10):
        assert guard.failed("a") is None
        clock.now += 31  # three failures always span more than 60 s
    assert guard.retry_after("a") is None


def test_the_window_slides():
    clock = Clock()
    guard = throttle(clock)
    guard.failed("a")
    clock.now += 50
    guard.failed("a")
    clock.now += 20  # the first is out of the window, the second still in
    assert guard.failed("a") is None
    clock.now += 1
    assert guard.failed("a") == 30


def test_many_addresses_keep_the_map_at_its_cap_forgetting_the_least_recent():
    clock = Clock()
    guard = throttle(clock, max_addresses=100)
    for _ in range(3):
        guard.failed("locked")
    for n in range(10_000):
        guard.failed(f"10.0.{n // 256}.{n % 256}")
        if n % 50 == 0:
            guard.failed("locked")  # heard again: kept
    assert len(guard) == 100
    assert guard.retry_after("locked") == 30
    assert guard.retry_after("10.0.0.0") is None
