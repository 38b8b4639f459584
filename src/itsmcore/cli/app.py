"""The whole ``itsm`` command line: the root group from :mod:`.base` with every built-in command attached.

The only module that imports the group modules, so none of them needs another (or the
package): plugins' commands are added later, when the root group is first asked for a
command (``itsm_register_commands``, see :class:`.base.ItsmGroup`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..history import history  # click and the model; the desk loads when it runs
from .announcement import announcement
from .api_token import api_token
from .base import cli
from .catalog import catalog
from .change import change
from .ci import ci
from .customer import customer
from .db import db
from .demand import demand
from .demo import demo
from .deployment import check, init, plugins
from .jobs import jobs
from .kb import kb
from .plugin import plugin
from .problem import problem
from .queue import queue
from .report import report  # click only; the reports load when one runs
from .sla import sla
from .subscription import subscription
from .survey import survey
from .task import task

__all__ = ["cli", "main"]

for _command in (
    init,
    check,
    plugins,
    report,
    history,
    plugin,
    db,
    demand,
    catalog,
    ci,
    change,
    customer,
    jobs,
    announcement,
    kb,
    problem,
    api_token,
    subscription,
    survey,
    task,
    sla,
    queue,
    demo,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script entry point (``itsm = "itsmcore.cli:main"``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="itsm")
