"""The desk's lookups for integrations: demands a page at a time, customers by search, a customer's
subscriptions, and the reports as JSON-ready data by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from itsmcore import REPORT_NAMES, Desk, UnknownCustomer, UnknownService, report_data


def test_demands_page_by_page_with_before(eagle5: Callable[..., Path]) -> None:
    with Desk.open(eagle5()) as desk:
        ids = [desk.submit("failure", "tony", f"VPN drops {i}", channel="phone").demand.id for i in range(5)]
        first = desk.list_demands(customer="tony", limit=2)
        assert [d.id for d in first] == ids[::-1][:2]
        rest = desk.list_demands(customer="tony", limit=10, before=first[-1].id)
        assert [d.id for d in rest] == ids[::-1][2:]
        assert desk.list_demands(customer="tony", before=min(ids)) == []


def test_a_customers_subscriptions(eagle5: Callable[..., Path]) -> None:
    with Desk.open(eagle5()) as desk:
        desk.subscribe("tony", "crm")
        assert "crm" in desk.subscriptions_of("tony")
        desk.unsubscribe("tony", "crm")
        assert "crm" not in desk.subscriptions_of("tony")
        with pytest.raises(UnknownCustomer):
            desk.subscriptions_of("nobody-at-all")


def test_report_data_by_name(eagle5: Callable[..., Path]) -> None:
    with Desk.open(eagle5()) as desk:
        desk.submit("failure", "tony", "VPN drops", channel="phone")
        for name in REPORT_NAMES:
            data = report_data(desk, name)
            assert json.loads(json.dumps(data)) == data, name  # plain JSON
        with pytest.raises(ValueError, match="unknown report"):
            report_data(desk, "nonsense")
        with pytest.raises(UnknownService):
            report_data(desk, "journeys", service="no-such-service")
