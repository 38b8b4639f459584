"""Turning mail bodies into the text a person wrote: HTML to text, quoted history removed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "hr",
    "section", "article", "header", "footer", "address",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template"}
# Containers of quoted history in HTML mail (Gmail, Apple Mail, Thunderbird, Outlook on the web).
_QUOTE_CLASSES = {
    "gmail_quote",
    "gmail_extra",
    "yahoo_quoted",
    "moz-cite-prefix",
    "ms-outlook-mobile-reference-message",
}
_QUOTE_IDS = {"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "embed", "source", "wbr"}


class _TextExtractor(HTMLParser):
    def __init__(self, drop_quotes: bool):
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, starts a skipped region)
        self.skipping = 0
        self.after_quote = False  # Outlook: everything after its reply header is history
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = set(a.get("class", "").lower().split())
        skip = tag in _SKIP or (
            self.drop_quotes
            and (
                (tag == "blockquote" and (a.get("type", "").lower() == "cite" or not classes))
                or bool(classes & _QUOTE_CLASSES)
                or a.get("id", "").lower() in _QUOTE_IDS
            )
        )
        if self.drop_quotes and a.get("id", "").lower() == "divrplyfwdmsg":
            self.after_quote = True
        if tag not in _VOID:
            self.stack.append((tag, skip))
            if skip:
                self.skipping += 1
        if tag in _BLOCK and not self.skipping:
            self.parts.append("\n")
        if tag == "a" and not self.skipping:
            self.href = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # pop to the matching tag; tolerate unclosed inner tags
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _t, skip in self.stack[i:]:
                    if skip:
                        self.skipping -= 1
                del self.stack[i:]
                break
        if tag in _BLOCK and not self.skipping:
            self.parts.append("\n")
        if tag == "a":
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skipping or self.after_quote:
            return
        self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts).replace("\xa0", " ")
        lines = [line.strip() for line in raw.split("\n")]
        out = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", out).strip()


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text from HTML mail; with ``drop_quotes`` the quoted history containers are left out."""
    parser = _TextExtractor(drop_quotes)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is a last resort
        return re.sub(r"<[^>]*>", " ", html)
    return parser.text()


_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*El\b.{0,300}\bescribió:\s*$", re.IGNORECASE | re.DOTALL),
]
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(
    r"^\s*\*?(From|Von|De|Sent|Gesendet|Envoyé|Date|To|An|À|Subject|Betreff|Objet|Cc)\s*:\*?", re.I
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_MOBILE_SIG = re.compile(r"^\s*(Sent from my \w+|Get Outlook for (iOS|Android)|Von meinem \w+ gesendet)", re.I)


def strip_quoted(text: str) -> str:
    """What the sender wrote, without the history under it.

    Cuts at an attribution line ("On ... wrote:", also wrapped over two lines), an
    "-----Original Message-----" separator, an Outlook header block ("From:" followed by
    "Sent:"/"Date:" lines, with or without a rule above it), the signature separator
    "-- " and phone signatures ("Sent from my iPhone"); removes lines quoted with ">".
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        two = line + " " + lines[i + 1] if i + 1 < len(lines) else line
        if any(p.match(line) for p in _ATTRIBUTION) or (
            line.strip()
            and not line.lstrip().startswith(">")
            and any(p.match(two) for p in _ATTRIBUTION[:1])
            and lines[i + 1].rstrip().endswith("wrote:")
        ):
            cut = i
            break
        if _ORIGINAL.match(line) or line == "-- " or line.rstrip() == "--" or _MOBILE_SIG.match(line):
            cut = i
            break
        if _HEADER_LINE.match(line) and line.lstrip().lstrip("*").lower().startswith(("from", "von", "de")):
            following = [x for x in lines[i + 1 : i + 4] if x.strip()]
            if sum(1 for x in following if _HEADER_LINE.match(x)) >= 2:
                cut = i - 1 if i > 0 and _RULE.match(lines[i - 1]) else i
                break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    out = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


# C0 and C1 control characters and DEL. A NUL or an escape sequence in a subject or body must
# not reach the store, an agent's terminal or an SMTP header; line ends and tabs are text.
_HEADER_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
# Lone surrogates: what ``surrogateescape`` leaves of undecodable header bytes.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def recover_8bit(value: str) -> str:
    """A header value with raw 8-bit bytes (left as surrogates by the parser) decoded: UTF-8, else cp1252."""
    if not _SURROGATES.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def clean_header(value: str) -> str:
    """One line of text, safe to store and to send in a header: controls become spaces, runs collapse."""
    return " ".join(_HEADER_CONTROLS.sub(" ", _SURROGATES.sub("\ufffd", recover_8bit(value))).split())


def clean_body(value: str) -> str:
    """Text with uniform line ends and without control characters other than tab and newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub("", _SURROGATES.sub("\ufffd", value))
