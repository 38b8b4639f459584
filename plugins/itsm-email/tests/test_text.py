"""Quoted history and HTML: what the sender wrote, and nothing else."""

from __future__ import annotations

import pytest

from itsm_email.inbound import safe_filename
from itsm_email.text import html_to_text, strip_quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.\n\nOn Mon, 3 Mar 2025 at 09:14, Steve <s@e.example> wrote:\n> old\n", "Yes."),
        ("Yes.\n\nOn Mon, 3 Mar 2025 at 09:14, Steve Jones\n<s@e.example> wrote:\n> old\n", "Yes."),
        ("Ja.\n\nAm 03.03.2025 um 09:14 schrieb Steve <s@e.example>:\n> alt\n", "Ja."),
        ("Fine.\n-----Original Message-----\nFrom: IT\nSent: today\n\nold", "Fine."),
        ("Fine.\n\nFrom: IT <it@e.example>\nSent: Monday\nTo: Steve\nSubject: x\n\nold", "Fine."),
        ("Fine.\n> quoted\nmine too\n", "Fine.\nmine too"),
        ("Thanks\n-- \nSteve Jones\nSales", "Thanks"),
        ("Thanks\n\nSent from my iPhone", "Thanks"),
        ("From: my point of view it is broken.", "From: my point of view it is broken."),
    ],
)
def test_strip_quoted(text: str, expected: str) -> None:
    assert strip_quoted(text) == expected


def test_html_quotes_dropped_only_when_asked() -> None:
    html = '<div>New words</div><div class="gmail_quote">On x wrote:<blockquote>old</blockquote></div>'
    assert html_to_text(html, drop_quotes=True) == "New words"
    assert "old" in html_to_text(html)


def test_html_entities_and_unclosed_tags() -> None:
    assert html_to_text("<p>a &amp; b &lt;c&gt;<p>d<br>e").split("\n") == ["a & b <c>", "d", "e"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\x\\report.pdf", "report.pdf"), (".htaccess", "htaccess"),
     ("", "attachment-3"), ("a b/ c?.txt", "c_.txt"), (None, "attachment-3")],
)  # fmt: skip
def test_safe_filename(name: str | None, safe: str) -> None:
    assert safe_filename(name, 3) == safe
