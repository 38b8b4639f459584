"""The value demand journey (Expensatron): search, eligibility, asks, plans on durable jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from itsmcore import (
    ActionComponent,
    ActionResult,
    DemandState,
    Forbidden,
    IneligibleCustomer,
    InvalidAnswers,
    NoSettings,
    Stage,
    TemporaryFailure,
    UnknownService,
    hookimpl,
)
from itsmcore.desk import Desk


class Clock:
    """A clock the test moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def desk(eagle5: Callable[..., Path], database_url: str) -> Iterator[Desk]:
    with Desk.open(eagle5(database_url), entry_points=False) as d:
        yield d


# ---------------------------------------------------------------- catalog search


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Expensatron", "expensatron"),
        ("expenses", "expensatron"),
        ("expense", "expensatron"),
        ("expensatorn", "expensatron"),
        ("receipt", "expensatron"),
        ("smartphone", "smartphone"),
        ("iphone", "smartphone"),
        ("desktop computer", "desktop-pc"),
        ("crm", "crm"),
    ],
)
def test_search_ranks_name_and_keyword_matches_first(desk: Desk, query: str, first: str) -> None:
    results = desk.search(query)
    assert results, f"nothing found for {query!r}"
    assert results[0].service.key == first, [r.service.key for r in results]


def test_postgresql_search_runs_in_the_server_on_its_own_indexes(
    write_deployment: Callable[..., Path], postgres_url: str
) -> None:
    """On PostgreSQL the catalog is searched by its full-text (tsvector) and trigram (pg_trgm) indexes.

    The statements the desk sends are the ones the indexes serve (EXPLAIN, with sequential
    scans priced out, names the index), and only a few candidates come back to Python:
    no Python fallback over the whole catalog.
    """
    from sqlalchemy import event

    from tests.conftest import SERVICES

    many = "".join(
        f'\n[[services]]\nkey = "svc-{i}"\nname = "Service {i} widget"\n'
        f'description = "Routine widget number {i}."\nkeywords = ["widget", "routine"]\n'
        for i in range(600)
    )
    with Desk.open(write_deployment(database=postgres_url, services=SERVICES + many), entry_points=False) as desk:
        sent: list[tuple[str, object]] = []
        fetched: list[int] = []

        def before(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
            sent.append((statement, params))

        def after(_conn: object, cursor: object, *_: object) -> None:
            fetched.append(max(0, int(getattr(cursor, "rowcount", 0) or 0)))

        event.listen(desk.engine, "before_cursor_execute", before)
        event.listen(desk.engine, "after_cursor_execute", after)
        hits = desk.search("expenses")
        typo = desk.search("expensatorn")
        event.remove(desk.engine, "before_cursor_execute", before)
        event.remove(desk.engine, "after_cursor_execute", after)
        assert hits[0].service.key == "expensatron" and typo[0].service.key == "expensatron"
        fts = [(q, p) for q, p in sent if "to_tsquery" in q and "@@" in q]
        trgm = [(q, p) for q, p in sent if "<%" in q]
        assert fts and trgm, f"full-text and trigram statements expected among {[q for q, _ in sent]}"
        assert max(fetched) <= 40, "only candidates come back, never the whole catalog of 600"
        with desk.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            for (statement, params), index in [(fts[0], "ix_services_fts"), (trgm[0], "ix_services_trgm")]:
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))  # type: ignore[arg-type]
                assert index in plan, plan


def test_search_results_say_whether_this_customer_can_have_it(desk: Desk) -> None:
    (steve,) = [r for r in desk.search("expenses", customer="steve") if r.service.key == "expensatron"]
    assert steve.eligible
    (patrick,) = [r for r in desk.search("expenses", customer="patrick") if r.service.key == "expensatron"]
    assert not patrick.eligible
    assert patrick.reason == "Expensatron expenses app is available to Sales."
    assert patrick.next_step.startswith("Ask the service desk")


