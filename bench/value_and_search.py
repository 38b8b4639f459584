"""Value-demand intake end to end, and catalog search at 10,000 services.

Intake: eligibility, answer validation, the demand, its journey events and its first
jobs, through ``Desk.submit`` on a SQLite file, beside the intake ceiling of
``bench/intake.py`` (Core writing a demand, its events and a job per transaction) in the
same run. Goal: >= 2,000 demands/s in one process.

Search: p50/p99 per query over 10,000 generated services, a mix of exact names,
keywords, word forms and typos. Goal: p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, write_deployment
from intake import core_ceiling

from itsmcore.desk import Desk

EXPENSATRON = """
[[services]]
key = "expensatron"
name = "Expensatron expenses app"
description = "Claim expenses from your phone."
keywords = ["expenses", "receipts"]
eligible = { roles = ["sales"] }
asks = ["mobile_number", "mobile_os"]
plan = [{ action = "cmdb.verify_device" }, { action = "notify.send_link", url = "https://apps.example/x" }]
"""

WORDS = """
account access printer laptop phone vpn mail calendar licence software database report dashboard badge parking desk monitor headset camera backup storage network wifi password token server cloud invoice payroll travel booking training onboarding contract portal analytics mobile tablet keyboard
""".split()  # noqa: SIM905  (one line of words reads better than 40)


def catalog(n: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    out = [EXPENSATRON]
    for i in range(n - 1):
        a, b, c = rnd.sample(WORDS, 3)
        out.append(
            f'[[services]]\nkey = "svc-{i}"\nname = "{a.title()} {b} {i}"\n'
            f'description = "Get {a} and {b} for your {c} work, set up for you."\n'
            f'keywords = ["{c}", "{a}{i % 97}"]\ncategory = "{rnd.choice(WORDS)}"\n'
        )
    return "\n".join(out)


def value_intake(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=EXPENSATRON)
        with Desk.open(config, entry_points=False) as desk:
            return rate(
                n,
                lambda i: desk.submit(
                    "value",
                    f"c{(i * 2 + 1) % 1000}",
                    "",
                    service="expensatron",
                    answers={"mobile_os": "iOS"},
                    channel="bench",
                ),
            )


def search_latencies(services: int, queries: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), customers=10, services=catalog(services))
        with Desk.open(config, entry_points=False) as desk:
            rnd = random.Random(11)
            qs = ["expensatron", "expenses", "expensatorn", "expense claims", "laptpo", "vpn acess", "printer"]
            qs += [f"{rnd.choice(WORDS)} {rnd.choice(WORDS)}" for _ in range(50)]
            for q in qs:  # warm up
                desk.search(q, customer="c1")
            times = []
            for i in range(queries):
                q = qs[i % len(qs)]
                t0 = time.perf_counter()
                desk.search(q, customer="c1")
                times.append((time.perf_counter() - t0) * 1000)
            assert desk.search("expensatorn")[0].service.key == "expensatron"
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], times[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=2000)
    args = ap.parse_args()
    ceiling = best_of(args.runs, lambda: core_ceiling(args.n))
    value = best_of(args.runs, lambda: value_intake(args.n))
    print(
        f"value-demand intake on SQLite, {args.n} requests (eligibility, asks, demand, 3 events, 2 jobs), median of {args.runs}"
    )
    print(
        f"{'desk.submit (value, Expensatron)':<44} {value:>10,.0f} demands/s | Core ceiling {ceiling:>10,.0f} demands/s "
        f"ratio {value / ceiling:6.1%}  (goal >= 2,000/s: {'met' if value >= 2000 else 'NOT met'})"
    )
    p50, p99, worst = search_latencies(args.services, args.queries)
    print(f"catalog search over {args.services:,} services, {args.queries} queries")
    print(
        f"{'search p50 / p99 / max':<44} {p50:>7.2f} / {p99:.2f} / {worst:.2f} ms  (goal p99 <= 5 ms: {'met' if p99 <= 5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
