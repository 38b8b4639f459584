"""The journey rollup: built in one pass the first time, folded in step by step after, to the same rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from itsmcore.desk import Desk
from itsmcore.history import Clock, generate, write_customers
from itsmcore.reports import Scope, experience_report, refresh_rollup
from itsmcore.reports.render import experience_dict
from itsmcore.store import tables as t

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
ROLLUP = (t.journey_stages, t.journey_totals, t.journey_days)


def snapshot(desk: Desk) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the rollup's tables, in key order, floats rounded (the two paths add in other orders)."""
    out = {}
    with desk.engine.connect() as conn:
        for table in ROLLUP:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(round(v, 3) if isinstance(v, float) else v for v in r) for r in rows]
    return out


def emptied(desk: Desk) -> None:
    """The rollup emptied, and how far it had read forgotten: as an upgrade that empties it leaves it."""
    with desk.engine.begin() as conn:
        for table in (*ROLLUP, t.report_state):
            conn.execute(delete(table))


def rebuilt(desk: Desk, progress: Callable[[str], object] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """The rollup emptied and built again from the same events by a first refresh; its snapshot."""
    emptied(desk)
    assert refresh_rollup(desk, progress) > 0
    return snapshot(desk)


def history_deployment(
    eagle5: Callable[..., Path], database_url: str, *, customers: int, seed: int
) -> tuple[Path, list[str]]:
    """The Eagle5 example's history deployment on the test's database, with ``customers`` made up."""
    config = eagle5().parent / "history.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sqlite:///history.db", database_url), encoding="utf-8")
    return config, write_customers(config.parent / "history-customers.toml", customers, seed=seed)


def test_the_first_refresh_builds_what_refreshes_along_the_way_fold_in(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    config, customers = history_deployment(eagle5, database_url, customers=40, seed=5)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        folded: list[int] = []
        # a refresh every few days while the history plays: the incremental fold
        generate(
            desk,
            clock,
            customers,
            demands=80,
            days=21,
            seed=11,
            progress=lambda day: folded.append(refresh_rollup(desk)) if day % 4 == 0 else None,
        )
        folded.append(refresh_rollup(desk))
        assert len([n for n in folded if n]) > 2, "the rollup was folded in several steps"
        stepwise = snapshot(desk)
        report = experience_dict(experience_report(desk, Scope()))
        assert stepwise["journey_stages"] and stepwise["journey_totals"] and stepwise["journey_days"]
        # the same events, the rollup emptied: the first refresh builds it in one pass
        steps: list[str] = []
        assert rebuilt(desk, steps.append) == stepwise
        assert steps == ["stages", "leaving times", "durations", "per demand", "per day", "statistics"]
        assert experience_dict(experience_report(desk, Scope())) == report
        assert refresh_rollup(desk) == 0, "nothing new: nothing read"


def _migrate(desk: Desk, revision: str) -> None:
    """``itsm db upgrade`` (or down) to ``revision``, on the desk's own database."""
    from alembic import command
    from alembic.config import Config

    from itsmcore.store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with desk.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)
    # as after `itsm db upgrade` the desk's processes start again: no pooled connection keeps
    # what SQLite had prepared against the schema as it was (a PRAGMA is answered when prepared)
    desk.engine.dispose()


