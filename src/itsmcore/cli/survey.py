"""``itsm survey ...``: survey answers recorded from the command line."""

from __future__ import annotations

import click

from .base import open_desk


@click.group()
def survey() -> None:
    """Survey answers (NPS, CSAT, CES, or a plugin's method)."""


@survey.command("answer")
@click.option("--customer", default=None, help="Who answers (not needed with --token).")
@click.option("--score", type=int, required=True)
@click.option("--method", default=None, help="Survey method (default: the deployment's).")
@click.option("--comment", default="")
@click.option("--demand", "demand_id", type=int, default=None, help="The demand it is about (transactional).")
@click.option("--token", default=None, help="The signed survey link or its last part.")
@click.option("--tracker", is_flag=True, help="A tracker survey (over time), not about one demand.")
@click.pass_context
def survey_answer(
    ctx: click.Context,
    customer: str | None,
    score: int,
    method: str | None,
    comment: str,
    demand_id: int | None,
    token: str | None,
    tracker: bool,
) -> None:
    """Record a survey answer (refused when outside the method's scale)."""
    r = open_desk(ctx).answer_survey(
        score,
        customer=customer,
        method=method,
        comment=comment,
        demand_id=demand_id,
        token=token,
        mode="tracker" if tracker else "transactional",
        channel="cli",
    )
    click.echo(f"survey answer {r.id}: {r.method} {r.score} from {r.customer_id}")
