"""The stream's documented defaults and the never-dropped queue's warning (docs/streaming.md).

The manual's Streaming page states the defaults in prose (and may state them in a table); both are
checked against :class:`StreamConfig`, so neither can drift from the code.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields

import pytest

from lighter_sync.stream import StreamConfig
from lighter_sync.subscriptions import BOUNDED, RELIABLE, EventHub, Subscription
from tests.docs.pages import page

STREAMING = page("streaming.md")

# (a sentence of the Streaming page, the StreamConfig fields it states, their documented values)
PROSE = [
    ("a ping goes out every 20 s", {"ping_interval": 20.0}),
    ("than the watchdog (60 s by default", {"silence_timeout": 60.0}),
    ("exponential backoff (0.25 s doubling to 30 s, with jitter)", {"backoff_initial": 0.25, "backoff_max": 30.0}),
    ("bounded FIFO (10,000; oldest dropped and counted)", {"trades_backlog": 10_000}),
    ("logs a warning when it passes 10,000 undelivered events", {"high_water": 10_000}),
]


@pytest.mark.parametrize(("sentence", "values"), PROSE, ids=[next(iter(v)) for _s, v in PROSE])
def test_the_documented_defaults_are_the_dataclass_defaults(sentence, values):
    assert sentence in " ".join(STREAMING.split()), f"docs/streaming.md no longer says {sentence!r}: update this test"
    defaults = StreamConfig()
    assert {k: getattr(defaults, k) for k in values} == values


def test_pacing_stays_under_the_venue_limits_the_docs_name():
    assert "subscribe (paced: <200 msgs/min, <50 in flight)" in STREAMING
    d = StreamConfig()
    assert d.max_messages_per_minute < 200 and d.max_in_flight < 50


def test_a_docs_table_of_stream_config_defaults_matches_the_dataclass():
    """Any table row of docs/streaming.md ``| `field` | default | ...`` naming a StreamConfig field must agree."""
    defaults = {f.name: f.default for f in fields(StreamConfig)}
    rows = re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*`?([^|`]+?)`?\s*\|", STREAMING, flags=re.M)
    for name, text in rows:
        if name not in defaults:
            continue
        number = re.match(r"[\d.,_]+", text.strip())
        if number is None:
            assert str(defaults[name]).lower() in text.lower(), (name, text)
            continue
        assert float(number.group().replace(",", "").replace("_", "")) == float(defaults[name]), (name, text)


def test_a_never_dropped_queue_warns_once_past_10000_then_at_each_doubling(caplog):
    hub = EventHub()
    sub = hub.add(Subscription(hub, "orders", RELIABLE))  # the default mark, as the client uses it
    with caplog.at_level(logging.WARNING, logger="lighter_sync.stream"):
        hub.publish([(sub, None, i) for i in range(9_999)])
        assert caplog.records == []
        hub.publish([(sub, None, 9_999)])
        assert [r.getMessage() for r in caplog.records] == [
            "subscription orders has 10000 undelivered events; is the consumer keeping up?"
        ]
        hub.publish([(sub, None, i) for i in range(10_000, 19_999)])
        assert len(caplog.records) == 1  # not once per event
        hub.publish([(sub, None, 19_999)])
        assert len(caplog.records) == 2 and "20000" in caplog.records[-1].getMessage()
    assert sub.depth == 20_000 and sub.dropped == 0  # warned, never dropped
    assert [sub.get(0) for _ in range(20_000)] == list(range(20_000))


def test_the_warning_rearms_once_the_reader_catches_up(caplog):
    hub = EventHub()
    sub = hub.add(Subscription(hub, "fills", RELIABLE, high_water=10))
    with caplog.at_level(logging.WARNING, logger="lighter_sync.stream"):
        hub.publish([(sub, None, i) for i in range(10)])
        for _ in range(7):
            sub.get(0)  # read down below half the mark (3 left): a new backlog is news again
        hub.publish([(sub, None, i) for i in range(6)])
        assert len(caplog.records) == 1  # 9 waiting
        hub.publish([(sub, None, 6)])
    assert len(caplog.records) == 2  # 10 waiting again


def test_a_bounded_queue_drops_instead_of_warning(caplog):
    hub = EventHub()
    sub = hub.add(Subscription(hub, "trades", BOUNDED, max_pending=10_000))
    with caplog.at_level(logging.WARNING, logger="lighter_sync.stream"):
        hub.publish([(sub, None, i) for i in range(10_005)])
    assert caplog.records == [] and sub.dropped == 5 and sub.get(0) == 5


def test_an_auth_token_whose_expiry_is_not_ascii_digits_has_no_expiry():
    from lighter_sync.stream import _token_expiry  # noqa: PLC0415

    assert _token_expiry("1800000000:1:4:sig") == 1800000000.0
    for head in ("\u00b2", "\u2460", "1\u00b2", "", "-5", "1.5"):
        assert _token_expiry(f"{head}:1:4:sig") is None, head
