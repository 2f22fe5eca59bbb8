"""Prometheus metrics (prometheus_client), served at /metrics.

Counters and histograms follow the events (``observe``); gauges of what is true right now (agents
by state, calls waiting) and the plugin failure counts are read when Prometheus scrapes, so they
are never stale. Each server has a registry of its own, so two servers in one process (tests)
do not share numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.events import CallEvent, EventName
from callcenter.hooks.host import PluginHost

# Call setup is our own processing of invite/enqueue/accept (ms); waits and talk are human times.
SETUP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
WAIT_BUCKETS = (1, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
TALK_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
# The events that end a queue call, and the outcome each counts as.
OUTCOMES = {EventName.QUEUE_COMPLETED: "completed", EventName.QUEUE_ABANDONED: "abandoned",
            EventName.QUEUE_TIMED_OUT: "timed_out"}


class Metrics:
    def __init__(self, center: ContactCenter, plugins: PluginHost) -> None:
        self.registry = CollectorRegistry()
        self.setup = Histogram(
            "callcenter_call_setup_seconds",
            "Server time to carry out a call-setup request (invite, enqueue, accept)",
            ["request"], buckets=SETUP_BUCKETS, registry=self.registry)
        self.wait = Histogram(
            "callcenter_queue_wait_seconds", "Time in queue until answered or given up",
            ["app", "queue", "outcome"], buckets=WAIT_BUCKETS, registry=self.registry)
        self.talk = Histogram(
            "callcenter_call_talk_seconds", "Talk time of answered queue calls",
            ["app", "queue"], buckets=TALK_BUCKETS, registry=self.registry)
        self.calls = Counter(
            "callcenter_queue_calls", "Queue calls ended, by outcome",
            ["app", "queue", "outcome"], registry=self.registry)
        self.direct = Counter(
            "callcenter_direct_calls", "Direct (1:1 and group) calls ended",
            ["app", "answered"], registry=self.registry)
        self.registry.register(_LiveCollector(center, plugins))

    def observe(self, event: CallEvent) -> None:
        data = event.data
        queue = str(data.get("queue") or "")
        if event.name is EventName.QUEUE_ANSWERED:
            self.wait.labels(event.app_id, queue, "answered").observe(data.get("hold") or 0)
        elif event.name in OUTCOMES:
            outcome = OUTCOMES[event.name]
            self.calls.labels(event.app_id, queue, outcome).inc()
            if event.name is EventName.QUEUE_COMPLETED:
                self.talk.labels(event.app_id, queue).observe(data.get("talk") or 0)
            else:
                self.wait.labels(event.app_id, queue, outcome).observe(data.get("wait") or 0)
        elif event.name is EventName.ENDED and not data.get("queue"):
            self.direct.labels(event.app_id, str(bool(data.get("answered"))).lower()).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    """Read at scrape time: agents by state, calls waiting and in progress, plugin failures."""

    def __init__(self, center: ContactCenter, plugins: PluginHost) -> None:
        self.center = center
        self.plugins = plugins

    def collect(self) -> Iterator[Any]:
        agents = GaugeMetricFamily("callcenter_agents", "Agents by state now",
                                   labels=["app", "state"])
        waiting = GaugeMetricFamily("callcenter_queue_waiting", "Calls waiting in a queue now",
                                    labels=["app", "queue"])
        longest = GaugeMetricFamily("callcenter_queue_longest_wait_seconds",
                                    "The longest wait of a call in the queue now",
                                    labels=["app", "queue"])
        progress = GaugeMetricFamily("callcenter_queue_calls_in_progress",
                                     "Queue calls answered and not ended", labels=["app", "queue"])
        for app in self.center.config.apps:
            live = self.center.live(app.id)
            for state, count in live["agentsByState"].items():
                agents.add_metric([app.id, state], count)
            for queue in live["queues"]:
                waiting.add_metric([app.id, queue["name"]], queue["waiting"])
                longest.add_metric([app.id, queue["name"]], queue["longestWait"])
                progress.add_metric([app.id, queue["name"]], queue["inProgress"])
        failures = CounterMetricFamily("callcenter_plugin_failures",
                                       "Plugin hook calls that raised", labels=["plugin", "hook"])
        for (plugin, hook), count in sorted(self.plugins.failures.items()):
            failures.add_metric([plugin, hook], count)
        yield from (agents, waiting, longest, progress, failures)
