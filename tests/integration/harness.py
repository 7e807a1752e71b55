"""Peer harness for herald's integration tests.

Runs the real `herald` binary on port 0 in a temporary directory, drives its CLI,
reads its events, and starts/stops real peers (Postfix, dnsmasq, smtp-sink, node scripts,
swaks, awscli).
Every process started here is tracked by PID and stopped by PID, also when a test
fails (try/finally in the fixtures, plus an atexit sweep as the last resort).

Usage from a test file (run with /usr/bin/python3, stdlib + boto3 only):

    import harness
    class MyTest(harness.HeraldCase):
        def test_x(self): ...
    if __name__ == "__main__":
        harness.main()

`harness.main()` understands `--herald PATH` (else $HERALD_BIN, else
build-integ/herald next to the repo) and passes every other argument to unittest.
"""

import base64
import datetime
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
HERALD_BIN = os.environ.get("HERALD_BIN", os.path.join(REPO, "build-integ", "herald"))

REGION = "us-east-1"
SIM = "simulator.amazonses.com"
SIM_KINDS = ("success", "bounce", "ooto", "complaint", "suppressionlist")
SIM_ADDRS = ["%s@%s" % (k, SIM) for k in SIM_KINDS]
# The same five with +label variants: SES routes them like the bare address.
SIM_LABELED = ["%s+lbl-%s@%s" % (k, i, SIM) for i, k in enumerate(SIM_KINDS)]

ISO_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")

_live = {}  # pid -> description, processes we started and have not reaped yet


def _register(proc, what):
    _live[proc.pid] = (proc, what)


def _forget(proc):
    _live.pop(proc.pid, None)


def _terminate(proc, timeout=10):
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _forget(proc)


def _sweep():
    for pid, (proc, _what) in list(_live.items()):
        if proc.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        _live.pop(pid, None)


import atexit  # noqa: E402

atexit.register(_sweep)


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(delay)
        delay = min(delay * 2, max(interval, 0.005))


def free_port():
    """A port the OS picked for us (bind to 0), released again for a peer to take."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=20):
    def up():
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(up, timeout, "%s:%d to accept connections" % (host, port))


# --------------------------------------------------------------------------------------
# herald


BASE_CONFIG = """\
region = "us-east-1"
hostname = "herald.test"

[smtp]
allow_insecure_auth_on_loopback = {insecure}

