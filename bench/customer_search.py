"""Finding a customer by typing, over a directory of 100,000 customers, on SQLite and PostgreSQL.

Each figure is printed beside a ceiling measured in the same run:

- searches a second through ``Desk.search_customers`` (a mix of what agents type: part of a
  surname, a first name and a surname start, an email's start, a phone number's last digits,
  a name with an accent typed without it), beside the plainest indexed lookup the same
  store can do: one prefix range scan of the terms' primary key, ``LIMIT 20``, with no
  folding, no second word and no join to the customer rows;
- the full reindex of the directory (``Desk.index_customers``), customers a second.

Run: ``tox -e bench`` or ``python bench/customer_search.py [--customers 100000]``. The
PostgreSQL half skips, saying so, when its server binaries are not installed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, report
from sqlalchemy import select

from itsmcore import Customer, DirectoryComponent, hookimpl
from itsmcore.desk import Desk
from itsmcore.store import tables as t
from itsmcore.testing.postgres import PostgresCluster, find_pg_bin

FIRST = ["Steve", "Susan", "Scott", "Tony", "José", "Zoë", "Patrick", "Amelia", "Bjørn", "Chloé", "Dmitri", "Eve"]
LAST = ["Jones", "Wright", "Miller", "Stark", "Müller", "O'Brien", "Hale", "Nguyen", "Łukasik", "Dubois", "Smith"]


def people(n: int) -> list[Customer]:
    rnd = random.Random(5)
    out = []
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        out.append(
            Customer(
                id=f"u{i:06d}",
                name=f"{first} {last}{i % 997}",
                email=f"{first.lower()}.{i}@eagle5.example",
                mobile=f"+44 7700 {i:06d}",
            )
        )
    return out


class Generated:
    """A directory plugin whose customers are made in memory (no file to parse)."""

    def __init__(self, customers: Sequence[Customer]):
        self.customers = customers
        self.by_id = {c.id: c for c in customers}

    @hookimpl
    def itsm_directories(self) -> list[DirectoryComponent]:
        plugin = self

        class Backend:
            def __init__(self, _settings: object, _context: object) -> None:
                pass

            def get_customer(self, customer_id: str) -> Customer | None:
                return plugin.by_id.get(customer_id)

            def list_customers(self) -> Iterable[Customer]:
                return plugin.customers

            def authenticate(self, login: str, password: str) -> Customer | None:
                return None

            def configuration_items(self, customer_id: str) -> Sequence[object]:
                return ()

        return [DirectoryComponent(name="generated", factory=Backend, description="generated customers")]


def deployment(root: Path, database: str) -> Path:
    config = root / "itsm.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [deployment]
            name = "bench"
            database = "{database}"

            [directory.main]
            use = "generated"
            """
        )
    )
    return config


def typed(customers: Sequence[Customer], n: int) -> list[str]:
    """What agents type to find one of ``customers``: each text finds the customer it was made from."""
    rnd = random.Random(9)
    out = []
    for _ in range(n):
        c = rnd.choice(customers)
        first, last = c.name.split(" ", 1)
        digits = "".join(ch for ch in c.mobile or "" if ch.isdigit())
        out.append(
            rnd.choice(
                [
                    last[: max(2, len(last) - 2)],  # most of a surname (with its number)
                    f"{first[:3]} {last[:3]}",  # two word starts
                    (c.email or "").split("@")[0],  # an email address's start
                    digits[-5:],  # a phone number's last digits
                    f"{first} {last}".replace("é", "e").replace("ü", "u").replace("ë", "e"),  # accents left out
                ]
            )
        )
    return out


def measure(label: str, database: str, root: Path, customers: Sequence[Customer], searches: int) -> None:
    with Desk.open(deployment(root, database), entry_points=False, plugins=[Generated(customers)]) as desk:
        t0 = time.perf_counter()
        desk.index_customers()
        indexed = len(customers) / (time.perf_counter() - t0)
        texts = typed(customers, searches)
        desk.search_customers("warm up")
        found = best_of(3, lambda: rate(searches, lambda i: desk.search_customers(texts[i])))
        terms = t.customer_terms.c
        prefix = [x.split(" ")[0].lower()[:4] for x in texts]
        with desk.engine.connect() as conn:

            def ceiling(i: int) -> object:
                w = prefix[i]
                stmt = select(terms.customer_id).where(terms.term >= w, terms.term < w + "\U0010ffff").limit(20)
                return conn.execute(stmt).all()

            plain = best_of(3, lambda: rate(searches, ceiling))
    print(report(f"{label}: Desk.search_customers", found, "search/s", "indexed SELECT", plain))
    print(f"{label}: index of {len(customers):,} customers: {indexed:,.0f} customers/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--searches", type=int, default=300)
    args = ap.parse_args()
    customers = people(args.customers)
    print(f"customer search over {args.customers:,} customers, {args.searches} searches a round, median of 3")
    with tempfile.TemporaryDirectory(prefix="itsm-bench-search-") as tmp:
        root = Path(tmp)
        measure("SQLite", f"sqlite:///{root / 'itsm.db'}", root, customers, args.searches)
        if find_pg_bin() is None:
            print("PostgreSQL: SKIPPED: server binaries (initdb, pg_ctl) not found; install PostgreSQL to measure this")
            return
        with PostgresCluster() as pg:
            (root / "pg").mkdir()
            measure("PostgreSQL", pg.create_database("search"), root / "pg", customers, args.searches)


if __name__ == "__main__":
    main()