def test_the_catalog_says_you_already_have_it_with_the_earlier_request(desk: Desk) -> None:
    assert desk.already_has("steve", "expensatron") is None
    (before,) = [r for r in desk.search("expenses", customer="steve") if r.service.key == "expensatron"]
    assert before.held is None
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visits"}).demand
    assert desk.already_has("steve", "smartphone") is None, "waiting for approval is not having it"
    did = desk.submit("value", "steve", "", service="expensatron").demand.id
    assert desk.get(did).state is DemandState.FULFILLED
    held = desk.already_has("steve", "expensatron")
    assert held is not None and held.demand_id == did
    (after,) = [r for r in desk.search("expenses", customer="steve") if r.service.key == "expensatron"]
    assert after.held == held
    assert desk.already_has("tony", "expensatron") is None, "Steve's request is not Tony's"
    assert phone.id != did


def test_a_configuration_item_naming_the_service_means_the_customer_has_it(desk: Desk) -> None:
    held = desk.already_has("steve", "crm")  # the CMDB lists Steve's CRM (web) with service = "crm"
    assert held is not None and held.demand_id is None and held.item == "CRM (web)"
    (hit,) = [r for r in desk.search("crm", customer="steve") if r.service.key == "crm"]
    assert hit.held == held
    assert desk.already_has("patrick", "crm") is None, "no CRM item of his"


def test_search_for_nonsense_finds_nothing(desk: Desk) -> None:
    assert desk.search("zzqx") == []
    assert desk.search("") == []
    assert desk.search("!!! ??? ") == []


# ---------------------------------------------------------------- eligibility


