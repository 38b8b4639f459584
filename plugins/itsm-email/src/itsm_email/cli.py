"""``itsm email ingest`` (a mailgate for the MTA) and ``itsm email poll`` (an IMAP poller)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, BinaryIO

import click

if TYPE_CHECKING:
    from itsmcore import Desk

    from .channel import EmailChannel
    from .gate import Mailgate

EX_TEMPFAIL = 75
EX_CONFIG = 78


@click.group("email")
def email_group() -> None:
    """Email channel: take mail in from an MTA (ingest) or an IMAP mailbox (poll)."""


def _channel(desk: Desk, wanted: str | None) -> tuple[str, EmailChannel]:
    from .channel import EmailChannel

    found = {name: c for name, c in desk.channels().items() if isinstance(c, EmailChannel)}
    if wanted is not None:
        if wanted not in found:
            known = ", ".join(sorted(found)) or "none"
            raise click.UsageError(f"no email channel named {wanted!r} (email channels: {known})")
        return wanted, found[wanted]
    if not found:
        raise click.UsageError('no email channel is configured: add a [channels.NAME] table with use = "email"')
    if len(found) > 1:
        raise click.UsageError(f"several email channels ({', '.join(sorted(found))}): choose one with --channel")
    name = next(iter(found))
    return name, found[name]


def _open(ctx: click.Context, channel: str | None) -> Mailgate:
    """Open the desk and the gate; anything that means "try again later" exits with EX_TEMPFAIL."""
    import itsmcore

    from .gate import Mailgate, is_store_error

    try:
        desk = itsmcore.open_desk(ctx)
        name, chan = _channel(desk, channel)
    except click.UsageError:
        raise
    except (itsmcore.ConfigError, itsmcore.PluginError) as e:
        # the MTA keeps the message queued while the config is fixed
        for line in str(e).splitlines():
            click.echo(f"tempfail: {line}", err=True)
        click.echo("tempfail: the deployment cannot be opened; the message will be retried")
        ctx.exit(EX_TEMPFAIL)
    except Exception as e:
        if not is_store_error(e):
            raise
        click.echo(f"tempfail: store unavailable: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        ctx.exit(EX_TEMPFAIL)
    return Mailgate(desk, chan, name)


def read_bounded(stream: BinaryIO, limit: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """The message on ``stream`` if it is at most ``limit`` bytes, and its size.

    A larger one is read to its end (the MTA expects its pipe emptied) but not kept:
    memory stays bounded by the limit, whatever the sender sent.
    """
    kept = bytearray()
    size = 0
    while True:
        data = stream.read(chunk)
        if not data:
            break
        size += len(data)
        if size <= limit:
            kept += data
    return (bytes(kept) if size <= limit else b""), size


@email_group.command("ingest")
@click.option("--channel", "channel", default=None, help="The email channel's name in the config (when several).")
@click.argument("message", type=click.File("rb"), default="-", required=False)
@click.pass_context
def ingest(ctx: click.Context, channel: str | None, message: BinaryIO | None) -> None:
    """Take one message (RFC 5322, on stdin or from MESSAGE) in, like an MTA's mailgate.

    Prints one line saying what happened and exits 0 when the message was handled
    (including when it was dropped as an auto-reply, bounce or list copy), 75
    (EX_TEMPFAIL) when the store or the config cannot be used now so the MTA retries,
    and 65 (EX_DATAERR) for an empty message or one over max_message_bytes, which the
    MTA bounces to its sender with the printed line.

    \b
    Postfix:  support: "|itsm -c /etc/itsm/itsm.toml email ingest"
    """
    from .gate import StoreDown

    gate = _open(ctx, channel)
    raw, size = read_bounded(message if message is not None else sys.stdin.buffer, gate.settings.max_message_bytes)
    refused = gate.too_large(size)
    if refused is not None:
        click.echo(refused.line)
        ctx.exit(refused.exit_code)
    try:
        outcome = gate.ingest(raw)
    except StoreDown as e:
        click.echo(f"tempfail: store unavailable: {e}")
        ctx.exit(EX_TEMPFAIL)
    click.echo(outcome.line)
    ctx.exit(outcome.exit_code)


@email_group.command("poll")
@click.option("--channel", "channel", default=None, help="The email channel's name in the config (when several).")
@click.option("--once", is_flag=True, help="Handle what is waiting, then exit (for cron); default: run until stopped.")
@click.pass_context
def poll(ctx: click.Context, channel: str | None, once: bool) -> None:
    """Read unseen mail from the channel's IMAP folder (imap_* settings) and take it in.

    Waits with IMAP IDLE between rounds when the server offers it, else every
    imap_poll_interval seconds. Prints one line per message. With --once, exits 75
    when the server or the store is unavailable.
    """
    import itsmcore

    from .imap import ImapPoller, run

    gate = _open(ctx, channel)
    try:
        poller = ImapPoller(gate.settings, gate.channel.context)
    except itsmcore.PermanentFailure as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EX_CONFIG)
    try:
        status = run(poller, lambda: gate, click.echo, once=once)
    except itsmcore.PermanentFailure as e:
        click.echo(f"error: {e}", err=True)
        status = EX_CONFIG
    except KeyboardInterrupt:
        status = 0
    finally:
        poller.close()
    ctx.exit(status)