[sending]
sandbox_max_send_rate = 1000
sandbox_max_24h_send = 100000
production_max_send_rate = 2000
production_max_24h_send = 500000
"""


class HeraldError(Exception):
    pass


class Herald:
    """One herald instance: its temp dir, config, process, CLI and events."""

    def __init__(self, binary=None, insecure_auth=False, extra_config="", config_text=None):
        self.binary = binary or HERALD_BIN
        self.tmp = tempfile.mkdtemp(prefix="herald-integ-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.config_path = os.path.join(self.tmp, "herald.toml")
        if config_text is None:
            config_text = BASE_CONFIG.format(insecure="true" if insecure_auth else "false")
            config_text += extra_config
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "herald.log")
        self.http = None
        self.smtp = None
        self.feedback = None  # the feedback MX's address when feedback.listen is set
        self.starts = 0

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout=30):
        ready = os.path.join(self.data_dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        self.starts += 1
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.config_path, "--data-dir", self.data_dir,
             "--http", "127.0.0.1:0", "--smtp", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        _register(self.proc, "herald serve")

        def is_ready():
            if self.proc.poll() is not None:
                raise HeraldError("herald exited with %s before ready.json:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            try:
                with open(ready) as f:
                    info = json.load(f)
            except (OSError, ValueError):
                return None
            return info

        info = wait_until(is_ready, timeout, "herald's ready.json")
        if info.get("pid") != self.proc.pid:
            raise HeraldError("ready.json pid %r != started pid %d" % (info.get("pid"), self.proc.pid))
        self.http = info["http"]
        self.smtp = info["smtp"]
        self.feedback = info.get("feedback")
        for key in ("http", "smtp"):
            host, port = info[key].rsplit(":", 1)
            if host != "127.0.0.1" or int(port) == 0:
                raise HeraldError("ready.json %s not resolved: %r" % (key, info[key]))
        return info

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code (the caller asserts it is 0)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                _forget(proc)
                raise HeraldError("herald did not exit within %ds of SIGTERM" % timeout)
        _forget(proc)
        return proc.returncode

    def kill(self):
        """SIGKILL, as a crash."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _forget(proc)

    def cleanup(self):
        self.kill()
        if os.environ.get("HERALD_KEEP_TMP"):
            sys.stderr.write("kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    # -- endpoints -----------------------------------------------------------------

    @property
    def endpoint(self):
        return "http://" + self.http

    @property
    def smtp_addr(self):
        host, port = self.smtp.rsplit(":", 1)
        return host, int(port)

    @property
    def feedback_addr(self):
        host, port = self.feedback.rsplit(":", 1)
        return host, int(port)

    def admin_get(self, path):
        """GET an admin endpoint (/_herald/admin/...) with DATA_DIR/admin.token; (status, JSON)."""
        import urllib.error
        import urllib.request

        with open(os.path.join(self.data_dir, "admin.token")) as f:
            token = f.readline().strip()
        req = urllib.request.Request("http://%s%s" % (self.http, path),
                                     headers={"X-Herald-Admin-Token": token})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def boto(self, creds, region=REGION, service="sesv2", **overrides):
        """A boto3 client of this herald: SESv2, or service="ses" for the v1 Query API."""
        import boto3
        from botocore.config import Config

        # A session per client: boto3's default session is not thread-safe.
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=overrides.get("akid", creds["access_key_id"]),
            aws_secret_access_key=overrides.get("secret", creds["secret_access_key"]),
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          connect_timeout=10, read_timeout=60))

    # -- CLI -------------------------------------------------------------------------

    def cli(self, *args, check=True, timeout=60):
        argv = [self.binary] + list(args) + ["--data-dir", self.data_dir,
                                               "--config", self.config_path]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise HeraldError("%s -> exit %d\nstdout: %s\nstderr: %s"
                              % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def cli_json(self, *args):
        r = self.cli(*args)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise HeraldError("%s printed no JSON: %r (stderr %r)" % (" ".join(args), r.stdout,
                                                                    r.stderr))

    def aws(self, creds, *args, aws_bin="/usr/bin/aws"):
        """Runs the AWS CLI against this herald with `creds` in a clean environment;
        returns the CompletedProcess (JSON output)."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update({
            "AWS_ACCESS_KEY_ID": creds["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": creds["secret_access_key"],
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
            "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
        })
        return subprocess.run([aws_bin, "--endpoint-url", self.endpoint, "--output", "json"]
                              + list(args), env=env, capture_output=True, text=True,
                              timeout=120)

    def create_account(self, name):
        acct = self.cli_json("account", "create", name, "--json")
        for key in ("account", "access_key_id", "secret_access_key", "smtp_username",
                    "smtp_password", "region"):
            if not isinstance(acct.get(key), str) or not acct[key]:
                raise HeraldError("account create: %s missing in %r" % (key, acct))
        return acct

    def verify(self, account, identity):
        self.cli("identity", "verify", "--account", account, identity)

    def production(self, account):
        self.cli("account", "production", account)

    def spool_list(self):
        return self.cli_json("spool", "list", "--json")

    def queue(self, action, arg=None):
        """`herald queue ACTION [ARG]` against the running daemon, as JSON."""
        args = ["queue", action] + ([arg] if arg is not None else [])
        if action == "list":
            args.append("--json")
        return self.cli_json(*args)

    def queue_destination(self, key):
        """The `queue list` entry of destination `key`, or None."""
        for d in self.queue("list")["destinations"]:
            if d.get("destination") == key:
                return d
        return None

    def verp_secret(self):
        with open(os.path.join(self.data_dir, "verp.key")) as f:
            return f.readline().strip()

    # -- events ------------------------------------------------------------------------

    @property
    def events_path(self):
        return os.path.join(self.data_dir, "events.jsonl")

    def events(self):
        """Every complete line of events.jsonl, parsed. A malformed complete line fails."""
        try:
            with open(self.events_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        lines = data.split(b"\n")
        for i, line in enumerate(lines[:-1]):  # the last piece is "" or a partial line
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                raise AssertionError("events.jsonl line %d is not JSON: %r" % (i + 1, line[:200]))
        return out

    def events_for(self, message_id):
        return [e for e in self.events()
                if isinstance(e.get("mail"), dict) and e["mail"].get("messageId") == message_id]


# --------------------------------------------------------------------------------------
# SMTP over a raw socket (for the smuggling cases and exact reply checks)


class RawSmtp:
    def __init__(self, host, port, timeout=15):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed; pending %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """Reads one (possibly multi-line) reply: (code, [lines]); text of the last line."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[-1][:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def last(self, line):
        """Sends a command, returns the reply's last line (e.g. '250 Ok <id>')."""
        return self.cmd(line)[1][-1]

    def ehlo(self, name="client.test"):
        code, lines = self.cmd("EHLO " + name)
        if code != 250:
            raise AssertionError("EHLO -> %r" % lines)
        return [l[4:] for l in lines]

    def starttls(self):
        code, lines = self.cmd("STARTTLS")
        if code != 220:
            raise AssertionError("STARTTLS -> %r" % lines)
        if self.buf:
            raise AssertionError("server sent data after 220 before TLS: %r" % self.buf)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)

    def auth_plain(self, user, password):
        token = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        return self.last("AUTH PLAIN " + token)

    def auth_login(self, user, password):
        code, lines = self.cmd("AUTH LOGIN")
        if code != 334:
            return lines[-1]
        code, lines = self.cmd(base64.b64encode(user.encode()).decode())
        if code != 334:
            return lines[-1]
        return self.last(base64.b64encode(password.encode()).decode())

    def login(self, creds, tls=True):
        self.ehlo()
        if tls:
            self.starttls()
            self.ehlo()
        r = self.auth_plain(creds["smtp_username"], creds["smtp_password"])
        if not r.startswith("235"):
            raise AssertionError("AUTH -> %r" % r)

    def send_mail(self, sender, rcpts, message):
        """MAIL/RCPT/DATA; returns the final reply's last line, or the first failing one."""
        r = self.last("MAIL FROM:<%s>" % sender)
        if not r.startswith("250"):
            return r
        for rcpt in rcpts:
            r = self.last("RCPT TO:<%s>" % rcpt)
            if not r.startswith("250"):
                return r
        r = self.last("DATA")
        if not r.startswith("354"):
            return r
        if isinstance(message, str):
            message = message.encode()
        self.send(dot_stuff(message) + b".\r\n")
        return self.reply()[1][-1]