def test_upgrading_from_0022_empties_the_rollup_and_the_next_report_builds_it_again(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """Migration 0023 creates the rollup's tables again without their foreign keys to demands."""
    from sqlalchemy import func, insert, inspect

    config, customers = history_deployment(eagle5, database_url, customers=20, seed=7)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        generate(desk, clock, customers, demands=30, days=7, seed=3)
        assert refresh_rollup(desk) > 0
        built = snapshot(desk)
        report = experience_dict(experience_report(desk, Scope()))
        with desk.engine.connect() as conn:
            rows = {table.name: conn.execute(select(table)).all() for table in (*ROLLUP, t.report_state)}

        _migrate(desk, "0022")  # the rollup as 0022 kept it: foreign keys to demands, and filled
        with desk.engine.begin() as conn:
            assert inspect(conn).get_foreign_keys("journey_stages")
            for table in (*ROLLUP, t.report_state):
                conn.execute(delete(table))
                conn.execute(insert(table), [r._asdict() for r in rows[table.name]])

        _migrate(desk, "head")
        with desk.engine.connect() as conn:
            for table in ROLLUP:
                assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
                assert not inspect(conn).get_foreign_keys(table.name)
            assert conn.execute(select(t.report_state).where(t.report_state.c.name == "journey_stages")).first() is None
        # the next report builds the rollup again, to the same rows and figures
        assert experience_dict(experience_report(desk, Scope())) == report
        assert snapshot(desk) == built


def test_a_first_refresh_that_fails_leaves_the_rollup_as_it_was_and_the_next_one_builds_it(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """The build drops the rollup's indexes while its rows go in: a failure undoes the drops with the rest."""
    from sqlalchemy import func, inspect

    config, customers = history_deployment(eagle5, database_url, customers=20, seed=9)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        generate(desk, clock, customers, demands=30, days=7, seed=5)

        def indexes() -> dict[str, set[str]]:
            with desk.engine.connect() as conn:
                return {table.name: {ix["name"] for ix in inspect(conn).get_indexes(table.name)} for table in ROLLUP}

        before = indexes()
        assert before["journey_stages"] and before["journey_totals"]

        def interrupted(step: str) -> None:
            if step == "leaving times":
                raise RuntimeError("stopped halfway")

        with pytest.raises(RuntimeError, match="stopped halfway"):
            refresh_rollup(desk, interrupted)
        assert indexes() == before
        with desk.engine.connect() as conn:
            for table in ROLLUP:
                assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
        # the next refresh builds it whole, as if the first had never started
        steps: list[str] = []
        assert refresh_rollup(desk, steps.append) > 0
        assert steps[-1] == "statistics"
        assert indexes() == before
        assert snapshot(desk)["journey_stages"]
        assert experience_report(desk, Scope()).overall.journeys > 0


def test_a_stage_begun_in_two_channels_at_once_counts_the_first_written_whichever_way_it_was_folded(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """Two events open a stage at the same instant: both paths take the channel of the one written first."""
    clock = Clock(START)
    with Desk.open(eagle5(database_url), entry_points=False, clock=clock) as desk:
        desk.submit("failure", "steve", "no sound in calls", channel="portal")
        assert refresh_rollup(desk) > 0  # built: what follows is folded in
        for first, then in (("phone", "email"), ("email", "phone")):
            did = desk.submit("failure", "tony", f"printer jam by {first}", channel=first).demand.id
            desk.comment(did, "and the scanner too", actor="customer", channel=then)  # the same instant
        assert refresh_rollup(desk) > 0
        stepwise = snapshot(desk)
        assert rebuilt(desk) == stepwise
        with desk.engine.connect() as conn:
            began = conn.execute(
                select(t.journey_stages.c.demand_id, t.journey_stages.c.channel).where(t.journey_stages.c.demand_id > 1)
            ).all()
        assert began and {(d, c) for d, c in began} == {(2, "phone"), (3, "email")}


def test_two_reports_refreshing_at_once_fold_each_event_once(eagle5: Callable[..., Path], database_url: str) -> None:
    """Two processes' reports refresh at the same moment: one folds the new events, the other finds them folded."""
    import threading

    config, customers = history_deployment(eagle5, database_url, customers=20, seed=13)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        generate(desk, clock, customers, demands=20, days=5, seed=13)
        assert refresh_rollup(desk) > 0
        for n in range(6):  # new events to fold
            did = desk.submit("failure", "tony", f"printer jam {n}", channel="phone").demand.id
            desk.comment(did, "any news?", actor="customer", channel="email")
        with Desk.open(config, entry_points=False, clock=clock) as other:
            start = threading.Barrier(2)
            folded: list[int] = []
            failed: list[BaseException] = []

            def refresh(d: Desk) -> None:
                start.wait(timeout=30)
                try:
                    folded.append(refresh_rollup(d))
                except BaseException as e:
                    failed.append(e)

            threads = [threading.Thread(target=refresh, args=(d,)) for d in (desk, other)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=120)
        assert not failed, failed
        assert sorted(folded)[0] == 0 and sorted(folded)[1] > 0, "one folded them, the other found them folded"
        stepwise = snapshot(desk)
        assert rebuilt(desk) == stepwise, "each event folded once"


def test_a_journey_that_entered_its_stages_out_of_order_is_timed_in_the_order_it_lived_them(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """The first build reads each stage's leaving time in stage order and mends the journeys that were not.

    An import of history (written past the desk) has one journey back in fulfilment after its outcome,
    one confirmed before its outcome and with two stages begun at one instant, and one in stage order:
    each stage is left when the next one in time began (on a tie, the next in stage order), on both paths.
    """
    from datetime import timedelta

    from sqlalchemy import insert

    clock = Clock(START)
    with Desk.open(eagle5(database_url), entry_points=False, clock=clock) as desk:
        ids = [desk.submit("failure", "steve", f"no sound in calls {n}", channel="portal").demand.id for n in range(3)]
        assert refresh_rollup(desk) > 0  # built: what follows is folded in
        lived = {  # minutes after submission, in the order written
            ids[0]: [("acknowledge", 5), ("outcome", 10), ("fulfil", 20), ("confirm", 30)],
            ids[1]: [("acknowledge", 1), ("confirm", 5), ("outcome", 7), ("fulfil", 7)],
            ids[2]: [("acknowledge", 3), ("fulfil", 6), ("outcome", 9)],
        }
        with desk.engine.begin() as conn:
            conn.execute(
                insert(t.journey_events),
                [
                    {
                        "demand_id": d,
                        "stage": s,
                        "channel": "phone",
                        "actor": "system",
                        "kind": "step",
                        "at": START + timedelta(minutes=m),
                    }
                    for d, steps in lived.items()
                    for s, m in steps
                ],
            )
        assert refresh_rollup(desk) > 0
        stepwise = snapshot(desk)
        # the same events, the rollup emptied: the first refresh builds it in one pass
        assert rebuilt(desk) == stepwise
        J = t.journey_stages
        with desk.engine.connect() as conn:
            rows = conn.execute(select(J.c.demand_id, J.c.stage, J.c.pos, J.c.entered, J.c.left_at, J.c.secs)).all()
        for d in ids:
            lived_order = sorted((r for r in rows if r.demand_id == d), key=lambda r: (r.entered, r.pos))
            for stage, after in zip(lived_order, [*lived_order[1:], None]):
                if after is None:
                    assert stage.left_at is None and stage.secs is None, (d, stage.stage)
                else:
                    assert stage.left_at == after.entered, (d, stage.stage)
                    assert stage.secs == pytest.approx(after.entered - stage.entered) and stage.secs >= 0
        secs = {(r.demand_id, r.stage): r.secs for r in rows}
        assert secs[ids[0], "outcome"] == pytest.approx(600.0) and secs[ids[0], "fulfil"] == pytest.approx(600.0)
        assert secs[ids[1], "confirm"] == pytest.approx(120.0)  # then the outcome
        assert secs[ids[1], "fulfil"] == pytest.approx(0.0)  # begun with the outcome, and before it in stage order
        assert secs[ids[1], "outcome"] is None  # the last begun


def test_db_upgrade_builds_an_emptied_rollup_so_the_first_report_after_it_need_not(
    eagle5: Callable[..., Path], database_url: str
) -> None:
    """``itsm db upgrade`` folds the journeys in at the newest schema (unless ``--no-rollup``), and says so."""
    from click.testing import CliRunner
    from sqlalchemy import func

    from itsmcore.cli import cli

    config, customers = history_deployment(eagle5, database_url, customers=10, seed=3)
    clock = Clock(START)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        generate(desk, clock, customers, demands=12, days=3, seed=3)
        assert refresh_rollup(desk) > 0
        built = snapshot(desk)
        emptied(desk)

    def upgrade(*options: str) -> str:
        r = CliRunner().invoke(cli, ["-c", str(config), "db", "upgrade", *options])
        assert r.exit_code == 0, r.output
        return r.output

    out = upgrade("--no-rollup")
    assert "journey rollup" not in out
    with Desk.open(config, entry_points=False) as desk, desk.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.journey_stages)).scalar_one() == 0
    out = upgrade("--quiet")
    assert "journey rollup:" in out and "events folded in" in out, out
    with Desk.open(config, entry_points=False) as desk:
        assert snapshot(desk) == built
        assert refresh_rollup(desk) == 0, "the first report after it finds nothing to fold"
    assert "journey rollup" not in upgrade(), "nothing new: nothing said"
