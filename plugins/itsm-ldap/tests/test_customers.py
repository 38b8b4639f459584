"""Customers as the directory describes them: attribute map, manager, nested groups, devices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import CIKind

from .conftest import Slapd


@pytest.fixture
def directory(slapd: Slapd, make_directory: Callable[..., Any]) -> Any:
    return make_directory(slapd)


def test_attribute_map(directory: Any) -> None:
    steve = directory.get_customer("steve")
    assert steve.name == "Steve Jones"  # displayName
    assert steve.email == "steve@eagle5.example"
    assert steve.mobile == "+447700900123"
    assert steve.role == "sales"  # title
    assert steve.department == "Sales"
    assert steve.manager == "scott"  # manager DN -> scott's uid
    assert steve.attributes["dn"] == "uid=steve,ou=people,dc=eagle5,dc=example"
    assert steve.attributes["employee_number"] == "1001"
    assert steve.attributes["upn"] == "sjones@corp.eagle5.example"
    ivan = directory.get_customer("ivan")
    assert ivan.name == "Ivan Petrov"  # no displayName: falls back to cn
    assert ivan.department == "IT"  # no department: falls back to departmentNumber
    assert ivan.mobile is None and ivan.manager is None


def test_custom_attribute_map(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(
        slapd,
        attributes={"name": "cn", "role": "departmentNumber,title", "mobile": "", "manager": ""},
        id_attribute="sAMAccountName",
    )
    steve = d.get_customer("sjones")
    assert steve.id == "sjones" and steve.role == "sales" and steve.mobile is None and steve.manager is None
    assert d.get_customer("ipetrov").role == "IT"
    assert d.get_customer("steve") is None  # the id is sAMAccountName now


def test_manager_ids_follow_the_id_attribute(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, id_attribute="sAMAccountName")
    assert d.get_customer("sjones").manager == "smiller"
    assert {c.id: c.manager for c in d.list_customers()}["dleft"] == "smiller"


def test_lookup_is_case_insensitive_and_unknown_is_none(directory: Any) -> None:
    assert directory.get_customer("STEVE").id == "steve"
    assert directory.get_customer("nobody") is None
    assert directory.get_customer("") is None


def test_find_by_email(directory: Any) -> None:
    assert directory.find_by_email("Scott@Eagle5.example").id == "scott"
    assert directory.find_by_email("nobody@eagle5.example") is None


def test_list_customers_in_pages(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, page_size=1)
    assert sorted(c.id for c in d.list_customers()) == ["dana", "ivan", "scott", "steve"]


def test_nested_groups_are_walked(directory: Any) -> None:
    # steve is in sales; sales is in commercial; commercial is in everyone
    assert directory.get_customer("steve").groups == ("commercial", "everyone", "sales")
    assert directory.get_customer("scott").groups == ("commercial", "everyone", "managers")


def test_group_cycles_end(directory: Any) -> None:
    # loop-a contains loop-b, which contains loop-a and ivan
    assert directory.get_customer("ivan").groups == ("everyone", "it", "loop-a", "loop-b")


def test_nesting_depth_limit(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, nested_depth=1)
    assert d.get_customer("steve").groups == ("commercial", "sales")


def test_nesting_off_keeps_direct_groups(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, nested_groups="off")
    assert d.get_customer("steve").groups == ("sales",)
    assert d.get_customer("ivan").groups == ("it", "loop-b")


def test_groups_without_member_of(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    # servers without the memberOf overlay: direct groups come from searching member=<DN>
    d = make_directory(slapd, attributes={"groups": ""})
    assert d.get_customer("steve").groups == ("commercial", "everyone", "sales")


def test_ad_in_chain_rule_is_asked_and_harmless_on_openldap(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    # OpenLDAP does not know 1.2.840.113556.1.4.1941 and answers nothing: only direct groups remain.
    d = make_directory(slapd, nested_groups="ad")
    assert d.get_customer("steve").groups == ("sales",)


def test_group_base_dn_limits_groups(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, group_base_dn="ou=devices,dc=eagle5,dc=example")
    assert d.get_customer("steve").groups == ()


def test_devices_from_the_directory(directory: Any) -> None:
    items = directory.configuration_items("steve")
    assert [ci.id for ci in items] == ["ci-laptop-steve", "ci-phone-steve"]
    phone = items[1]
    assert phone.kind is CIKind.DEVICE and phone.name == "Steve's iPhone" and phone.owner == "steve"
    assert phone.attributes["serial"] == "F2LXK1"
    assert items[0].name == "ci-laptop-steve"  # no description: the cn
    assert directory.configuration_items("ivan") == ()
    assert directory.configuration_items("nobody") == ()


def test_no_devices_table_means_no_devices(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    assert make_directory(slapd, devices=None).configuration_items("steve") == ()


def test_cache_keeps_lookups_off_the_server(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, cache_seconds=300)
    first = d.get_customer("steve")
    d._pool.close()  # no connection left: a cache miss would have to open one, and
    d._servers.servers = []  # there is no server to open it to
    assert d.get_customer("steve") is first