def test_ineligible_customer_gets_a_reason_and_what_to_do(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    text = path.parent.joinpath("customers.toml").read_text()
    path.parent.joinpath("customers.toml").write_text(
        text + '\n[[customers]]\nid = "ian"\nname = "Ian Black"\nrole = "engineer"\nmanager = "scott"\n'
    )
    with Desk.open(path, entry_points=False) as desk:
        with pytest.raises(IneligibleCustomer) as info:
            desk.submit("value", "ian", "", service="expensatron", answers={"mobile_number": "+447700900555"})
        assert (
            info.value.reason.endswith("is available to Sales Manager and Sales.")
            or "available to" in info.value.reason
        )
        assert info.value.next_step == "Ask your manager, Scott, to request it for you."
        assert desk.list_demands() == [], "nothing is written for an ineligible request"


class Deny:
    @hookimpl
    def itsm_check_eligibility(self, desk, customer, service):  # type: ignore[no-untyped-def]
        from itsmcore import EligibilityDecision

        if service.key == "expensatron" and customer.id == "tony":
            return EligibilityDecision(
                eligible=False, reason="Your Expensatron licence is pending.", next_step="Try on Monday."
            )
        return None


def test_a_plugin_can_refuse_with_its_own_reason(eagle5: Callable[..., Path]) -> None:
    with Desk.open(eagle5(), entry_points=False, plugins=[Deny()]) as desk:
        with pytest.raises(IneligibleCustomer, match=r"licence is pending\. Try on Monday"):
            desk.submit("value", "tony", "", service="expensatron", answers={"mobile_number": "+447700900456"})
        assert desk.submit("value", "steve", "", service="expensatron").demand.state is DemandState.FULFILLED


# ---------------------------------------------------------------- asks


def test_only_the_asks_are_needed_and_the_rest_is_filled_in(desk: Desk) -> None:
    receipt = desk.submit("value", "steve", "", service="expensatron")
    d = desk.get(receipt.demand.id)
    assert d.answers == {"mobile_number": "+447700900123", "mobile_os": "iOS"}, "prefilled from directory and CMDB"
    assert d.state is DemandState.FULFILLED


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"mobile_number": "call me"}, "mobile_number", "country code"),
        (
            {"mobile_number": "+447700900123", "mobile_os": "Windows Phone"},
            "mobile_os",
            "Please choose one of: iOS, Android.",
        ),
        ({"mobile_number": "+447700900123", "shoe_size": "44"}, "shoe_size", "does not ask for this"),
    ],
)
def test_invalid_answers_get_messages_a_customer_understands(
    desk: Desk, answers: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(InvalidAnswers) as info:
        desk.submit("value", "steve", "", service="expensatron", answers=answers)
    assert message in info.value.errors[field]
    assert desk.list_demands() == []


def test_unknown_service(desk: Desk) -> None:
    with pytest.raises(UnknownService, match="did you mean 'expensatron'"):
        desk.submit("value", "steve", "", service="expensatorn")


# ---------------------------------------------------------------- plans on durable jobs


def test_the_expensatron_journey(desk: Desk) -> None:
    receipt = desk.submit(
        "value",
        "steve",
        "",
        service="expensatron",
        answers={"mobile_number": "+44 7700 900123", "mobile_os": "ios"},
        channel="portal",
        discovery="searched 'expenses'",
    )
    assert "Expensatron" in receipt.acknowledgement and receipt.links[0].url.endswith("quick-start")
    view = desk.show(receipt.demand.id)
    assert view.demand.state is DemandState.FULFILLED
    stages = [e.stage for e in view.journey]
    assert stages[:3] == [Stage.DISCOVER, Stage.ENGAGE, Stage.ACKNOWLEDGE]
    assert Stage.FULFIL in stages and stages.index(Stage.OUTCOME) > stages.index(Stage.FULFIL)
    sees = [e.customer_sees for e in view.journey]
    assert any("registered to you" in s for s in sees)
    assert any("https://apps.eagle5.example/expensatron/download" in s for s in sees)
    assert {j.state for j in view.jobs} == {"done"}
    keys = [j.key for j in view.jobs]
    assert len(keys) == len(set(keys)), "every job has its own idempotency key"
    purposes = [m["purpose"] for m in desk.messages(demand_id=receipt.demand.id)]
    assert sorted(purposes) == ["acknowledgement", "outcome", "progress"]
    assert "expensatron" in desk.subscribers("expensatron") or "steve" in desk.subscribers("expensatron")


def test_a_device_not_registered_to_the_customer_asks_the_customer_to_correct_it(desk: Desk) -> None:
    receipt = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900999"})
    view = desk.show(receipt.demand.id)
    assert view.demand.state is DemandState.IN_FULFILMENT, "the customer's to fix, not the service desk's"
    assert view.demand.waiting_for == "your corrected mobile number"
    assert not [j for j in view.jobs if j.state == "dead"]
    asked = [e for e in view.journey if e.kind == "needs_customer"]
    assert asked and "+447700900999 is not registered to you" in asked[0].customer_sees
    assert "Please send us the right mobile number" in asked[0].customer_sees
    assert any(m["purpose"] == "correction" for m in desk.messages(demand_id=receipt.demand.id))


class Flaky:
    """An action that fails temporarily twice, then works; records the keys it saw."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    @hookimpl
    def itsm_fulfilment_actions(self):  # type: ignore[no-untyped-def]
        outer = self

        class Action:
            def __init__(self, settings, context):  # type: ignore[no-untyped-def]
                pass

            def run(self, request):  # type: ignore[no-untyped-def]
                outer.keys.append(request.idempotency_key)
                if len(outer.keys) < 3:
                    raise TemporaryFailure("the account API answered 503")
                return ActionResult(customer_sees="Your account is ready.", outputs={"login": "steve.jones"})

        return [ActionComponent(name="test.flaky", factory=Action, params=NoSettings, description="flaky")]


def test_temporary_failures_are_retried_with_backoff_and_the_same_key(eagle5: Callable[..., Path]) -> None:
    path = eagle5()
    text = path.parent.joinpath("catalog/services.toml").read_text()
    path.parent.joinpath("catalog/services.toml").write_text(
        text.replace(
            '  { action = "cmdb.verify_device" },', '  { action = "cmdb.verify_device" },\n  { action = "test.flaky" },'
        )
    )
    flaky, clock = Flaky(), Clock()
    with Desk.open(path, entry_points=False, plugins=[flaky], clock=clock) as desk:
        d = desk.submit("value", "steve", "", service="expensatron").demand
        assert desk.get(d.id).state is DemandState.IN_FULFILMENT
        job = next(j for j in desk.jobs(demand_id=d.id) if j.action == "test.flaky")
        assert job.state == "pending" and job.attempts == 1 and "503" in (job.error or "")
        assert job.run_after > clock.now, "a retry waits for its backoff"
        assert desk.run_due_jobs() == 0
        for _ in range(2):
            clock.advance(minutes=10)
            desk.run_due_jobs()
        assert desk.get(d.id).state is DemandState.FULFILLED
        assert len(set(flaky.keys)) == 1 and len(flaky.keys) == 3
        assert desk.show(d.id).outputs["login"] == "steve.jones"


class Broken:
    @hookimpl
    def itsm_fulfilment_actions(self):  # type: ignore[no-untyped-def]
        class Action:
            def __init__(self, settings, context):  # type: ignore[no-untyped-def]
                pass

            def run(self, request):  # type: ignore[no-untyped-def]
                raise RuntimeError("bug in the plugin")

        return [ActionComponent(name="test.broken", factory=Action, description="always raises")]


def test_an_action_that_raises_is_retried_then_dead_and_can_be_retried_by_an_operator(
    eagle5: Callable[..., Path],
) -> None:
    path = eagle5()
    services = path.parent.joinpath("catalog/services.toml")
    services.write_text(
        services.read_text().replace('  { action = "cmdb.verify_device" },', '  { action = "test.broken" },')
    )
    clock = Clock()
    with Desk.open(path, entry_points=False, plugins=[Broken()], clock=clock) as desk:
        d = desk.submit("value", "steve", "", service="expensatron").demand
        for _ in range(6):
            clock.advance(hours=1)
            desk.run_due_jobs()
        job = next(j for j in desk.jobs(demand_id=d.id) if j.action == "test.broken")
        assert job.state == "dead" and job.attempts == 5 and "bug in the plugin" in (job.error or "")
        assert desk.get(d.id).state is DemandState.STUCK
        assert desk.get(d.id).summary, "the demand is kept"
        again = desk.retry_job(job.id)
        assert again.attempts == 1 and desk.get(d.id).state is DemandState.IN_FULFILMENT


ONCE_PLUGIN = '''
import os, signal
from pathlib import Path
from itsmcore import ActionComponent, ActionResult, hookimpl


class Once:
    """An account-creating action that records every idempotency key it is given."""

    def __init__(self, log):
        self.log = Path(log)

    @hookimpl
    def itsm_fulfilment_actions(self):
        log = self.log

        class Action:
            def __init__(self, settings, context):
                pass

            def run(self, request):
                seen = log.read_text().split() if log.exists() else []
                log.write_text(" ".join([*seen, request.idempotency_key]))
                if request.idempotency_key in seen:
                    return ActionResult(customer_sees="Your account is ready (it already existed).")
                if os.environ.get("KILL") == "1":
                    os.kill(os.getpid(), signal.SIGKILL)
                return ActionResult(customer_sees="Your account is ready.")

        return [ActionComponent(name="test.once", factory=Action, description="records keys")]
'''

SUBMIT = """
import sys
sys.path.insert(0, sys.argv[3])
from once_plugin import Once
from itsmcore.desk import Desk

with Desk.open(sys.argv[1], entry_points=False, plugins=[Once(sys.argv[2])]) as desk:
    print(desk.submit("value", "steve", "", service="expensatron").demand.id, flush=True)
"""


def test_a_process_killed_mid_job_leaves_the_job_to_be_picked_up_with_the_same_key(
    eagle5: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = eagle5()
    services = path.parent.joinpath("catalog/services.toml")
    services.write_text(
        services.read_text().replace('  { action = "cmdb.verify_device" },', '  { action = "test.once" },')
    )
    (tmp_path / "once_plugin.py").write_text(ONCE_PLUGIN)
    (tmp_path / "submit.py").write_text(SUBMIT)
    log = tmp_path / "keys.log"
    r = subprocess.run(
        [sys.executable, str(tmp_path / "submit.py"), str(path), str(log), str(tmp_path)],
        env={**os.environ, "KILL": "1"},
        capture_output=True,
        text=True,
    )
    assert r.returncode == -9, r.stderr
    (key,) = log.read_text().split()
    monkeypatch.syspath_prepend(str(tmp_path))
    from once_plugin import Once  # type: ignore[import-not-found]

    clock = Clock()
    clock.now = datetime.now(UTC) + timedelta(minutes=10)  # the killed process's lease has expired
    with Desk.open(path, entry_points=False, clock=clock, plugins=[Once(log)]) as desk:
        (d,) = desk.list_demands()
        assert d.state is DemandState.IN_FULFILMENT, "the demand was committed before the crash"
        desk.run_due_jobs()
        assert desk.get(d.id).state is DemandState.FULFILLED
    assert log.read_text().split() == [key, key], "the retry saw the same idempotency key"
    sys.modules.pop("once_plugin", None)


# ---------------------------------------------------------------- approvals


def test_approval_waits_for_the_manager_and_carries_on(desk: Desk) -> None:
    d = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand
    d = desk.get(d.id)
    assert d.state is DemandState.AWAITING_APPROVAL and d.waiting_for == "Scott (your manager)"
    assert any("waiting for approval from Scott" in e.customer_sees for e in desk.journey(d.id))
    with pytest.raises(Forbidden, match="waits for scott, not tony"):
        desk.approve(d.id, "tony")
    desk.approve(d.id, "scott", "Enjoy!")
    d = desk.get(d.id)
    assert d.state is DemandState.IN_FULFILMENT, "approved is not delivered: the phone is still to be shipped"
    assert d.waiting_for == "the logistics team to order and ship the phone"
    assert any(e.customer_sees == "Scott Miller approved your request. Enjoy!" for e in desk.journey(d.id))
    (task,) = desk.tasks(demand_id=d.id)
    desk.finish_task(task.id)
    assert desk.get(d.id).state is DemandState.FULFILLED


def test_rejection_tells_the_customer_why(desk: Desk) -> None:
    d = desk.submit("value", "tony", "", service="desktop-pc", answers={"reason": "gaming"}).demand
    desk.reject(d.id, "scott", "we use laptops in Sales")
    d = desk.get(d.id)
    assert d.state is DemandState.REJECTED
    assert "we use laptops in Sales" in desk.messages(demand_id=d.id)[0]["body"]


# ---------------------------------------------------------------- the command line


def test_value_demand_from_the_command_line(eagle5: Callable[..., Path]) -> None:
    cfg = str(eagle5())
    base = [sys.executable, "-m", "itsmcore", "-c", cfg]
    r = subprocess.run(
        [*base, "catalog", "search", "expensatorn", "--as", "patrick", "--format", "json"],
        capture_output=True,
        text=True,
    )
    first = json.loads(r.stdout)[0]
    assert first["id"] == "expensatron" and first["eligible"] is False and "Sales" in first["reason"]
    r = subprocess.run(
        [
            *base,
            "demand",
            "submit",
            "--kind",
            "value",
            "--customer",
            "steve",
            "--service",
            "expensatron",
            "--answer",
            "mobile_number=+447700900123",
            "--answer",
            "mobile_os=iOS",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["state"] == "fulfilled" and made["links"][0]["title"] == "Expensatron in two minutes"
    r = subprocess.run(
        [
            *base,
            "demand",
            "submit",
            "--kind",
            "value",
            "--customer",
            "steve",
            "--service",
            "expensatron",
            "--answer",
            "mobile_number=nope",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "mobile_number: Please give a phone number" in r.stderr
    r = subprocess.run([*base, "jobs", "list", "--format", "json"], capture_output=True, text=True)
    assert {j["state"] for j in json.loads(r.stdout)} == {"done"}


def test_plan_steps_are_attrs_validated_at_check_time() -> None:
    # the builtin actions' params classes are attrs classes with documented fields
    from itsmcore.builtin.actions import action_components

    for record in action_components():
        for field in attrs.fields(record.params):
            assert field.metadata.get("doc"), f"{record.name}.{field.name} has no doc"