def dot_stuff(message):
    lines = message.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


def rfc5322(sender, to, subject, body="Hello from the integration tests.\r\n", extra=""):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n%s\r\n%s"
            % (sender, ", ".join(to), subject, date, extra, body))


MESSAGE_ID_REPLY = re.compile(r"^250 Ok (\S+)$")


def smtp_message_id(reply):
    m = MESSAGE_ID_REPLY.match(reply)
    if not m:
        raise AssertionError("expected '250 Ok <MessageId>', got %r" % reply)
    return m.group(1)


# --------------------------------------------------------------------------------------
# Event assertions (the contract, field by field)

EXPECTED_OUTCOMES = {
    "success": ["Delivery"],
    "bounce": ["Bounce"],
    "ooto": ["Delivery", "Bounce"],
    "complaint": ["Delivery", "Complaint"],
    "suppressionlist": ["Bounce"],
}


def sim_kind(addr):
    local, _, domain = addr.rpartition("@")
    if domain.lower() != SIM:
        return None
    base = local.split("+", 1)[0].lower()
    return base if base in EXPECTED_OUTCOMES else None


def expected_event_count(recipients):
    return 1 + sum(len(EXPECTED_OUTCOMES[k]) for k in map(sim_kind, recipients) if k)


class EventChecks:
    """Mixin for unittest.TestCase: asserts one message's events against the contract."""

    def wait_message_events(self, herald, message_id, recipients, timeout=30):
        want = expected_event_count(recipients)

        def enough():
            evs = herald.events_for(message_id)
            return evs if len(evs) >= want else None

        try:
            return wait_until(enough, timeout, "%d events for %s" % (want, message_id))
        except AssertionError:
            got = herald.events_for(message_id)
            self.fail("expected %d events for %s, got %d: %s"
                      % (want, message_id, len(got),
                         [(e.get("eventType"), _rcpts_of(e)) for e in got]))

    def check_message_events(self, herald, message_id, *, source, destination, from_domain,
                             operations, subject=None, config_set=None, header_names=(),
                             from_header=None, to_header=None):
        evs = self.wait_message_events(herald, message_id, destination)
        self.assertEqual(len(evs), expected_event_count(destination),
                         "event count for %s: %s" % (message_id, [e.get("eventType") for e in evs]))
        all_ids = [e.get("eventId") for e in herald.events()]
        for e in evs:
            self.assertIsInstance(e.get("eventId"), str, e)
            self.assertTrue(e["eventId"])
            self.assertEqual(all_ids.count(e["eventId"]), 1, "eventId not unique: %s" % e["eventId"])
            self.check_mail(e["mail"], message_id=message_id, source=source,
                            destination=destination, from_domain=from_domain,
                            operations=operations, subject=subject, config_set=config_set,
                            header_names=header_names, from_header=from_header,
                            to_header=to_header)
        sends = [e for e in evs if e.get("eventType") == "Send"]
        self.assertEqual(len(sends), 1, "one Send event per message")
        self.assertEqual(sends[0].get("send"), {})
        account_ids = {e["mail"].get("sendingAccountId") for e in evs}
        self.assertEqual(len(account_ids), 1, "sendingAccountId differs between events")

        for rcpt in destination:
            kind = sim_kind(rcpt)
            mine = [e for e in evs if e.get("eventType") != "Send" and rcpt in _rcpts_of(e)]
            types = sorted(e["eventType"] for e in mine)
            self.assertEqual(types, sorted(EXPECTED_OUTCOMES.get(kind, [])),
                             "events for recipient %s" % rcpt)
            for e in mine:
                self.check_outcome(e, rcpt, kind)
        return evs

    def check_mail(self, mail, *, message_id, source, destination, from_domain, operations,
                   subject, config_set, header_names, from_header, to_header):
        self.assertIsInstance(mail, dict)
        self.assertRegex(mail.get("timestamp", ""), ISO_TS)
        self.assertEqual(mail.get("messageId"), message_id)
        self.assertEqual(mail.get("source"), source)
        self.assertIsInstance(mail.get("sendingAccountId"), str)
        self.assertTrue(mail["sendingAccountId"])
        self.assertEqual(sorted(mail.get("destination", [])), sorted(destination))
        self.assertIs(mail.get("headersTruncated"), False)
        headers = mail.get("headers")
        self.assertIsInstance(headers, list)
        self.assertTrue(headers)
        for h in headers:
            self.assertEqual(sorted(h.keys()), ["name", "value"], h)
            self.assertIsInstance(h["name"], str)
            self.assertIsInstance(h["value"], str)
        names = [h["name"].lower() for h in headers]
        for want in ("from", "to", "subject", "message-id", "date") + tuple(
                n.lower() for n in header_names):
            self.assertIn(want, names, "header %s missing from mail.headers" % want)
        self.assertFalse([n for n in names if n.startswith("x-ses-")],
                         "X-SES-* control headers must be removed")
        ch = mail.get("commonHeaders")
        self.assertIsInstance(ch, dict)
        self.assertIsInstance(ch.get("from"), list)
        self.assertTrue(ch["from"])
        if from_header is not None:
            self.assertEqual(ch["from"], [from_header])
        self.assertIsInstance(ch.get("to"), list)
        if to_header is not None:
            self.assertEqual(ch["to"], to_header)
        if subject is not None:
            self.assertEqual(ch.get("subject"), subject)
        self.assertIsInstance(ch.get("messageId"), str)
        self.assertTrue(ch["messageId"])
        self.assertIsInstance(ch.get("date"), str)
        self.assertTrue(ch["date"])
        tags = mail.get("tags")
        self.assertIsInstance(tags, dict)
        for k, v in tags.items():
            self.assertIsInstance(v, list, "tag %s" % k)
            for item in v:
                self.assertIsInstance(item, str, "tag %s" % k)
        self.assertEqual(len(tags.get("ses:operation", [])), 1, tags)
        self.assertIn(tags["ses:operation"][0], operations)
        self.assertEqual(tags.get("ses:from-domain"), [from_domain])
        self.assertEqual(tags.get("ses:source-ip"), ["127.0.0.1"])
        self.assertEqual(len(tags.get("ses:caller-identity", [])), 1, tags)
        self.assertTrue(tags["ses:caller-identity"][0])
        if config_set is not None:
            self.assertEqual(tags.get("ses:configuration-set"), [config_set])
        else:
            self.assertNotIn("ses:configuration-set", tags)

    def check_outcome(self, e, rcpt, kind):
        t = e["eventType"]
        if t == "Delivery":
            d = e.get("delivery")
            self.assertIsInstance(d, dict)
            self.assertEqual(d.get("recipients"), [rcpt])
            self.assertTrue(str(d.get("smtpResponse", "")).startswith("250"), d)
            self.assertIsInstance(d.get("reportingMTA"), str)
            self.assertTrue(d["reportingMTA"])
            self.assertIsInstance(d.get("processingTimeMillis"), int)
            self.assertGreaterEqual(d["processingTimeMillis"], 0)
            self.assertRegex(d.get("timestamp", ""), ISO_TS)
        elif t == "Bounce":
            b = e.get("bounce")
            self.assertIsInstance(b, dict)
            want = {"bounce": ("Permanent", "General"), "ooto": ("Transient", "General"),
                    "suppressionlist": ("Permanent", "Suppressed")}[kind]
            self.assertEqual((b.get("bounceType"), b.get("bounceSubType")), want, b)
            self.assertIsInstance(b.get("feedbackId"), str)
            self.assertTrue(b["feedbackId"])
            self.assertRegex(b.get("timestamp", ""), ISO_TS)
            if kind == "bounce":
                self.assertEqual(b.get("bouncedRecipients"), [{
                    "emailAddress": rcpt, "action": "failed", "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}])
                self.assertTrue(str(b.get("reportingMTA", "")).startswith("dsn; "), b)
            else:
                recips = b.get("bouncedRecipients")
                self.assertIsInstance(recips, list)
                self.assertEqual([r.get("emailAddress") for r in recips], [rcpt])
        elif t == "Complaint":
            c = e.get("complaint")
            self.assertIsInstance(c, dict)
            self.assertEqual(c.get("complainedRecipients"), [{"emailAddress": rcpt}])
            self.assertEqual(c.get("complaintFeedbackType"), "abuse")
            self.assertIsInstance(c.get("feedbackId"), str)
            self.assertTrue(c["feedbackId"])
            self.assertRegex(c.get("timestamp", ""), ISO_TS)
            self.assertIsInstance(c.get("userAgent"), str)
            self.assertTrue(c["userAgent"])
            self.assertIsInstance(c.get("arrivalDate"), str)
            self.assertTrue(c["arrivalDate"])
        else:
            self.fail("unexpected event type %r for %s" % (t, rcpt))


def _rcpts_of(e):
    t = e.get("eventType")
    if t == "Delivery":
        return list(e.get("delivery", {}).get("recipients", []))
    if t == "Bounce":
        return [r.get("emailAddress") for r in e.get("bounce", {}).get("bouncedRecipients", [])]
    if t == "Complaint":
        return [r.get("emailAddress")
                for r in e.get("complaint", {}).get("complainedRecipients", [])]
    return []


# --------------------------------------------------------------------------------------
# Test case base: one herald per test class, an account, verified identities.

SENDER = "sender@verified.example"  # verified as an email address identity
SENDER_DOMAIN = "verified.example"
DOMAIN_SENDER = "news@domain.example"  # covered by the verified domain identity
VERIFIED_RCPT = "friend@verified-rcpt.example"


class HeraldCase(unittest.TestCase, EventChecks):
    INSECURE_AUTH = False
    EXTRA_CONFIG = ""
    # Off unless a suite needs it: a real delivery attempt to a made-up domain ends in a
    # Bounce or DeliveryDelay as fast as the machine's DNS answers, which would make the
    # event counts of API suites depend on the network they run on.
    DELIVERY_ENABLED = False
    ACCOUNT = "acme"
    PRODUCTION = False

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        extra = cls.EXTRA_CONFIG
        if not cls.DELIVERY_ENABLED:
            extra += "\n[delivery]\nenabled = false\n"
        cls.herald = Herald(insecure_auth=cls.INSECURE_AUTH, extra_config=extra)
        try:
            cls.herald.start()
            cls.creds = cls.herald.create_account(cls.ACCOUNT)
            cls.herald.verify(cls.ACCOUNT, SENDER)
            cls.herald.verify(cls.ACCOUNT, "domain.example")
            cls.herald.verify(cls.ACCOUNT, VERIFIED_RCPT)
            if cls.PRODUCTION:
                cls.herald.production(cls.ACCOUNT)
        except BaseException:
            sys.stderr.write("herald log:\n%s\n" % cls.herald.log_tail())
            cls.herald.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.herald.stop()  # None: a test already stopped or killed it
            if rc is not None and rc != 0:
                raise AssertionError("herald exited %s on SIGTERM (want 0):\n%s"
                                     % (rc, cls.herald.log_tail()))
        finally:
            cls.herald.cleanup()

    def smtp(self):
        host, port = self.herald.smtp_addr
        return RawSmtp(host, port)


class SinkCase(HeraldCase):
    """A HeraldCase whose herald delivers to an smtp-sink (dump=True) started first, and
    stopped last. sink_config(port) gives the configuration added for it (static routes
    to the sink); setUpSuite() runs once herald is up (a failure stops the sink too)."""

    DELIVERY_ENABLED = True

    @classmethod
    def sink_config(cls, port):
        return ""

    @classmethod
    def setUpSuite(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink(dump=True)
        cls.EXTRA_CONFIG = cls.sink_config(cls.sink.port)
        try:
            super().setUpClass()
            cls.setUpSuite()
        except BaseException:
            cls.sink.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.sink.cleanup()


# --------------------------------------------------------------------------------------
# Postfix: a private instance (own config, queue and data dirs; no chroot; runs as root).


class Postfix:
    """A Postfix instance on 127.0.0.1:port.

    mode="queue": accepts everything into its queue and never delivers (every message goes
    to the hold queue through an access-table HOLD action); smtpd, cleanup and the queue
    files behave exactly as in a normal Postfix, fsync included. mode="mx": a receiving MX
    for `domains` (default example.test), each with the virtual mailboxes alice and bob
    (Maildirs under DIR/vmail/<domain>/<user>/); unknown users are refused at RCPT with
    550 5.1.1, other domains with a relay refusal. mode="relay": a relay for loopback
    clients that accepts any recipient into its queue and delivers it to `relayhost`
    ("HOST:PORT"), except the domains of `transports` ({domain: "HOST:PORT"}), which go to
    their own next hop; what the next hop refuses, this Postfix bounces with its own DSN
    to the envelope sender (its bounces are routed like any mail, so a transport for the
    return-path domain sends them there).
    """

    MAILBOXES = ("alice", "bob")

    def __init__(self, mode="queue", port=None, domains=("example.test",), relayhost=None,
                 transports=None):
        if os.geteuid() != 0:
            raise unittest.SkipTest("Postfix needs root")
        if mode not in ("queue", "mx", "relay"):
            raise ValueError("unknown Postfix mode %r" % mode)
        if mode == "relay" and not relayhost:
            raise ValueError("mode relay needs a relayhost")
        self.mode = mode
        self.relayhost = relayhost
        self.transports = dict(transports or {})
        self.domains = tuple(domains)
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="herald-postfix-")
        os.chmod(self.dir, 0o755)  # Postfix's unprivileged daemons must reach the queue
        self.etc = os.path.join(self.dir, "etc")
        self.started = False

    def _postconf(self, *args):
        subprocess.run(["postconf", "-c", self.etc] + list(args), check=True,
                       stdout=subprocess.DEVNULL)

    def configure(self):
        d = self.dir
        for sub in ("etc", "spool", "data", "vmail"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shutil.copy("/etc/postfix/master.cf", os.path.join(self.etc, "master.cf"))
        open(os.path.join(self.etc, "main.cf"), "w").close()
        common = [
            "compatibility_level=3.6", "queue_directory=%s/spool" % d,
            "data_directory=%s/data" % d, "myhostname=mx.example.test",
            "mydomain=example.test", "myorigin=example.test", "inet_interfaces=127.0.0.1",
            "inet_protocols=ipv4", "mydestination=", "local_recipient_maps=", "alias_maps=",
            "alias_database=", "maillog_file=%s/maillog" % d, "maillog_file_prefixes=%s" % d,
            "smtpd_tls_security_level=none", "smtpd_banner=$myhostname ESMTP",
        ]
        if self.mode == "queue":
            common += [
                # Accept any recipient from loopback and put every message on the hold
                # queue (an access-table HOLD action, once per message at DATA): smtpd and
                # cleanup work and fsync exactly as for normal mail, the 250 is sent after
                # the queue file is safely on disk, and the queue manager never schedules
                # a delivery, so nothing else competes for the CPU.
                "mynetworks=127.0.0.0/8",
                "smtpd_relay_restrictions=permit_mynetworks,reject",
                "smtpd_recipient_restrictions=permit_mynetworks,reject",
                "smtpd_data_restrictions=check_client_access static:HOLD",
                "smtpd_client_connection_count_limit=0", "smtpd_client_message_rate_limit=0",
                "smtpd_client_recipient_rate_limit=0", "smtpd_client_connection_rate_limit=0",
                "default_process_limit=100",
            ]
        elif self.mode == "relay":
            host, port = self.relayhost.rsplit(":", 1)
            common += [
                "mynetworks=127.0.0.0/8",
                "smtpd_relay_restrictions=permit_mynetworks,reject",
                "smtpd_recipient_restrictions=permit_mynetworks,reject",
                "relayhost=[%s]:%s" % (host, port),
                "transport_maps=texthash:%s/etc/transport" % d,
                "smtp_tls_security_level=may",  # herald's feedback MX offers STARTTLS
                "delay_warning_time=0",
            ]
            with open(os.path.join(self.etc, "transport"), "w") as f:
                for domain, hop in sorted(self.transports.items()):
                    h, p = hop.rsplit(":", 1)
                    f.write("%s smtp:[%s]:%s\n" % (domain, h, p))
        else:
            common += [
                "virtual_mailbox_domains=%s" % ",".join(self.domains),
                "virtual_mailbox_base=%s/vmail" % d,
                "virtual_mailbox_maps=texthash:%s/etc/vmailbox" % d,
                "virtual_uid_maps=static:65534", "virtual_gid_maps=static:65534",
                "virtual_minimum_uid=100", "smtpd_relay_restrictions=reject_unauth_destination",
            ]
            with open(os.path.join(self.etc, "vmailbox"), "w") as f:
                for domain in self.domains:
                    for user in self.MAILBOXES:
                        f.write("%s@%s %s/%s/\n" % (user, domain, domain, user))
        self._postconf("-e", *common)
        self._postconf("-F", "*/*/chroot=n")
        self._postconf("-MX", "smtp/inet")
        self._postconf("-Me", "%d/inet=%d inet n - n - - smtpd" % (self.port, self.port))
        subprocess.run(["chown", "65534:65534", os.path.join(d, "vmail")], check=True)
        subprocess.run(["chown", "postfix:postfix", os.path.join(d, "data")], check=True)
        subprocess.run(["postfix", "-c", self.etc, "check"], check=True)

    def start(self):
        try:
            self.configure()
            self.started = True  # from here on stop() must run "postfix stop"
            subprocess.run(["postfix", "-c", self.etc, "start"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_port("127.0.0.1", self.port)
        except BaseException:
            self.stop()
            raise
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def queued(self):
        """Number of messages in the queue (all queues)."""
        n = 0
        for q in ("incoming", "active", "deferred", "hold", "maildrop"):
            for _root, _dirs, files in os.walk(os.path.join(self.dir, "spool", q)):
                n += len(files)
        return n

    def maildir(self, address):
        """Paths of the messages delivered to `address` (mode="mx"), oldest first."""
        user, domain = address.split("@")
        base = os.path.join(self.dir, "vmail", domain, user)
        paths = []
        for sub in ("new", "cur"):
            try:
                paths += [os.path.join(base, sub, n) for n in os.listdir(os.path.join(base, sub))]
            except FileNotFoundError:
                pass
        return sorted(paths, key=os.path.getmtime)

    def maillog(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def maillog_matching(self, pattern, timeout=10.0):
        """The log once `pattern` (a regex) appears in it, or the log as it stands after
        `timeout` seconds. postlogd writes lines after the mail itself lands, so a test
        that has just seen the message must wait for the line that describes it."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.maillog()
            if re.search(pattern, log) or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def stop(self):
        if self.started:
            pid = self.master_pid()
            subprocess.run(["postfix", "-c", self.etc, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if pid:
                def gone():
                    try:
                        os.kill(pid, 0)
                        return False
                    except ProcessLookupError:
                        return True
                try:
                    wait_until(gone, 20, "postfix master %d to exit" % pid)
                except AssertionError:
                    os.kill(pid, signal.SIGKILL)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# dnsmasq: a DNS server for the test's own names (MX, A, TXT), on a loopback port.

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def dns_query(port, name, qtype="A", timeout=1.0):
    """One UDP query to 127.0.0.1:port; returns the reply's RCODE (0 NOERROR, 3 NXDOMAIN,
    5 REFUSED) or None when nothing answers in time."""
    qtypes = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28}
    tid = int.from_bytes(os.urandom(2), "big")
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    packet = (tid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname
              + qtypes[qtype].to_bytes(2, "big") + b"\x00\x01")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            while True:
                data, _ = s.recvfrom(4096)
                if len(data) >= 4 and int.from_bytes(data[:2], "big") == tid:
                    return data[3] & 0x0F
        except OSError:  # timeout, or ICMP port unreachable before dnsmasq listens
            return None


class Dnsmasq:
    """A dnsmasq on 127.0.0.1:PORT that answers only from the records it is given.

    txt: [(name, value)]; a value longer than 255 octets is published as several
    character-strings of at most 255 (one TXT record), as a DKIM key must be.
    mx: [(domain, host, preference)]; host "." publishes a null MX (RFC 7505).
    hosts: [(name, ipv4)] A records (the name then exists: its other types are NODATA).
    local: domains dnsmasq is authoritative for: unknown names under them are NXDOMAIN
    (without it dnsmasq, which has no upstream, answers REFUSED).
    The process is started at once, tracked by PID, and stop() ends it.
    """

    def __init__(self, port, txt=(), mx=(), hosts=(), local=()):
        if not os.access(DNSMASQ, os.X_OK):
            raise unittest.SkipTest("dnsmasq (dnsmasq-base) is not installed")
        import pwd

        self.port = port
        args = [DNSMASQ, "-k", "--conf-file=/dev/null", "--port=%d" % port,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--log-facility=-", "--user=%s" % pwd.getpwuid(os.geteuid()).pw_name]
        for domain in local:
            args.append("--local=/%s/" % domain)
        for name, ip in hosts:
            args.append("--host-record=%s,%s" % (name, ip))
        for domain, host, pref in mx:
            args.append("--mx-host=%s,%s,%d" % (domain, host, pref))
        for name, value in txt:
            if "," in value:  # dnsmasq separates character-strings with commas
                raise ValueError("TXT value with a comma: %r" % value)
            chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
            args.append("--txt-record=%s,%s" % (name, ",".join(chunks)))  # argv: no quoting
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        _register(self.proc, "dnsmasq")

        def answering():
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise AssertionError("dnsmasq exited with %s: %s"
                                     % (self.proc.returncode, self.log.read()[-2000:]))
            return dns_query(port, "ready.invalid", timeout=0.2) is not None

        wait_until(answering, 10, "dnsmasq on port %d" % port)

    def stop(self):
        _terminate(self.proc)
        self.log.close()


# --------------------------------------------------------------------------------------
# smtp-sink (Postfix's test server): accepts, refuses or dumps mail on a loopback port.

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class SmtpSink:
    """smtp-sink on 127.0.0.1:port.

    hard / soft: SMTP commands ("RCPT", "MAIL", ...) refused with hard_reply (5xx) or
    soft_reply (4xx). dump: keep every transaction in a file of self.dump_dir (read them with
    messages()). Started at once; stop() ends the process by PID.
    """

    def __init__(self, port=None, hard=(), soft=(), dump=False,
                 hard_reply="550 5.1.1 sink.test: no such user here",
                 soft_reply="451 4.3.2 sink.test: mailbox temporarily locked"):
        if not os.access(SMTP_SINK, os.X_OK):
            raise unittest.SkipTest("smtp-sink (postfix) is not installed")
        self.port = port or free_port()
        self.hard_reply, self.soft_reply = hard_reply, soft_reply
        self.dump_dir = None
        args = [SMTP_SINK, "-h", "sink.test"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]  # smtp-sink refuses to keep root privileges
        if hard:
            args += ["-f", ",".join(hard), "-B", hard_reply]
        if soft:
            args += ["-r", ",".join(soft), "-b", soft_reply]
        if dump:
            self.dump_dir = tempfile.mkdtemp(prefix="herald-sink-")
            os.chmod(self.dump_dir, 0o777)  # written by the unprivileged sink
            args += ["-d", os.path.join(self.dump_dir, "msg.")]
        args += ["127.0.0.1:%d" % self.port, "64"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _register(self.proc, "smtp-sink")
        try:
            wait_port("127.0.0.1", self.port, timeout=10)
        except BaseException:
            self.stop()
            raise

    def messages(self):
        """The dumped transactions: [(sink_fields, email.message.Message)], where sink_fields
        maps the sink's X-Mail-Args / X-Rcpt-Args (a list) / X-Helo-Args. A file still being
        written (no blank line after the headers yet) is left out."""
        import email
        import email.policy

        out = []
        for name in sorted(os.listdir(self.dump_dir or "/nonexistent")):
            with open(os.path.join(self.dump_dir, name), "rb") as f:
                raw = f.read()
            if b"\n\n" not in raw:
                continue
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            fields = {"X-Mail-Args": msg.get("X-Mail-Args"),
                      "X-Rcpt-Args": msg.get_all("X-Rcpt-Args") or [],
                      "X-Helo-Args": msg.get("X-Helo-Args")}
            out.append((fields, msg))
        return out

    def stop(self):
        _terminate(self.proc)

    def cleanup(self):
        self.stop()
        if self.dump_dir:
            shutil.rmtree(self.dump_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Raw signed API calls (boto3 drops herald's extension members such as HeraldDkimRecord).


def signed_get(herald, creds, path):
    """A GET signed by botocore's SigV4 signer; returns the whole JSON body."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "http://%s%s" % (herald.http, path)
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(creds["access_key_id"], creds["secret_access_key"]), "ses",
              REGION).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(url, headers=dict(prepared.headers), method="GET")
    with urllib.request.urlopen(r, timeout=15) as resp:
        return json.loads(resp.read())


# --------------------------------------------------------------------------------------
# VERP return paths (src/mail/verp.h): "b-" base32(id(24) | varint(recipient) | mac(8)).


def decode_verp(local_part, secret):
    """(message_id, recipient_index) of a VERP local part; AssertionError when it is not one
    or its MAC does not match `secret` (the text of DATA_DIR/verp.key)."""
    import hashlib
    import hmac

    if not local_part.lower().startswith("b-"):
        raise AssertionError("not a VERP local part: %r" % local_part)
    text = local_part[2:].lower()
    pad = "=" * (-len(text) % 8)
    try:
        payload = base64.b32decode(text.upper() + pad)
    except ValueError as e:
        raise AssertionError("VERP token %r is not base32: %s" % (local_part, e))
    body, mac = payload[:-8], payload[-8:]
    want = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:8]
    if not hmac.compare_digest(mac, want):
        raise AssertionError("VERP token %r: MAC does not match verp.key" % local_part)
    h = body[:24].hex()
    message_id = "%s-%s-%s-%s-%s-%s-000000" % (h[:16], h[16:24], h[24:28], h[28:32], h[32:36],
                                                h[36:48])
    index, shift = 0, 0
    for b in body[24:]:
        index |= (b & 0x7F) << shift
        shift += 7
    return message_id, index


def encode_verp(message_id, index, secret):
    """The VERP local part herald would use for recipient `index` of `message_id` (the
    inverse of decode_verp; for tests that play a remote MTA returning a bounce)."""
    import hashlib
    import hmac

    parts = message_id.split("-")
    body = bytes.fromhex(parts[0] + "".join(parts[1:6]))
    n = index
    while True:
        b = n & 0x7F
        n >>= 7
        body += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:8]
    return "b-" + base64.b32encode(body + mac).decode().rstrip("=").lower()


# --------------------------------------------------------------------------------------


def main():
    global HERALD_BIN
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--herald" and i + 1 < len(args):
            HERALD_BIN = os.path.abspath(args[i + 1])
            i += 2
            continue
        if args[i].startswith("--herald="):
            HERALD_BIN = os.path.abspath(args[i].split("=", 1)[1])
            i += 1
            continue
        argv.append(args[i])
        i += 1
    if not os.access(HERALD_BIN, os.X_OK):
        sys.stderr.write("herald binary not found at %s (use --herald PATH)\n" % HERALD_BIN)
        sys.exit(2)
    import warnings
    warnings.simplefilter("ignore", ResourceWarning)  # botocore's pooled sockets at exit
    unittest.main(argv=argv, verbosity=2, warnings="ignore")


# --------------------------------------------------------------------------------------
# boto3 1.26 (Debian) predates Simple.Headers/Attachments and Template.TemplateContent:
# this hook merges such fields into the JSON body before it is signed, so the request on
# the wire is what a newer SDK sends.


def _deep_merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = v


class ExtraBody:
    """Context manager: merge `fields` into the JSON body of `operation` calls."""

    def __init__(self, client, operation, fields):
        self.client, self.event, self.fields = client, "before-sign.sesv2.%s" % operation, fields

    def _hook(self, request, **_kw):
        body = json.loads(request.data or b"{}")
        _deep_merge(body, self.fields)
        request.data = json.dumps(body).encode()
        for h in list(request.headers.keys()):
            if h.lower() == "content-length":
                del request.headers[h]

    def __enter__(self):
        self.client.meta.events.register(self.event, self._hook, unique_id="herald-extra")
        return self

    def __exit__(self, *exc):
        self.client.meta.events.unregister(self.event, unique_id="herald-extra")


def client_error(exc):
    """(status, code, message) of a botocore ClientError."""
    r = exc.response
    return (r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code"),
            r["Error"].get("Message"))
