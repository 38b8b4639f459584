"""A small plugin the tests name in ``[plugins] modules``: an action that records its effect, and a large directory.

``celerytest.record`` writes the step's idempotency key into ``celerytest_effects``
(unique key). A second execution of the same step finds the key there and records a
replay in ``celerytest_replays`` instead of a second effect, so the tests can tell
"executed once in effect" from "executed twice". Before its (optional) sleep it notes
which process started it in ``celerytest_started``, so a test can kill that process.

``synthetic`` is a directory of ``count`` customers ``c0000001``... who all use the
service ``service`` (one CMDB item each): an announcement audience of any size.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

import attrs
from itsmcore import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    ComponentContext,
    ConfigurationItem,
    Customer,
    DirectoryComponent,
    PermanentFailure,
    hookimpl,
)
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

ITSM_CONTRACT = "1.0"

TABLES = (
    "CREATE TABLE IF NOT EXISTS celerytest_effects (key TEXT PRIMARY KEY, pid INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS celerytest_replays (id SERIAL PRIMARY KEY, key TEXT NOT NULL, pid INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS celerytest_started (id SERIAL PRIMARY KEY, key TEXT NOT NULL, pid INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS celerytest_switch (name TEXT PRIMARY KEY)",
)


@attrs.frozen(kw_only=True)
class RecordParams:
    sleep: float = attrs.field(default=0.0, metadata={"doc": "Seconds to sleep before recording the effect."})


class RecordAction:
    def __init__(self, _settings: object, _context: ComponentContext) -> None:
        pass

    def run(self, request: ActionRequest) -> ActionResult:
        pid = os.getpid()
        engine = request.desk.engine
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM celerytest_switch WHERE name = 'fail'")).first():
                raise PermanentFailure("the test switched failures on")
        if request.params.sleep:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO celerytest_started (key, pid) VALUES (:k, :p)"),
                    {"k": request.idempotency_key, "p": pid},
                )
            time.sleep(request.params.sleep)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO celerytest_effects (key, pid) VALUES (:k, :p)"),
                    {"k": request.idempotency_key, "p": pid},
                )
        except IntegrityError:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO celerytest_replays (key, pid) VALUES (:k, :p)"),
                    {"k": request.idempotency_key, "p": pid},
                )
        return ActionResult(behind_scenes=f"recorded {request.idempotency_key} in process {pid}")


@attrs.frozen(kw_only=True)
class SyntheticSettings:
    count: int = attrs.field(default=100, metadata={"doc": "How many customers."})
    service: str = attrs.field(default="mail", metadata={"doc": "The service every customer uses."})


class SyntheticDirectory:
    def __init__(self, settings: SyntheticSettings, _context: ComponentContext) -> None:
        self.count = settings.count
        self.service = settings.service

    def _make(self, n: int) -> Customer:
        return Customer(id=f"c{n:07d}", name=f"Customer {n}")

    def get_customer(self, customer_id: str) -> Customer | None:
        if customer_id.startswith("c") and customer_id[1:].isdigit() and 1 <= int(customer_id[1:]) <= self.count:
            return self._make(int(customer_id[1:]))
        return None

    def list_customers(self) -> Iterator[Customer]:
        return (self._make(n) for n in range(1, self.count + 1))

    def authenticate(self, login: str, password: str) -> Customer | None:
        return None

    def configuration_items(self, customer_id: str) -> Sequence[ConfigurationItem]:
        if self.get_customer(customer_id) is None:
            return ()
        return (
            ConfigurationItem(
                id=f"app-{customer_id}",
                kind="application",
                name="Mail",
                owner=customer_id,
                attributes={"service": self.service},
            ),
        )


@hookimpl
def itsm_fulfilment_actions() -> list[ActionComponent]:
    return [ActionComponent(name="celerytest.record", factory=RecordAction, params=RecordParams)]


@hookimpl
def itsm_directories() -> list[DirectoryComponent]:
    return [DirectoryComponent(name="synthetic", factory=SyntheticDirectory, settings=SyntheticSettings)]
