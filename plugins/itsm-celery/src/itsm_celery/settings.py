"""Settings of the ``celery`` runner: the ``[runner]`` table when ``use = "celery"``."""

from __future__ import annotations

from typing import Literal

import attrs


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than 0, got {value!r}")


def _no_password(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    from urllib.parse import urlsplit

    if urlsplit(value).password:
        raise ValueError(
            "broker_url must not hold a password; put the whole URL in the variable named by broker_url_env, "
            "or the password in broker_password_env / broker_password_file"
        )


@attrs.frozen(kw_only=True)
class CelerySettings:
    """How jobs reach Celery workers and how workers find jobs nobody queued."""

    broker_url: str = attrs.field(
        default="redis://127.0.0.1:6379/0",
        validator=_no_password,
        metadata={"doc": "Broker URL without a password (redis://host:port/db or amqp://user@host//)."},
    )
    broker_url_env: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "Environment variable holding the whole broker URL (with its password); wins over broker_url."
        },
    )
    broker_password_env: str | None = attrs.field(
        default=None, metadata={"doc": "Environment variable holding the broker password, put into broker_url."}
    )
    broker_password_file: str | None = attrs.field(
        default=None,
        metadata={"doc": "File holding the broker password (relative to the config file), put into broker_url."},
    )
    queue: str = attrs.field(default="itsm", metadata={"doc": "Broker queue the job ids are sent to."})
    sweep_interval: float = attrs.field(
        default=5.0,
        validator=_positive,
        metadata={
            "doc": "Seconds between sweeps for due jobs nobody queued (retries, fan-out batches, lost messages)."
        },
    )
    sweep_batch: int = attrs.field(
        default=5000, metadata={"doc": "At most this many due jobs are looked at by one sweep."}
    )
    requeue_after: float = attrs.field(
        default=120.0,
        validator=_positive,
        metadata={"doc": "Seconds a queued job id is not queued again by a sweep while its message is in flight."},
    )
    prefetch: int = attrs.field(
        default=1, metadata={"doc": "Messages a worker process reserves ahead (Celery worker_prefetch_multiplier)."}
    )
    acks_late: bool = attrs.field(
        default=True, metadata={"doc": "Acknowledge a message after its job ran, not before (Celery task_acks_late)."}
    )
    concurrency: int = attrs.field(
        default=2, metadata={"doc": "Default number of worker processes of 'itsm worker' (--concurrency wins)."}
    )
    visibility_timeout: float = attrs.field(
        default=3600.0,
        validator=_positive,
        metadata={"doc": "Redis only: seconds before an unacknowledged message is delivered again."},
    )
    connect_timeout: float = attrs.field(
        default=3.0,
        validator=_positive,
        metadata={"doc": "Seconds a submitting process waits for the broker before leaving the job to the sweeper."},
    )
    lease_seconds: float | None = attrs.field(
        default=None,
        metadata={
            "doc": "Claim lease of jobs run by the workers, in seconds (default: the core's, 5 minutes). "
            "The environment variable ITSM_CELERY_LEASE_SECONDS wins."
        },
    )
    log_format: Literal["text", "json"] = attrs.field(
        default="text",
        metadata={
            "doc": "Worker log lines as text or as one JSON object per line; itsm --log-format (ITSM_LOG_FORMAT) wins."
        },
    )
