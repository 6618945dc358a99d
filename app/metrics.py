"""The service's Prometheus metrics, served at GET /metrics.

Each `Metrics` has its own `CollectorRegistry`, never prometheus-client's global one: the
container builds one per app, and tests build many apps in one process. The adapters
feed it through plain callables the container hands them (`on_appended` to the unit of
work, `telegram_update` to the bot), so neither the domain nor the infrastructure knows
about Prometheus.

The chain-verify gauges describe the last verify *this process* ran. The `verify`
command runs in a process of its own, so they stay absent until the service itself
verifies (nothing in the service does yet; `record_verify` is the hook for it).
"""

from __future__ import annotations

import collections
import operator
import time
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from domain.chain import ChainReport
from domain.events import RecordedEvent
from domain.notifications import NOTIFICATION_DELIVERED, NOTIFICATION_EXPIRED

_TYPE = operator.attrgetter("type")
TELEGRAM_OUTCOMES = ("handled", "refused", "failed")
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.http_requests = Counter(
            "helionyx_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "helionyx_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=registry,
        )
        self.events_appended = Counter(
            "helionyx_events_appended",
            "Events this process committed to the log, by type",
            ["type"],
            registry=registry,
        )
        self.ingest_batch_size = Histogram(
            "helionyx_ingest_batch_size",
            "Messages per POST /api/v1/ingest/batch",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.telegram_updates = Counter(
            "helionyx_telegram_updates",
            "Telegram updates by outcome: handled (the owner's), refused (anyone else's), failed",
            ["outcome"],
            registry=registry,
        )
        for outcome in TELEGRAM_OUTCOMES:
            self.telegram_updates.labels(outcome)
        self.notifications_delivered = Counter(
            "helionyx_notifications_delivered",
            "Notifications Telegram confirmed (notification.delivered events)",
            registry=registry,
        )
        self.notifications_expired = Counter(
            "helionyx_notifications_expired",
            "Notifications given up on, undelivered, once no longer worth sending "
            "(notification.expired events; the next daily summary lists them)",
            registry=registry,
        )
        # Labelled children by their label values: `labels()` builds and checks its key on
        # every call, and these are counted on every request and every appended event.
        # Labels are route templates and event types, so both stay small.
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._appended_series: dict[str, Counter] = {}
        self._scraped = _ScrapedState()
        registry.register(self._scraped)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """`route`: a template or "unmatched" (bounded by the app's routes); a method
        outside HTTP's own is counted as "other", before any authentication, so invented
        methods cannot grow the series without bound."""
        if method not in HTTP_METHODS:
            method = "other"
        series = self._request_series.get((method, route, status))
        if series is None:
            series = (
                self.http_requests.labels(method, route, str(status)),
                self.http_duration.labels(method, route),
            )
            self._request_series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)

    def on_appended(self, events: Iterable[RecordedEvent]) -> None:
        """Called by the unit of work with the events of each transaction it committed."""
        # Counted by type first: a batch is a thousand events of one type.
        for type_, count in collections.Counter(map(_TYPE, events)).items():
            appended = self._appended_series.get(type_)
            if appended is None:
                appended = self._appended_series[type_] = self.events_appended.labels(type_)
            appended.inc(count)
            if type_ == NOTIFICATION_DELIVERED:
                self.notifications_delivered.inc(count)
            elif type_ == NOTIFICATION_EXPIRED:
                self.notifications_expired.inc(count)

    def observe_batch(self, size: int) -> None:
        self.ingest_batch_size.observe(size)

    def telegram_update(self, outcome: str) -> None:
        self.telegram_updates.labels(outcome).inc()

    def record_verify(self, report: ChainReport, at: float | None = None) -> None:
        self._scraped.verify = (report.intact, time.time() if at is None else at)

    def exposition(self, head_seq: int | None) -> bytes:
        """The text format; `head_seq` is the log head read for this scrape (None: unknown)."""
        self._scraped.head_seq = head_seq
        return generate_latest(self.registry)


class _ScrapedState(Collector):
    """Values read at scrape time, left out while unknown rather than reported as zero."""

    def __init__(self) -> None:
        self.head_seq: int | None = None
        self.verify: tuple[bool, float] | None = None

    def describe(self) -> Sequence[GaugeMetricFamily]:
        return []  # not known up front: the registry must not cache an empty description

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.head_seq is not None:
            yield GaugeMetricFamily(
                "helionyx_event_head_seq",
                "The seq of the last event in the log (its event count)",
                value=self.head_seq,
            )
        if self.verify is not None:
            intact, at = self.verify
            yield GaugeMetricFamily(
                "helionyx_chain_verify_intact",
                "1 when the last verify run by this process found the chain intact, else 0",
                value=1 if intact else 0,
            )
            yield GaugeMetricFamily(
                "helionyx_chain_verify_timestamp_seconds",
                "Unix time of the last verify run by this process",
                value=at,
            )
