"""Inbound events: what a channel took in is known after a restart, per channel, and old ids are let go."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from itsmcore.desk import Desk


def test_an_inbound_event_is_known_after_a_restart_and_only_on_its_channel(
    write_deployment: Callable[..., Path],
) -> None:
    config = write_deployment()
    with Desk.open(config) as desk:
        assert not desk.inbound_seen("chat", "Ev1")
        assert desk.remember_inbound("chat", "Ev1") is True
        assert desk.remember_inbound("chat", "Ev1") is False  # a retry handled twice is kept once
        assert desk.inbound_seen("chat", "Ev1") and not desk.inbound_seen("sms", "Ev1")
    with Desk.open(config) as desk:  # another process, or the same one restarted
        assert desk.inbound_seen("chat", "Ev1")
        later = desk.clock() + timedelta(days=8)
        desk.clock = lambda: later
        desk.remember_inbound("chat", "Ev2")  # the first write of a process also lets old ids go
        assert not desk.inbound_seen("chat", "Ev1") and desk.inbound_seen("chat", "Ev2")
