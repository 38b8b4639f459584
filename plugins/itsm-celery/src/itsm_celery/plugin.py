"""Hook implementations of itsm-celery: the ``celery`` runner (``itsm worker`` is an ``itsm.commands`` entry point).

Both are harmless when a deployment does not select ``[runner] use = "celery"``: the
record is only built when selected, and the command only runs when invoked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsmcore import hookimpl

if TYPE_CHECKING:
    from itsmcore import RunnerComponent

ITSM_CONTRACT = "1.0"


@hookimpl
def itsm_job_runners() -> list[RunnerComponent]:
    from .runner import celery_runner_component

    return [celery_runner_component()]
