#!/usr/bin/python3
"""bench/events_webhook.py: events delivered per second to a local webhook receiver.

    bench/events_webhook.py --herald build/herald [--events N]

The real herald (delivery off, dispatcher polling every 20 ms) has a configuration set
whose event destination publishes SEND events to a herald topic with one webhook
subscriber: a Python ThreadingHTTPServer in this process that answers 503 at first. N
messages to the mailbox simulator are sent through boto3 (N Send events pile up in the
outbox, each refused attempt backing off), then the receiver starts answering 200 and the
time until it has all N distinct events is herald's figure (the back-off adds at most
100 ms). The peer is a plain client in its own process POSTing the same N event bodies
with the same HMAC-SHA256 signature header to the same receiver over one keep-alive
connection: the receiver's own ceiling for sequential POSTs. Prints one JSON line with both
rates and their ratio; checks that every event arrived (duplicates are counted, not
failed: delivery is at-least-once).
"""

import argparse
import http.server
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

PEER = r"""
import hashlib, hmac, http.client, json, sys, time
port, secret, path = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
bodies = [l.rstrip(b"\n") for l in open(path, "rb")]
c = http.client.HTTPConnection("127.0.0.1", port)
t0 = time.monotonic()
for b in bodies:
    t = str(int(time.time()))
    mac = hmac.new(secret, t.encode() + b"." + b, hashlib.sha256).hexdigest()
    c.request("POST", "/peer", body=b, headers={"Content-Type": "application/json",
              "X-Herald-Signature": "t=%s,v1=%s" % (t, mac)})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit("peer got %d" % r.status)
print(json.dumps({"seconds": time.monotonic() - t0}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--herald", default=os.path.join(HERE, "..", "build", "herald"))
    ap.add_argument("--events", type=int, default=2000)
    args = ap.parse_args()
    harness.HERALD_BIN = os.path.abspath(args.herald)
    n = args.events

    state = {"status": 503, "ids": {}, "peer": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                status = state["status"] if self.path == "/hook" else 200
                if status == 200 and self.path == "/hook":
                    eid = json.loads(body)["eventId"]
                    state["ids"][eid] = state["ids"].get(eid, 0) + 1
                elif self.path == "/peer":
                    state["peer"] += 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    h = harness.Herald(extra_config=(
        "\n[delivery]\nenabled = false\n"
        "[events]\npoll_ms = 20\nmin_backoff_ms = 50\nmax_backoff_ms = 100\n"))
    try:
        h.start()
        creds = h.create_account("bench")
        h.verify("bench", "bench@bench.example")
        h.production("bench")
        arn = h.cli("topic", "create", "bench", "bench").stdout.strip()
        secret = h.cli_json("topic", "subscribe", "bench", "bench",
                            "http://127.0.0.1:%d/hook" % port, "--webhook", "--json")["secret"]
        c = h.boto(creds)
        c.create_configuration_set(ConfigurationSetName="bench")
        c.create_configuration_set_event_destination(
            ConfigurationSetName="bench", EventDestinationName="hook",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND"],
                              "SnsDestination": {"TopicArn": arn}})
        for i in range(n):
            c.send_email(FromEmailAddress="bench@bench.example",
                         Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                         ConfigurationSetName="bench",
                         Content={"Simple": {"Subject": {"Data": "bench %d" % i},
                                             "Body": {"Text": {"Data": "x"}}}})
        sends = harness.wait_until(
            lambda: (lambda e: e if len(e) >= n else None)(
                [e for e in h.events() if e.get("eventType") == "Send"]), 120, "N Send events")
        with lock:
            state["status"] = 200
        t0 = time.monotonic()
        harness.wait_until(lambda: len(state["ids"]) >= n, 600, "every event delivered",
                           interval=0.005)
        herald_secs = time.monotonic() - t0
        duplicates = sum(state["ids"].values()) - len(state["ids"])

        body_file = os.path.join(h.tmp, "bodies.jsonl")
        with open(body_file, "w") as f:
            for e in sends[:n]:
                f.write(json.dumps(e) + "\n")
        out = subprocess.run([sys.executable, "-c", PEER, str(port), secret, body_file],
                             capture_output=True, text=True, check=True)
        peer_secs = json.loads(out.stdout)["seconds"]
        if state["peer"] != n:
            raise SystemExit("peer delivered %d of %d" % (state["peer"], n))
        herald_rate, peer_rate = n / herald_secs, n / peer_secs
        print(json.dumps({"events": n, "herald_events_per_second": round(herald_rate),
                          "peer_events_per_second": round(peer_rate),
                          "ratio": round(herald_rate / peer_rate, 2),
                          "duplicates": duplicates}))
        h.stop()
    finally:
        h.cleanup()
        srv.shutdown()


if __name__ == "__main__":
    main()
