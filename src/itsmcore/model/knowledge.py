"""The knowledge base: articles in the store, their versions, and how customers met them."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._base import Conflict
from ._convert import to_tuple


class ArticleState(enum.StrEnum):
    """Where an article is in its life: written, then published to customers, then retired."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


#: The states an article may move to from each state (a retired article may be published again).
ARTICLE_MOVES: dict[ArticleState, frozenset[ArticleState]] = {
    ArticleState.DRAFT: frozenset({ArticleState.PUBLISHED, ArticleState.RETIRED}),
    ArticleState.PUBLISHED: frozenset({ArticleState.RETIRED}),
    ArticleState.RETIRED: frozenset({ArticleState.PUBLISHED}),
}


@attrs.frozen(kw_only=True)
class Article:
    """A knowledge article as it stands now (its latest version).

    ``body`` is Markdown; ``audience`` names directory groups, and an empty audience means
    everyone. ``services`` are the catalog keys it is about.
    """

    key: str
    title: str
    body: str
    services: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    keywords: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    audience: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    owner: str = ""
    state: ArticleState = ArticleState.DRAFT
    version: int = 1
    updated_at: datetime
    updated_by: str = ""

    @property
    def for_everyone(self) -> bool:
        return not self.audience

    def visible_to(self, groups: tuple[str, ...] | frozenset[str] | None) -> bool:
        """Whether a customer in ``groups`` may read it (``None``: the desk itself, who sees everything)."""
        if groups is None or not self.audience:
            return True
        return bool(set(self.audience) & set(groups))


@attrs.frozen(kw_only=True)
class ArticleVersion:
    """One saved version of an article: what it said, who saved it, when, and why."""

    key: str
    version: int
    title: str
    body: str
    services: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    keywords: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    audience: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    owner: str = ""
    state: ArticleState = ArticleState.DRAFT
    changed_by: str
    changed_at: datetime
    note: str = ""


class EditConflict(Conflict):
    """An edit was based on a version someone else has replaced meanwhile. Nothing was changed.

    ``diff`` is a unified diff from the version the edit started from to the one saved
    since; ``current`` is the saved version's number. The CLI exits with status 3 so a
    script can tell it from other refusals.
    """

    exit_code = 3

    def __init__(self, message: str, *, key: str, base: int, current: int, diff: str):
        self.key = key
        self.base = base
        self.current = current
        self.diff = diff
        super().__init__(message, state=f"version {current}")


#: The header lines of an article as a text document (what ``itsm kb edit`` opens in an editor).
DOCUMENT_FIELDS = ("title", "services", "keywords", "audience", "owner")


def as_document(
    title: str, body: str, services: tuple[str, ...], keywords: tuple[str, ...], audience: tuple[str, ...], owner: str
) -> str:
    """An article as one text: ``name: value`` header lines, a blank line, then the Markdown body.

    Lists are comma-separated; an empty audience is written ``everyone``.
    """
    head = [
        f"title: {title}",
        f"services: {', '.join(services)}",
        f"keywords: {', '.join(keywords)}",
        f"audience: {', '.join(audience) if audience else 'everyone'}",
        f"owner: {owner}",
    ]
    return "\n".join(head) + "\n\n" + body.rstrip("\n") + "\n"


def parse_document(text: str) -> dict[str, object]:
    """The fields of a document written by :func:`as_document` (or by hand): header lines until a blank line.

    Raises :class:`~itsmcore.errors.InvalidInput` naming the line for an unknown header,
    with the known ones.
    """
    from ._base import InvalidInput

    lines = text.replace("\r\n", "\n").split("\n")
    out: dict[str, object] = {}
    i = 0
    while i < len(lines) and lines[i].strip():
        name, sep, value = lines[i].partition(":")
        name = name.strip().lower()
        if not sep or name not in DOCUMENT_FIELDS:
            raise InvalidInput(
                f"line {i + 1}: expected 'name: value' with a name among {', '.join(DOCUMENT_FIELDS)}, "
                f"then a blank line and the body; got {lines[i][:60]!r}"
            )
        value = value.strip()
        if name in ("services", "keywords", "audience"):
            items = tuple(v.strip() for v in value.split(",") if v.strip())
            out[name] = () if name == "audience" and items in (("everyone",), ("Everyone",)) else items
        else:
            out[name] = value
        i += 1
    out["body"] = "\n".join(lines[i + 1 :]).strip("\n")
    return out
