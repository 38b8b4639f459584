"""``itsm worker``: a thin wrapper over Celery's worker for a deployment using the celery runner."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from itsmcore import Desk

log = logging.getLogger("itsm_celery.worker")


@click.command("worker")
@click.option("--concurrency", "-C", type=int, default=None, help="Worker processes (default: the runner setting).")
@click.option(
    "--loglevel",
    "-l",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=None,
    help="Log level of the worker (default: the global --log-level, or info).",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
    help="Celery execution pool.",
)
@click.option("--hostname", "-n", default=None, help="Node name (default: itsm-PID@HOST).")
@click.option("--no-sweep", is_flag=True, help="Do not run the sweeper in this worker.")
@click.pass_context
def worker(
    ctx: click.Context, concurrency: int | None, loglevel: str | None, pool: str, hostname: str | None, no_sweep: bool
) -> None:
    """Run jobs of a deployment whose [runner] uses "celery".

    Takes job ids from the broker queue, claims each job in the database (only one
    worker wins) and executes it; failed jobs are retried from the database with
    backoff. Every worker also sweeps: it queues due jobs nobody queued (retries,
    fan-out notifications, messages lost with a broker, jobs of a dead worker whose
    lease ran out). Run as many as the load needs, on any host reaching the broker
    and the database. Stop with Ctrl-C (SIGTERM): running jobs finish first.
    """
    from itsmcore import PluginError

    from .runner import CeleryRunner
    from .worker import install_signals

    obj = ctx.obj or {}
    config = obj.get("config")
    # the global --log-level/--log-format (or $ITSM_LOG_LEVEL/$ITSM_LOG_FORMAT) unless said here or in [runner]
    loglevel = (loglevel or obj.get("log_level") or "info").lower()
    with _open_when_reachable(config) as desk:
        runner = desk.deployment.runner()
        if not isinstance(runner, CeleryRunner):
            raise PluginError(
                "celery",
                f"'itsm worker' needs [runner] use = \"celery\" in the config (it uses {desk.config.runner.use!r})",
            )
        settings = runner.settings
        path = str(desk.config.path)
        app = runner.app
    os.environ["ITSM_CONFIG"] = path  # pool processes open the desk from it
    install_signals(path, loglevel, obj.get("log_format") or settings.log_format, sweep=not no_sweep)
    argv = [
        "worker",
        f"--concurrency={concurrency or settings.concurrency}",
        f"--loglevel={loglevel.upper()}",
        f"--pool={pool}",
        f"--queues={settings.queue}",
        f"--hostname={hostname or f'itsm-{os.getpid()}@%h'}",
        "--without-gossip",
        "--without-mingle",
    ]
    app.worker_main(argv)


def _open_when_reachable(config: str | None) -> Desk:
    """Open the desk, waiting (0.5 s, 1 s, 2 s ... up to 30 s apart) while the database cannot be reached.

    A worker started during a database restart, or before the database on a fresh host,
    waits for it as Celery waits for its broker, instead of exiting.
    """
    from itsmcore import Desk, StoreUnavailable

    delay = 0.5
    while True:
        try:
            return Desk.open(config)
        except StoreUnavailable as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            log.warning("database not reachable, trying again in %.1fs: %s", delay, first)
            time.sleep(delay)
            delay = min(30.0, delay * 2)
