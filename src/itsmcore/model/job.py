"""Jobs: durable units of work (fulfilment steps, notifications, fan-out batches), as stored."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


class JobState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


@attrs.frozen(kw_only=True)
class Job:
    """One unit of durable work, as stored."""

    id: int
    demand_id: int | None
    customer_id: str | None
    announcement_id: int | None
    action: str
    step: int
    params: Mapping[str, Any]
    key: str
    state: JobState
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_until: datetime | None
    error: str | None
    result: Mapping[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
