"""itsm-celery: run itsmcore's durable jobs on Celery workers.

The job row in the deployment's database stays the source of truth; the broker only
carries job ids. See :mod:`itsm_celery.runner` (the runner component),
:mod:`itsm_celery.worker` (the task, the sweeper, the ``itsm worker`` command).
"""

from __future__ import annotations

__version__ = "0.1.0"
