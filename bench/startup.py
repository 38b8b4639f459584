"""How long ``itsm --help`` and one shell completion take, beside Python starting with click.

Every Tab in a shell with ``itsm`` completion runs the command line once, so its start-up
is what a user feels. The figure is the median of several runs of a fresh process, printed
beside ``python -c "import click"`` (the floor any click program pays, measured in the same
run, so a loaded machine shows in both) and the 150 ms ceiling. Plugin commands are found
from their entry points without importing the plugins; the line ``plugins imported`` says
whether any was.

Run: ``tox -e bench`` or ``python bench/startup.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from importlib import metadata

CEILING_MS = 150.0


def median_ms(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """The median wall time of ``runs`` fresh processes, after one warm-up run (bytecode, page cache)."""
    full_env = {**os.environ, **(env or {})}
    subprocess.run(argv, env=full_env, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=full_env, capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def plugins_imported_by_help() -> list[str]:
    """The plugin packages ``itsm --help`` imports (none, when commands come from entry points)."""
    packages = sorted({ep.value.split(".")[0].split(":")[0] for ep in metadata.entry_points(group="itsm")})
    code = (
        "import sys\nfrom itsmcore.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"sys.stderr.write(','.join(p for p in {packages!r} if p in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    return [p for p in out.strip().split(",") if p]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    itsm = [sys.executable, "-m", "itsmcore"]
    plugins = sorted({ep.dist.name for ep in metadata.entry_points(group="itsm") if ep.dist})
    print(f"start-up, median of {args.runs} fresh processes; plugins installed: {', '.join(plugins) or 'none'}")
    bare = median_ms([sys.executable, "-c", "pass"], args.runs)
    click_floor = median_ms([sys.executable, "-c", "import click"], args.runs)
    help_ms = median_ms([*itsm, "--help"], args.runs)
    complete_ms = median_ms(
        [*itsm], args.runs, env={"_ITSM_COMPLETE": "bash_complete", "COMP_WORDS": "itsm ", "COMP_CWORD": "1"}
    )
    print(f"{'python -c pass':<40} {bare:8.1f} ms")
    floor_label = 'python -c "import click" (the floor)'
    print(f"{floor_label:<40} {click_floor:8.1f} ms")
    for label, value in (("itsm --help", help_ms), ("itsm <Tab> (bash completion)", complete_ms)):
        verdict = "met" if value <= CEILING_MS else "NOT met"
        print(
            f"{label:<40} {value:8.1f} ms   {value / click_floor:4.1f}x the floor   "
            f"ceiling {CEILING_MS:.0f} ms: {verdict}"
        )
    imported = plugins_imported_by_help()
    print(f"{'plugins imported by --help':<40} {', '.join(imported) or 'none'}")


if __name__ == "__main__":
    main()
