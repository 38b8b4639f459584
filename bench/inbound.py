"""Inbound SMS: texts per second through the signed webhook (HTTP, signature, sender lookup, event id
kept, demand written), beside the same demands taken in by ``desk.submit`` directly in the same run.

The ratio is what the webhook costs on top of intake itself. Both run on the same kind of SQLite
deployment (1,000 customers, each with a mobile number) with a deferred runner, so the answers
the demands cause are queued, not sent: sending is the provider's time, not ours. The webhook is
served by uvicorn on 127.0.0.1 and posted to over one keep-alive connection (TCP_NODELAY), as a
provider would.

Run: ``tox -e bench`` or ``python bench/inbound.py [--n 400]``; skipped, saying so, without
itsm-sms-chat and uvicorn.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, report, write_deployment

from itsmcore.desk import Desk

TOKEN = "bench-token"
SMS = """
[channels.sms]
use = "twilio-sms"
account_sid = "ACbench"
from_number = "+447700900999"
api_url = "http://127.0.0.1:9"
auth_token_env = "BENCH_SMS_TOKEN"
"""


def number(i: int) -> str:
    return f"+4477009{i % 1000:05d}"


def direct(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=SMS)
        with Desk.open(config, entry_points=True) as desk:
            return rate(
                n,
                lambda i: desk.submit(
                    None, f"c{i % 1000}", f"text {i}", details=f"text {i}", channel="sms", external_ref=f"sms:{i}"
                ),
            )


def webhook(n: int) -> float:
    import httpx
    import uvicorn
    from itsm_sms_chat.signatures import sms_signature

    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=SMS)
        with Desk.open(config, entry_points=True) as desk:
            app = desk.channels()["sms"].web_app(desk)  # type: ignore[attr-defined]
            cfg = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=False)
            server = uvicorn.Server(cfg)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.01)
            url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/incoming"
            try:
                # TCP_NODELAY: httpx writes the headers and the body apart; without it every request waits
                # ~40 ms for a delayed ACK (Nagle), which measures the kernel, not the webhook
                nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
                with httpx.Client(transport=nodelay) as client:

                    def one(i: int) -> None:
                        form = {"MessageSid": f"SM{i:032d}", "From": number(i), "To": "+447700900999"}
                        form["Body"] = f"text {i}: my laptop will not start"
                        signature = sms_signature(TOKEN, url, form.items())
                        r = client.post(url, data=form, headers={"X-Twilio-Signature": signature})
                        assert r.status_code == 200, r.text

                    return rate(n, one)
            finally:
                server.should_exit = True
                thread.join(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=400, help="texts per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per figure (median)")
    args = ap.parse_args()
    try:
        import itsm_sms_chat  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        print(f"inbound SMS: skipped ({e.name} is not installed)")
        return
    os.environ["BENCH_SMS_TOKEN"] = TOKEN
    ceiling = best_of(args.runs, lambda: direct(args.n))
    through = best_of(args.runs, lambda: webhook(args.n))
    print(f"inbound SMS on SQLite, {args.n} texts from 1,000 customers, median of {args.runs}")
    print(report("signed webhook -> demand (HTTP, uvicorn)", through, "texts/s", "| desk.submit", ceiling))


if __name__ == "__main__":
    main()
