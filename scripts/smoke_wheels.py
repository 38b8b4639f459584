"""Helpers of scripts/smoke-wheels: checks on the built wheels and on the installed ``itsm``.

Standard library only, and it never imports itsmcore: it runs with any Python 3.11 and
drives the venv's ``itsm`` in subprocesses, so what is tested is what the wheels installed.

    smoke_wheels.py contents ROOT DIST_DIR WHEEL   tracked package files missing from the wheel
    smoke_wheels.py plugins ITSM DIST...           `itsm plugins` lists every installed plugin
    smoke_wheels.py portal ITSM WORKDIR            itsm init + itsm serve, Steve signs in, reports a problem
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
STARTUP_DEADLINE = 120  # seconds: a cold start on a slow 2-core CI machine, never a fixed sleep


class Failed(Exception):
    """One check failed: the message says which and what was seen."""


# ---------------------------------------------------------------------------- contents


def contents(root: Path, dist_dir: Path, wheel: Path) -> None:
    """Every file git tracks under the distribution's src/<package> must be in the wheel.

    Catches package data (templates, migrations, static files) that an include/exclude
    rule drops, even where no smoke command below reads it. Data from outside src/ (the
    demo's example) is left to the commands that read it.
    """
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--", str(dist_dir.relative_to(root) / "src")],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        print(f"git ls-files failed ({listed.stderr.decode().strip()}): contents of {wheel.name} not compared")
        return
    src = dist_dir / "src"
    tracked = {
        (root / p).relative_to(src).as_posix()
        for p in listed.stdout.decode().split("\0")
        if p and (root / p).is_file()  # a tracked file deleted in the working tree is not expected
    }
    with zipfile.ZipFile(wheel) as z:
        packed = set(z.namelist())
    missing = sorted(tracked - packed)
    if missing:
        raise Failed(
            f"{wheel.name} lacks {len(missing)} file(s) that {src.relative_to(root)} holds:\n"
            + "\n".join(f"  {m}" for m in missing)
        )
    print(f"{wheel.name}: all {len(tracked)} tracked files of {src.relative_to(root)} are in it")


# ---------------------------------------------------------------------------- commands


def clean_env() -> dict[str, str]:
    """The caller's environment without ITSM_* (a stray ITSM_CONFIG or ITSM_SECRET would change what runs)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ITSM_") and k != "PYTHONPATH"}


def run(cmd: list[str], cwd: Path, stdin: str | None = None) -> str:
    shown = " ".join(cmd)
    print(f"$ {shown}")
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Failed(f"command failed (exit status {done.returncode}): {shown}\n{done.stdout}{done.stderr}")
    return done.stdout


def plugins(itsm: str, expected: list[str]) -> None:
    """`itsm plugins` names each plugin distribution: its entry point made it into the wheel."""
    listed = json.loads(run([itsm, "plugins", "--format", "json"], Path.cwd()))
    found = {p["distribution"] for p in listed}
    missing = sorted(set(expected) - found)
    if missing:
        raise Failed(f"`itsm plugins` does not list {', '.join(missing)} (it lists {', '.join(sorted(found))})")
    print(f"itsm plugins lists {', '.join(sorted(found))}")


# ---------------------------------------------------------------------------- portal


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as responses: the sign-in and the report are checked by their 303s."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """A cookie-keeping client for the portal's forms (urllib: nothing beyond the standard library)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect())

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location header, body) of GET path, or of POST path with form."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=data), timeout=30) as r:
                return r.status, r.headers.get("location", ""), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:  # 3xx (not followed) and 4xx/5xx
            return e.code, e.headers.get("location", ""), e.read().decode("utf-8", "replace")

    def expect(self, path: str, status: int, form: dict[str, str] | None = None) -> tuple[str, str]:
        got, location, body = self.request(path, form)
        method = "POST" if form is not None else "GET"
        if got != status:
            raise Failed(f"{method} {path}: expected {status}, got {got} {location}\n{body[-2000:]}")
        print(f"{method} {path} -> {got} {location}".rstrip())
        return location, body

    def csrf(self, path: str) -> str:
        _, body = self.expect(path, 200)
        token = CSRF.search(body)
        if not token:
            raise Failed(f"no CSRF field on {path}")
        return token.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_deployment(itsm: str, work: Path) -> tuple[Path, str]:
    """`itsm init` with the portal channel on, and Steve in the file directory with a fresh password."""
    desk = work / "desk"
    run([itsm, "init", str(desk)], work)
    password = secrets.token_urlsafe(18)
    # the password goes through stdin (not argv, not the log); click reads it twice (confirmation)
    out = run([itsm, "customer", "hash-password"], work, stdin=f"{password}\n{password}\n")
    digest = next((line for line in out.splitlines() if line.startswith("scrypt$")), None)
    if digest is None:
        raise Failed(f"`itsm customer hash-password` printed no scrypt hash:\n{out}")
    with (desk / "customers.toml").open("a", encoding="utf-8") as f:
        f.write(
            '\n[[customers]]\nid = "steve"\nname = "Steve Jones"\nemail = "steve@eagle5.example"\n'
            f'role = "sales"\ndepartment = "Sales"\ngroups = ["sales"]\npassword = "{digest}"\n'
        )
    with (desk / "itsm.toml").open("a", encoding="utf-8") as f:
        f.write('\n[channels.portal]\nuse = "portal"\ntitle = "Smoke test IT help"\n')
    return desk / "itsm.toml", password


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        if server.poll() is not None:
            raise Failed(f"itsm serve exited with status {server.returncode} before answering")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet (or 503 while the database opens)
        if time.monotonic() > deadline:
            raise Failed(f"itsm serve did not answer /healthz within {STARTUP_DEADLINE}s")
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
        # -15: uvicorn shuts down cleanly, then re-raises the signal it caught
        print(f"itsm serve stopped on SIGTERM (exit status {server.returncode})")
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        print("itsm serve ignored SIGTERM for 30s: killed")


