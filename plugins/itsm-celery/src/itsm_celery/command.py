"""``itsm worker``: a thin wrapper over Celery's worker for a deployment using the celery runner."""

from __future__ import annotations

import os

import click


@click.command("worker")
@click.option("--concurrency", "-C", type=int, default=None, help="Worker processes (default: the runner setting).")
@click.option(
    "--loglevel",
    "-l",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
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
    ctx: click.Context, concurrency: int | None, loglevel: str, pool: str, hostname: str | None, no_sweep: bool
) -> None:
    """Run jobs of a deployment whose [runner] uses "celery".

    Takes job ids from the broker queue, claims each job in the database (only one
    worker wins) and executes it; failed jobs are retried from the database with
    backoff. Every worker also sweeps: it queues due jobs nobody queued (retries,
    fan-out notifications, messages lost with a broker, jobs of a dead worker whose
    lease ran out). Run as many as the load needs, on any host reaching the broker
    and the database. Stop with Ctrl-C (SIGTERM): running jobs finish first.
    """
    from itsmcore import Desk, PluginError

    from .runner import CeleryRunner
    from .worker import install_signals

    config = ctx.obj.get("config") if ctx.obj else None
    with Desk.open(config) as desk:
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
    install_signals(path, loglevel, settings.log_format, sweep=not no_sweep)
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
