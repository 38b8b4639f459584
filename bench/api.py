"""The JSON API's create path: ``POST /api/v1/demands`` over real HTTP, beside django-helpdesk's REST API.

The portal runs under uvicorn in its own process(es) on 127.0.0.1 on a SQLite file (WAL),
its jobs left to a deferred runner, as the intake bench does; the API token's rate limit is
off (``api_rate_limit = 0``: every request still checks the token in the store). Measured:

- one client, one request at a time, one uvicorn process (the sequential figure);
- ``--clients`` clients at once against one process, then against ``--workers`` processes.

django-helpdesk's REST API create path (its own benchmark, shared/peer/bench_helpdesk.py,
Django's test client, so no network in its figure) runs in the same run from the peer's
virtualenv: ``--peer-python`` or ``$ITSM_PEER_PYTHON``, else one made once under
``~/.cache/itsm-bench/peer`` with pip from its requirements file. Without it the peer's
figure is left out, saying so.

Run: ``tox -e bench`` or ``python bench/api.py [--n 1500] [--clients 8] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from common import write_deployment

from itsmcore import Desk

CUSTOMERS = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deployment(root: Path) -> tuple[Path, str]:
    """A deployment with the rate limit off and a ``write`` API token of the store; the config and the token."""
    config = write_deployment(root, customers=CUSTOMERS)
    config.write_text(config.read_text() + "\n[portal]\napi_rate_limit = 0\n")
    with Desk.open(config) as desk:
        _, secret = desk.new_api_token("bench", ["write"])
    return config, secret


@contextmanager
def serve(config: Path, workers: int, http: str = "auto") -> Iterator[str]:
    """uvicorn serving the portal of ``config`` with ``workers`` processes; its base URL once it answers."""
    port = _free_port()
    env = dict(os.environ, ITSM_CONFIG=str(config), ITSM_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "itsm_portal.app:from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--http",
            http,
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        up = 0
        while up < workers * 4:  # each worker answers a few before the clock starts
            if proc.poll() is not None:
                raise SystemExit(f"uvicorn exited with {proc.returncode}")
            try:
                up += httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("uvicorn did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def create(client: httpx.Client, i: int) -> None:
    body = {"kind": "failure", "customer": f"c{i % CUSTOMERS}", "summary": f"The printer on floor {i % 7} jams"}
    r = client.post("/api/v1/demands", json=body)
    if r.status_code != 201:
        raise SystemExit(f"POST /api/v1/demands answered {r.status_code}: {r.text[:300]}")


def rate(base: str, token: str, n: int, clients: int) -> float:
    """Demands created per second by ``clients`` clients at once, ``n`` in all, each on its own connection."""
    headers = {"Authorization": f"Bearer {token}"}
    sessions = [httpx.Client(base_url=base, headers=headers, timeout=60) for _ in range(clients)]
    try:
        for s in sessions:  # connected and warm before the clock starts
            create(s, 0)
        share = n // clients

        def work(k: int) -> None:
            for i in range(share):
                create(sessions[k], k * share + i)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return share * clients / (time.perf_counter() - t0)
    finally:
        for s in sessions:
            s.close()


def measure(n: int, clients: int, workers: int, runs: int, http: str = "auto") -> dict[str, float]:
    figures: dict[str, list[float]] = {"sequential": [], "concurrent": [], "workers": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            config, token = deployment(Path(tmp))
            with serve(config, 1, http) as base:
                figures["sequential"].append(rate(base, token, n, 1))
                figures["concurrent"].append(rate(base, token, n, clients))
        with tempfile.TemporaryDirectory() as tmp:
            config, token = deployment(Path(tmp))
            with serve(config, workers, http) as base:
                figures["workers"].append(rate(base, token, n, clients))
    return {k: statistics.median(v) for k, v in figures.items()}


# ---------------------------------------------------------------------------- the peer


def peer_dir() -> Path | None:
    given = os.environ.get("ITSM_PEER_DIR")
    if given:
        return Path(given)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "peer"
        if (candidate / "bench_helpdesk.py").exists():
            return candidate
    return None


def peer_python(where: Path, given: str | None) -> str | None:
    """The peer virtualenv's python: given, or made once under ~/.cache/itsm-bench/peer (pip, its requirements)."""
    if given:
        return given
    venv = Path.home() / ".cache" / "itsm-bench" / "peer"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making the peer's virtualenv in {venv} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(where / "requirements-peer.txt")],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"the peer's requirements did not install: {done.stderr.strip()[-500:]}")
            return None
    return str(python)


def peer_rate(python: str, where: Path, n: int, runs: int) -> float | None:
    """django-helpdesk's REST API create path (tickets/s, the median of ``runs``), WAL, one transaction each."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hd.json"
        done = subprocess.run(
            [
                python,
                str(where / "bench_helpdesk.py"),
                "--runs",
                str(runs),
                "--api-n",
                str(n),
                "--journals",
                "wal",
                "--paths",
                "api",
                "--txn",
                "atomic",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not out.exists():
            print(f"the peer's benchmark failed: {done.stderr.strip()[-500:]}")
            return None
        rows = json.loads(out.read_text())
    return float(next(r["median"] for r in rows if r["path"] == "api"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1500, help="demands per measurement")
    ap.add_argument("--clients", type=int, default=8, help="clients at once for the concurrent figures")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn processes for the last figure")
    ap.add_argument("--runs", type=int, default=3, help="runs of each; the median is printed")
    ap.add_argument("--peer-python", default=os.environ.get("ITSM_PEER_PYTHON"), help="the peer virtualenv's python")
    ap.add_argument("--peer-n", type=int, default=300, help="tickets per peer run")
    ap.add_argument(
        "--http", default="auto", choices=["auto", "h11", "httptools"], help="uvicorn's HTTP parser (auto: httptools)"
    )
    a = ap.parse_args()

    where = peer_dir()
    peer = None
    if where is None:
        print("django-helpdesk's benchmark (shared/peer) is not next to this checkout: its figure is left out")
    else:
        python = peer_python(where, a.peer_python)
        if python is not None:
            peer = peer_rate(python, where, a.peer_n, a.runs)
    ours = measure(a.n, a.clients, a.workers, a.runs, a.http)
    labels = {
        "sequential": "POST /api/v1/demands, 1 client, 1 process",
        "concurrent": f"POST /api/v1/demands, {a.clients} clients, 1 process",
        "workers": f"POST /api/v1/demands, {a.clients} clients, {a.workers} processes",
    }
    for key, label in labels.items():
        line = f"{label:<52} {ours[key]:>8,.0f} demands/s"
        if peer:
            ratio = ours[key] / peer
            line += f"   django-helpdesk REST API {peer:>6,.0f} tickets/s   ratio {ratio:5.1f}x (goal >= 10x: "
            line += "met)" if ratio >= 10 else "NOT met)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
