"""Building outbound mail: a multipart/alternative message, plain text and escaped HTML."""

from __future__ import annotations

import html
import string
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP

from itsmcore import Link

from .text import clean_body, clean_header

_HTML = string.Template(
    """<!DOCTYPE html>
<html lang="$lang">
<head><meta charset="utf-8"><title>$subject</title></head>
<body style="font-family: sans-serif; line-height: 1.4;">
$paragraphs
$links
<p style="color: #666; font-size: smaller;">$footer</p>
</body>
</html>
"""
)


def _link_line(link: Link) -> str:
    return f"{link.title}: {link.url}"


def text_body(body: str, links: Sequence[Link], footer: str, link_line: Callable[[Link], str] = _link_line) -> str:
    lines = [body.rstrip()]
    if links:
        lines.append("")
        lines += [link_line(link) for link in links]
    if footer:
        lines += ["", "-- ", footer]
    return "\n".join(lines) + "\n"


def html_body(subject: str, body: str, links: Sequence[Link], footer: str, language: str = "en") -> str:
    paragraphs = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in block.splitlines()) + "</p>"
        for block in body.strip().split("\n\n")
        if block.strip()
    )
    items = "\n".join(
        f'<li><a href="{html.escape(link.url, quote=True)}">{html.escape(link.title)}</a></li>' for link in links
    )
    return _HTML.substitute(
        subject=html.escape(subject),
        paragraphs=paragraphs,
        links=f"<ul>\n{items}\n</ul>" if items else "",
        footer=html.escape(footer),
        lang=html.escape(language.replace("_", "-"), quote=True),
    )


def build(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    links: Sequence[Link],
    html_override: str | None,
    message_id: str,
    reply_to: str | None,
    in_reply_to: str | None,
    references: Sequence[str],
    footer: str,
    loop_tag: str,
    extra: dict[str, str],
    link_line: Callable[[Link], str] = _link_line,
    language: str = "en",
) -> EmailMessage:
    """One outbound message; every header value goes through the email package's folding and encoding.

    Control characters are taken out of the subject, the body and the link titles first: a NUL
    a customer typed (or a broken client sent) must not reach an SMTP header.
    """
    from email.utils import formatdate

    subject = clean_header(subject)
    body = clean_body(body)
    links = [Link(title=clean_header(link.title), url=clean_header(link.url)) for link in links]

    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(dict.fromkeys(references))
    # RFC 3834: this is machine-generated; well-behaved responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    # Exchange/Outlook: no out-of-office or read receipts back to us.
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = loop_tag
    for name, value in extra.items():
        msg[name] = value
    msg.set_content(text_body(body, links, footer, link_line), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(
        html_override if html_override is not None else html_body(subject, body, links, footer, language),
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    return msg
