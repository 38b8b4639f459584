"""``itsm kb ...``: the knowledge base: write, edit, publish and retire articles; their list, text and history."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from .base import FORMAT, emit, open_desk

#: Exit status of an edit refused because someone else saved the article since it was started.
EXIT_CONFLICT = 3


def _actor(by: str | None) -> str:
    return by or os.environ.get("ITSM_ACTOR") or os.environ.get("USER") or "agent"


BY = click.option(
    "--by",
    default=None,
    metavar="NAME",
    help="Who makes the change, for the history (default: $ITSM_ACTOR, else $USER).",
)


def _row(a: Any) -> dict[str, Any]:
    return {
        "key": a.key,
        "title": a.title,
        "state": str(a.state),
        "version": a.version,
        "services": list(a.services),
        "keywords": list(a.keywords),
        "audience": list(a.audience) or ["everyone"],
        "owner": a.owner,
        "updated_at": a.updated_at.isoformat(timespec="seconds"),
        "updated_by": a.updated_by,
    }


def _read(path: Path) -> dict[str, Any]:
    from ..model.knowledge import parse_document

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.BadParameter(f"cannot read {path}: {e}", param_hint="--file") from None
    return parse_document(text)


@click.group()
def kb() -> None:
    """The knowledge base: articles customers find in the portal's search and in self-service answers.

    An article is written as a draft, published for its audience (directory groups, or
    everyone) and retired when it no longer holds. Every change is a version: see
    'itsm kb history KEY'. An article as text is 'name: value' header lines (title,
    services, keywords, audience, owner), a blank line, then the body in Markdown.
    """


@kb.command("new")
@click.argument("key")
@click.option("--title", default=None, help="The title, in the customer's words.")
@click.option("--body", default=None, help="The body in Markdown (or give --file).")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Read the article from this file ('-': standard input): header lines, a blank line, the body.",
)
@click.option("--service", "services", multiple=True, help="A service the article is about (repeat for more).")
@click.option("--keyword", "keywords", multiple=True, help="A word customers use for it (repeat for more).")
@click.option("--audience", "audience", multiple=True, help="A directory group that may read it; none: everyone.")
@click.option("--owner", default=None, help="Who keeps it up to date (default: whoever writes it).")
@click.option("--publish", is_flag=True, help="Publish it at once (customers find it from now on).")
@BY
@FORMAT
@click.pass_context
def kb_new(
    ctx: click.Context,
    key: str,
    title: str | None,
    body: str | None,
    file: Path | None,
    services: tuple[str, ...],
    keywords: tuple[str, ...],
    audience: tuple[str, ...],
    owner: str | None,
    publish: bool,
    by: str | None,
    fmt: str,
) -> None:
    """Write a new article KEY as a draft (or --publish it at once)."""
    fields: dict[str, Any] = _read(file) if file is not None else {}
    actor = _actor(by)
    desk = open_desk(ctx)
    article = desk.knowledge.create(
        key,
        title if title is not None else str(fields.get("title", "")),
        body if body is not None else str(fields.get("body", "")),
        services=services or tuple(fields.get("services", ())),
        keywords=keywords or tuple(fields.get("keywords", ())),
        audience=audience or tuple(fields.get("audience", ())),
        owner=owner if owner is not None else str(fields.get("owner", "")),
        actor=actor,
    )
    if publish:
        article = desk.knowledge.publish(key, actor=actor)
    if fmt == "json":
        emit(fmt, _row(article), [])
        return
    click.echo(f"article {key} version {article.version} saved as {article.state}")


@kb.command("edit")
@click.argument("key")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Take the new text from this file ('-': standard input) instead of opening $EDITOR.",
)
@click.option(
    "--base",
    "base",
    type=click.IntRange(min=1),
    default=None,
    help="The version the new text was started from (default: the latest when the command starts).",
)
@click.option("--title", default=None, help="Change only the title.")
@click.option("--note", default="edited", show_default=True, help="Why it changed, for the history.")
@BY
@click.pass_context
def kb_edit(
    ctx: click.Context, key: str, file: Path | None, base: int | None, title: str | None, note: str, by: str | None
) -> None:
    """Save a new version of article KEY: from --file, --title, or as edited in $EDITOR.

    When someone else saved a different text after the version the edit started from,
    nothing is saved: the command prints what changed meanwhile and exits with status 3.
    """
    from ..desk.knowledge import document

    desk = open_desk(ctx)
    current = desk.knowledge.get(key)
    start = base if base is not None else current.version
    fields: dict[str, Any]
    if file is not None:
        fields = _read(file)
    elif title is not None:
        fields = {"title": title}
    else:
        from ..model.knowledge import parse_document

        edited = click.edit(document(desk.knowledge.version(key, start)), extension=".md", require_save=True)
        if edited is None:
            click.echo("no change saved (the editor was closed without saving)")
            return
        fields = parse_document(edited)
    if title is not None:
        fields["title"] = title
    try:
        article = desk.knowledge.edit(key, base_version=start, actor=_actor(by), note=note, **fields)
    except Exception as e:
        from ..model.knowledge import EditConflict

        if not isinstance(e, EditConflict):
            raise
        for line in str(e).splitlines():
            click.echo(f"error: {line}" if line and not line.startswith(("-", "+", "@", " ")) else line, err=True)
        ctx.exit(EXIT_CONFLICT)
    if article.version == current.version:
        click.echo(f"article {key} unchanged (version {article.version})")
        return
    click.echo(f"article {key} version {article.version} saved ({article.state})")


@kb.command("publish")
@click.argument("key")
@BY
@click.pass_context
def kb_publish(ctx: click.Context, key: str, by: str | None) -> None:
    """Publish article KEY: customers in its audience find it in search and answers from now on."""
    article = open_desk(ctx).knowledge.publish(key, actor=_actor(by))
    click.echo(f"article {key} published (version {article.version})")


@kb.command("retire")
@click.argument("key")
@click.option("--note", default="retired", show_default=True, help="Why, for the history.")
@BY
@click.pass_context
def kb_retire(ctx: click.Context, key: str, note: str, by: str | None) -> None:
    """Retire article KEY: no longer found or offered. Warns about open demands it answered."""
    done = open_desk(ctx).knowledge.retire(key, actor=_actor(by), note=note)
    click.echo(f"article {key} retired (version {done.article.version})")
    if done.open_demands:
        ids = ", ".join(f"#{d}" for d in done.open_demands)
        click.echo(
            f"warning: {len(done.open_demands)} open demand(s) were answered with this article: {ids}; "
            "their customers may come back to it (itsm demand show ID)",
            err=True,
        )


@kb.command("list")
@click.option("--state", type=click.Choice(["draft", "published", "retired"]), default=None, help="Only these.")
@click.option("--service", default=None, help="Only articles about this service.")
@FORMAT
@click.pass_context
def kb_list(ctx: click.Context, state: str | None, service: str | None, fmt: str) -> None:
    """Articles, by key: state, version, services, audience, who changed each last."""
    rows = [_row(a) for a in open_desk(ctx).knowledge.articles(state=state, service=service)]
    emit(fmt, rows, ["key", "title", "state", "version", "services", "audience", "owner", "updated_by", "updated_at"])


@kb.command("show")
@click.argument("key")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help="An earlier version.")
@click.option("--html", is_flag=True, help="The body as the portal shows it (rendered and sanitised HTML).")
@click.pass_context
def kb_show(ctx: click.Context, key: str, version: int | None, html: bool) -> None:
    """An article as text (header lines, a blank line, the Markdown body): what 'itsm kb edit' opens."""
    from ..desk.knowledge import document

    desk = open_desk(ctx)
    article = desk.knowledge.version(key, version) if version is not None else desk.knowledge.get(key)
    if html:
        click.echo(desk.knowledge.render(article))
        return
    click.echo(f"# {key} version {article.version}, {article.state}", err=True)
    click.echo(document(article), nl=False)


@kb.command("history")
@click.argument("key")
@click.option(
    "--diff",
    "versions",
    type=click.IntRange(min=1),
    nargs=2,
    default=None,
    metavar="OLD NEW",
    help="Print what changed between two versions instead (a unified diff).",
)
@FORMAT
@click.pass_context
def kb_history(ctx: click.Context, key: str, versions: tuple[int, int] | None, fmt: str) -> None:
    """Every version of article KEY: who changed it, when, why, and its state."""
    desk = open_desk(ctx)
    if versions:
        click.echo(desk.knowledge.diff(key, versions[0], versions[1]) or "the two versions say the same", nl=False)
        return
    rows = [
        {
            "version": v.version,
            "state": str(v.state),
            "changed_by": v.changed_by,
            "changed_at": v.changed_at.isoformat(timespec="seconds"),
            "note": v.note,
            "title": v.title,
        }
        for v in desk.knowledge.history(key)
    ]
    emit(fmt, rows, ["version", "state", "changed_by", "changed_at", "note", "title"])
