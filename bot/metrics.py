"""What operators watch: Prometheus metrics of one bot process (prometheus_client, text format).

One `Metrics` per process (held by the Telegram adapter's `Core`), each with its own registry so that
tests running several bots in one process do not share counters. Counters of things that happen in
this process (updates, replies, reloads) are incremented where they happen; figures that must survive
a restart (broadcast deliveries, the outbox backlog) are read from the store at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# replies take milliseconds when all is well; the upper buckets show Telegram being slow or 429s
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _StoreCollector:
    """Reads delivery totals and the outbox backlog from the store on every scrape."""

    def __init__(self, totals: Callable[[], dict[str, int]], depth: Callable[[], int]) -> None:
        self.totals, self.depth = totals, depth

    def collect(self) -> Iterator[Any]:
        deliveries = CounterMetricFamily("bot_broadcast_deliveries", "Announcement deliveries by final state "
                                         "(sent, blocked, failed), all time", labels=["state"])
        try:
            totals = self.totals()
            depth = self.depth()
        except Exception:  # the store is unusable: /healthz says why; the scrape still answers
            return
        for state in ("sent", "blocked", "failed"):
            deliveries.add_metric([state], totals.get(state, 0))
        yield deliveries
        yield GaugeMetricFamily("bot_outbox_depth", "Messages waiting to be sent (announcements and personal "
                                "notices such as reminders)", value=depth)


class Metrics:
    def __init__(self, totals: Callable[[], dict[str, int]] | None = None,
                 depth: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter("bot_updates", "Updates received, by kind (message, command, callback_query, "
                               "inline_query, other)", ["kind"], registry=r)
        self.reply_seconds = Histogram("bot_reply_seconds", "Time from an update's arrival to the end of its "
                                       "handling", buckets=LATENCY_BUCKETS, registry=r)
        self.questions = Counter("bot_questions", "Free-text questions by outcome (answer, ambiguous, none, "
                                 "time, …)", ["outcome"], registry=r)
        self.unanswered = Counter("bot_unanswered", "Questions the bot could not answer", registry=r)
        self.reloads = Counter("bot_knowledge_reloads", "Knowledge reloads applied", registry=r)
        self.reload_failures = Counter("bot_knowledge_reload_failures", "Knowledge reloads refused (invalid "
                                       "files, timeouts, errors)", registry=r)
        if totals is not None and depth is not None:
            r.register(_StoreCollector(totals, depth))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
