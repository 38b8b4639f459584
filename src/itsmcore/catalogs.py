"""Keeping the message catalogs: extract, update, compile and check (``tox -e i18n``).

``python -m itsmcore.catalogs update`` extracts every customer-facing message of the core
(and of each plugin directory under ``plugins/`` that has a ``babel.cfg``) into a ``.pot``
template, merges it into each language's ``.po`` file and compiles the ``.mo`` files the
package ships. ``python -m itsmcore.catalogs check`` fails (exit 1) naming the file, line
and message id of every broken placeholder (``{name`` without its brace), every
placeholder a translation uses that the message does not give, every placeholder it
drops, every message left untranslated or fuzzy, and every ``.mo`` not compiled from its ``.po``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import attrs

from .i18n import DOMAIN, placeholders

#: The functions whose first argument is a message id (``ngettext`` also its second).
KEYWORDS = ("tr", "later", "N_", "ngettext:1,2", "_")


@attrs.frozen
class CatalogRoot:
    """One distribution's catalogs: where its sources are, its ``babel.cfg``, its ``locale`` directory and domain."""

    source: Path
    locale: Path
    domain: str

    @property
    def template(self) -> Path:
        return self.locale / f"{self.domain}.pot"

    def po_files(self) -> list[Path]:
        return sorted(self.locale.glob(f"*/LC_MESSAGES/{self.domain}.po"))


def roots(top: Path) -> list[CatalogRoot]:
    """The core's catalogs and each bundled plugin's (a ``plugins/<name>/babel.cfg`` beside ``src/<pkg>/locale``)."""
    found = [CatalogRoot(top, top / "src" / "itsmcore" / "locale", DOMAIN)]
    for cfg in sorted(top.glob("plugins/*/babel.cfg")):
        for locale in sorted(cfg.parent.glob("src/*/locale")):
            found.append(CatalogRoot(cfg.parent, locale, locale.parent.name))
    return found


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


def _undated(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if "POT-Creation-Date" not in line]


def update(root: CatalogRoot) -> None:
    """Extract ``root``'s messages, merge them into each language's ``.po`` and compile the ``.mo`` files."""
    keywords = [a for k in KEYWORDS for a in ("-k", k)]
    fresh = root.template.with_name(root.template.name + ".new")
    _pybabel(
        "extract",
        "-F",
        str(root.source / "babel.cfg"),
        "--no-default-keywords",
        *keywords,
        "--sort-by-file",
        # file names without line numbers: moving code does not rewrite every catalog
        "--add-location=file",
        "--project",
        root.domain,
        "--copyright-holder",
        "itsmcore developers",
        "-o",
        str(fresh),
        str(root.source),
    )
    # the same messages extracted again: keep the template as it is, or every run dirties the tree
    if not root.template.exists() or _undated(fresh) != _undated(root.template):
        fresh.replace(root.template)
    else:
        fresh.unlink()
    for po in root.po_files():
        _pybabel(
            "update",
            "-i",
            str(root.template),
            "-o",
            str(po),
            "-l",
            po.parent.parent.name,
            "--no-fuzzy-matching",
            "--ignore-pot-creation-date",
        )
    if root.po_files():
        _pybabel("compile", "-d", str(root.locale), "-D", root.domain)


def check_po(path: Path, *, complete: bool = True) -> list[str]:
    """Problems in one ``.po`` file, each naming the file, the line and the message id."""
    from babel.messages.pofile import read_po

    problems: list[str] = []
    with path.open("rb") as fh:
        catalog = read_po(fh, abort_invalid=False)
    for message in catalog:
        if not message.id:
            continue
        ids = [str(i) for i in (message.id if isinstance(message.id, list | tuple) else (message.id,))]
        strings = [str(i) for i in (message.string if isinstance(message.string, list | tuple) else (message.string,))]
        where = f"{path}:{message.lineno}: msgid {ids[0]!r}"
        try:
            wanted = set().union(*(placeholders(i) for i in ids))
        except ValueError as exc:
            problems.append(f"{where}: broken placeholder in the message id ({exc})")
            continue
        if complete and (not all(strings) or message.fuzzy):
            problems.append(f"{where}: {'fuzzy' if message.fuzzy else 'no translation'}")
            continue
        for text in strings:
            if not text:
                continue
            try:
                used = placeholders(text)
            except ValueError as exc:
                problems.append(f"{where}: broken placeholder in the translation {text!r} ({exc})")
                continue
            if unknown := used - wanted:
                problems.append(f"{where}: the translation uses {_names(unknown)}, which the message does not give")
            if dropped := wanted - used - {"n"}:
                problems.append(f"{where}: the translation drops {_names(dropped)}")
    mo = path.with_suffix(".mo")
    if not mo.exists() or _compiled(mo) != _translations(catalog):
        problems.append(f"{path}: {mo.name} is missing or not compiled from this .po file; run tox -e i18n")
    return problems


def _names(names: Iterable[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names))


def _translations(catalog: object) -> dict[object, object]:
    def frozen(value: object) -> object:  # a plural message's id and forms come as lists from a .mo file
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in catalog if m.id and m.string and not m.fuzzy}  # type: ignore[attr-defined]


def _compiled(mo: Path) -> dict[object, object]:
    from babel.messages.mofile import read_mo

    with mo.open("rb") as fh:
        return _translations(read_mo(fh))


def check(paths: Sequence[Path]) -> list[str]:
    """Problems in every ``.po`` file under ``paths`` (files or ``locale`` directories)."""
    return [p for po in _po_files(paths) for p in check_po(po)]


def _po_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.glob("*/LC_MESSAGES/*.po"))
        else:
            yield path


def main(argv: Sequence[str] | None = None) -> int:
    """``update`` or ``check`` (the default) the catalogs of the checkout in the current directory."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "check"
    top = Path(".")  # relative, so the catalogs name source files the same on every machine
    if command == "update":
        for root in roots(top):
            update(root)
        return 0
    if command != "check":
        print(f"unknown command {command!r}; use update or check", file=sys.stderr)
        return 2
    problems = check([Path(a) for a in args] or [r.locale for r in roots(top)])
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the message catalogs", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