def portal(itsm: str, work: Path) -> None:
    config, password = write_deployment(itsm, work)
    run([itsm, "-c", str(config), "check"], work)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    cmd = [itsm, "-c", str(config), "serve", "--host", "127.0.0.1", "--port", str(port)]
    print(f"$ {' '.join(cmd)}")
    with log.open("wb") as out:
        server = subprocess.Popen(cmd, cwd=work, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        wait_until_up(base, server)
        print(f"portal answered /healthz after {time.monotonic() - started:.1f}s")
        browser = Browser(base)
        # the real sign-in form: its session-bound CSRF token, then 303 to `next`
        token = browser.csrf("/signin")
        location, _ = browser.expect(
            "/signin", 303, {"csrf": token, "next": "/", "login": "steve", "password": password}
        )
        if location != "/":
            raise Failed(f"signing in as steve sent to {location!r}, not to /")
        _, home = browser.expect("/", 200)
        if "Steve" not in home:
            raise Failed("the home page after signing in does not name Steve")
        browser.expect("/static/portal.css", 200)  # package data of the portal wheel
        summary = f"Smoke test {secrets.token_hex(4)} from the installed wheels"
        token = browser.csrf("/report")  # a new session since signing in: a new token
        location, _ = browser.expect(
            "/report",
            303,
            {"csrf": token, "kind": "failure", "service": "", "summary": summary, "details": "", "action": "send"},
        )
        m = re.fullmatch(r"/demands/(\d+)/submitted", location)
        if not m:
            raise Failed(f"reporting a problem sent to {location!r}, not to /demands/N/submitted")
        browser.expect(location, 200)
        _, page = browser.expect(f"/demands/{m.group(1)}", 200)
        if summary not in page:
            raise Failed(f"the page of demand #{m.group(1)} does not show its summary {summary!r}")
        print(f"demand #{m.group(1)} shows its summary: the portal works from the wheels")
    except Failed:
        stop(server)
        # the end of the log names what broke (a TemplateNotFound, a missing table, ...)
        print(f"--- itsm serve's log (last 40 lines of {log.name}) ---")
        print("\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]))
        raise
    finally:
        stop(server)


def main(argv: list[str]) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):  # progress and FAILED in order in the captured output
        sys.stdout.reconfigure(line_buffering=True)
    try:
        match argv:
            case ["contents", root, dist_dir, wheel]:
                contents(Path(root).resolve(), Path(dist_dir).resolve(), Path(wheel))
            case ["plugins", itsm, *expected]:
                plugins(itsm, expected)
            case ["portal", itsm, work]:
                portal(itsm, Path(work))
            case _:
                print(__doc__, file=sys.stderr)
                return 2
    except Failed as e:
        print(f"FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
