"""Progress off a terminal: plain lines, every interval or every tenth, never a flood."""

from __future__ import annotations

import io

from app.cli.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_line_per_tenth_with_count_percent_rate_and_eta():
    stream, clock = io.StringIO(), FakeClock()
    with Progress(
        "import-chatgpt", total=10_000, stream=stream, interval=60, clock=clock
    ) as progress:
        for _ in range(10):
            clock.now += 0.5
            progress.advance(1000)
    out = lines(stream)
    assert len(out) == 10
    assert out[3] == "import-chatgpt: 4000/10000 (40%), 2000/s, eta 3s"
    assert out[-1] == "import-chatgpt: 10000/10000 (100%), 2000/s"


def test_small_steps_do_not_flood_the_output():
    stream, clock = io.StringIO(), FakeClock()
    with Progress("verify", total=1_000_000, stream=stream, interval=2.0, clock=clock) as progress:
        for _ in range(50_000):
            clock.now += 0.0001
            progress.advance(1)
    # 5 s of work, 5% done: one line per 2 s, none for a tenth.
    assert lines(stream) == [
        "verify: 20000/1000000 (2%), 10000/s, eta 98s",
        "verify: 40000/1000000 (4%), 10000/s, eta 96s",
    ]


def test_a_line_every_interval_even_within_a_tenth():
    stream, clock = io.StringIO(), FakeClock()
    with Progress("rebuild", total=100, stream=stream, interval=2.0, clock=clock) as progress:
        clock.now += 2.5
        progress.advance(1)
    assert lines(stream) == ["rebuild: 1/100 (1%), 0.4/s, eta 248s"]


def test_elapsed_and_rate_for_the_callers_summary():
    stream, clock = io.StringIO(), FakeClock()
    with Progress("import-chatgpt", total=10, stream=stream, clock=clock) as progress:
        clock.now += 4
        progress.advance(10)
    assert progress.elapsed == 4 and progress.rate == 2.5


def test_a_zero_total_does_not_divide_by_zero():
    stream = io.StringIO()
    with Progress("import-chatgpt", total=0, stream=stream, clock=FakeClock()) as progress:
        progress.advance(0)
    assert lines(stream) == ["import-chatgpt: 0/0 (100%), 0/s"]


def test_on_a_terminal_the_rich_bar_writes_no_plain_lines():
    stream = io.StringIO()
    with Progress("import-chatgpt", total=3, stream=stream, tty=True) as progress:
        progress.advance(3)
    assert "import-chatgpt: 3/3" not in stream.getvalue()
    assert progress.done == 3
