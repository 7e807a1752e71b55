#!/usr/bin/python3
"""The delivery engine against real peers: a Postfix MX reached through MX records that a
dnsmasq serves, smtp-sink instances reached through static routes, and herald itself
killed and restarted. Every check reads what the peer really received (Maildir files,
smtp-sink dumps, Postfix's log) or what herald really published (events.jsonl, `herald
queue`), so each can fail.

    /usr/bin/python3 tests/integration/test_delivery.py --herald build/herald
"""

import datetime
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness

SENDING_DOMAIN = "acme-mail.test"
SENDER = "news@" + SENDING_DOMAIN
RETURN_PATH_DOMAIN = "bounces.herald.test"
HOSTNAME = "herald.test"  # harness.BASE_CONFIG
POSTFIX_QUEUED = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$")
DKIM_VERIFY = os.path.join(harness.HERE, "dkim_verify.py")


def parse_ts(text):
    """An event timestamp ("2026-01-02T03:04:05.678Z") as an aware datetime."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", text)
    if not m:
        raise AssertionError("not an ISO-8601 UTC timestamp: %r" % text)
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = float(m.group(2) or 0)
    return (t + datetime.timedelta(seconds=frac)).replace(tzinfo=datetime.timezone.utc)


def recipients_of(e):
    t = e.get("eventType")
    if t == "Delivery":
        return list(e["delivery"].get("recipients", []))
    if t == "Bounce":
        return [r.get("emailAddress") for r in e["bounce"].get("bouncedRecipients", [])]
    if t == "DeliveryDelay":
        return [r.get("emailAddress") for r in e["deliveryDelay"].get("delayedRecipients", [])]
    return []


def simple(subject, text="Hello from the delivery tests.\n"):
    return {"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}}


class DeliveryChecks(unittest.TestCase):
    """Helpers over one herald (cls.herald)."""

    maxDiff = None

    def send(self, to, subject, sender=SENDER):
        return self.client.send_email(FromEmailAddress=sender, Destination={"ToAddresses": to},
                                      Content=simple(subject))["MessageId"]

    def event(self, mid, etype, rcpt, timeout=20):
        """The first `etype` event of message `mid` naming `rcpt`, waiting for it."""
        def find():
            for e in self.herald.events_for(mid):
                if e.get("eventType") == etype and rcpt in recipients_of(e):
                    return e
            return None

        try:
            return harness.wait_until(find, timeout, "%s event for %s" % (etype, rcpt))
        except AssertionError:
            got = [(e.get("eventType"), recipients_of(e)) for e in self.herald.events_for(mid)]
            self.fail("no %s event for %s of %s within %ss; events: %s\nherald log:\n%s"
                      % (etype, rcpt, mid, timeout, got, self.herald.log_tail()))

    def outcomes(self, mid):
        return sorted((e["eventType"], r) for e in self.herald.events_for(mid)
                      for r in recipients_of(e))

    def check_bounce(self, e, rcpt, bounce_type, status, diagnostic, remote=None,
                     sub_type="General"):
        b = e["bounce"]
        self.assertEqual(b.get("bounceType"), bounce_type, b)
        self.assertEqual(b.get("bounceSubType"), sub_type, b)
        self.assertEqual(len(b["bouncedRecipients"]), 1, b)
        r = b["bouncedRecipients"][0]
        self.assertEqual(r.get("emailAddress"), rcpt)
        self.assertEqual(r.get("action"), "failed")
        self.assertEqual(r.get("status"), status, b)
        self.assertIn(diagnostic, r.get("diagnosticCode", ""), b)
        self.assertTrue(r["diagnosticCode"].startswith("smtp; "), b)
        self.assertEqual(b.get("reportingMTA"), "dsn; " + HOSTNAME)
        self.assertRegex(b.get("timestamp", ""), harness.ISO_TS)
        self.assertTrue(b.get("feedbackId"))
        if remote is None:
            self.assertNotIn("remoteMtaIp", b, "no server was contacted")
        else:
            self.assertEqual(b.get("remoteMtaIp"), remote)


def herald_or_cleanup(extra_config):
    h = harness.Herald(extra_config=extra_config)
    try:
        h.start()
    except BaseException:
        sys.stderr.write("herald log:\n%s\n" % h.log_tail())
        h.cleanup()
        raise
    return h


def stop_herald(testcase, h):
    rc = h.stop()
    testcase.assertIn(rc, (0, None), "herald exit status on SIGTERM:\n%s" % h.log_tail())


def close_herald(h):
    """For tearDownClass: SIGTERM (exit status 0 required), then remove its directory."""
    if h is None:
        return
    try:
        rc = h.stop()
        if rc not in (0, None):
            raise AssertionError("herald exited %s on SIGTERM:\n%s" % (rc, h.log_tail()))
    finally:
        h.cleanup()


# --------------------------------------------------------------------------------------
# MX routing through real DNS to a real Postfix.


class GreetingRefuser:
    """A listener on 127.0.0.3:port that answers every connection with a 421 greeting and
    closes it, counting the connections: a first MX that is up but refuses service."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.3", port))
        self.sock.listen(16)
        self.connections = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.sendall(b"421 4.3.2 busy-mx.test: service not available, try another\r\n")
            except OSError:
                pass
            conn.close()

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


class MxDelivery(DeliveryChecks):
    """herald -> dnsmasq (MX, A, TXT) -> Postfix on a loopback port (`delivery.mx_port`).

    Names: example.test MX 10 mx.example.test (127.0.0.1); implicit.test only A 127.0.0.1;
    null.test a null MX (and an A record, so that mistaking it for an implicit MX would
    reach Postfix); backup.test MX 10 down.backup.test (127.0.0.2, nothing listens) and
    MX 20 mx.example.test; busy.test MX 10 busy-mx.test (127.0.0.3, refuses at the
    greeting) and MX 20 mx.example.test; nothere.test does not exist. The sending domain
    acme-mail.test is verified and gets its DKIM key published the way a customer does it:
    CreateEmailIdentity, then the two TXT records herald asks for.
    """

    @classmethod
    def routing_records(cls):
        return dict(
            local=["test"],
            mx=[("example.test", "mx.example.test", 10), ("null.test", ".", 0),
                ("backup.test", "down.backup.test", 10), ("backup.test", "mx.example.test", 20),
                ("busy.test", "busy-mx.test", 10), ("busy.test", "mx.example.test", 20)],
            hosts=[("mx.example.test", "127.0.0.1"), ("implicit.test", "127.0.0.1"),
                   ("null.test", "127.0.0.1"), ("down.backup.test", "127.0.0.2"),
                   ("busy-mx.test", "127.0.0.3")])

    @classmethod
    def setUpClass(cls):
        cls.postfix = cls.dns = cls.herald = cls.refuser = None
        t0 = time.monotonic()
        try:
            cls.postfix = harness.Postfix(
                mode="mx", domains=("example.test", "implicit.test", "backup.test", "busy.test",
                                    "null.test")).start()
            cls.refuser = GreetingRefuser(cls.postfix.port)
            cls.dns_port = harness.free_port()
            cls.dns = harness.Dnsmasq(cls.dns_port, **cls.routing_records())
            cls.herald = herald_or_cleanup(
                '\n[dns]\nserver = "127.0.0.1:%d"\n\n[delivery]\nmx_port = %d\n'
                'return_path_domain = "%s"\nretry_schedule = "1s"\nmax_delivery_seconds = 60\n'
                'connect_timeout_seconds = 2\ncommand_timeout_seconds = 10\n'
                'data_timeout_seconds = 10\n'
                % (cls.dns_port, cls.postfix.port, RETURN_PATH_DOMAIN))
            cls.creds = cls.herald.create_account("mx")
            cls.herald.production("mx")
            cls.client = cls.herald.boto(cls.creds)

            # The customer's flow: create the domain identity, publish what herald asks for.
            cls.created = cls.client.create_email_identity(EmailIdentity=SENDING_DOMAIN)
            cls.raw_identity = harness.signed_get(cls.herald, cls.creds,
                                                  "/v2/email/identities/" + SENDING_DOMAIN)
            ver = cls.raw_identity["HeraldVerificationRecord"]
            dkim = cls.raw_identity["HeraldDkimRecord"]
            cls.dns.stop()
            records = cls.routing_records()
            records["txt"] = [(ver["Name"], ver["Value"]), (dkim["Name"], dkim["Value"])]
            cls.dns = harness.Dnsmasq(cls.dns_port, **records)

            def verified():
                g = cls.client.get_email_identity(EmailIdentity=SENDING_DOMAIN)
                ok = (g["VerificationStatus"] == "SUCCESS"
                      and g["DkimAttributes"].get("Status") == "SUCCESS")
                return g if ok else None

            cls.verified = harness.wait_until(verified, 20, "the domain and its DKIM to verify")
        except BaseException:
            if cls.herald:
                sys.stderr.write("herald log:\n%s\n" % cls.herald.log_tail())
            cls.tearDownClass()
            raise
        sys.stderr.write("[MxDelivery set-up %.1fs] " % (time.monotonic() - t0))

    @classmethod
    def tearDownClass(cls):
        try:
            close_herald(cls.herald)
        finally:
            for peer in (cls.dns, cls.postfix, cls.refuser):
                if peer is not None:
                    peer.stop()
            cls.herald = cls.dns = cls.postfix = cls.refuser = None

    def maildir_message(self, address, subject, timeout=20):
        """(raw bytes, parsed message) of the message with `subject` in `address`'s Maildir."""
        def find():
            for path in self.postfix.maildir(address):
                with open(path, "rb") as f:
                    raw = f.read()
                msg = email.message_from_bytes(raw, policy=email.policy.compat32)
                if msg.get("Subject") == subject:
                    return raw, msg
            return None

        try:
            return harness.wait_until(find, timeout, "%r in %s's Maildir" % (subject, address))
        except AssertionError:
            self.fail("no message %r in %s's Maildir; Postfix log:\n%s"
                      % (subject, address, self.postfix.maillog()[-3000:]))

    def check_verp(self, msg, mid, rcpt, event):
        rp = msg.get("Return-Path", "")
        m = re.fullmatch(r"<(b-[a-z2-7]+)@([^>]+)>", rp.strip())
        self.assertTrue(m, "Return-Path is not a VERP address: %r" % rp)
        self.assertEqual(m.group(2), RETURN_PATH_DOMAIN)
        self.assertLessEqual(len(m.group(1)), 64, "local part over RFC 5321's limit")
        got_id, index = harness.decode_verp(m.group(1), self.herald.verp_secret())
        self.assertEqual(got_id, mid)
        self.assertEqual(index, event["mail"]["destination"].index(rcpt))

    # -- 1. a delivery and a refusal by the real MX ------------------------------------

    def test_delivers_to_mx_and_bounces_unknown_user(self):
        subject = "mx delivery %s" % os.urandom(4).hex()
        rcpts = ["alice@example.test", "nobody@example.test"]
        mid = self.send(rcpts, subject)

        d = self.event(mid, "Delivery", "alice@example.test")
        detail = d["delivery"]
        m = POSTFIX_QUEUED.match(detail.get("smtpResponse", ""))
        self.assertTrue(m, "smtpResponse is not Postfix's reply: %r" % detail.get("smtpResponse"))
        self.assertEqual(detail.get("recipients"), ["alice@example.test"])
        self.assertEqual(detail.get("reportingMTA"), HOSTNAME)
        self.assertEqual(detail.get("remoteMtaIp"), "127.0.0.1")
        self.assertIsInstance(detail.get("processingTimeMillis"), int)
        self.assertGreaterEqual(detail["processingTimeMillis"], 0)
        self.assertRegex(detail.get("timestamp", ""), harness.ISO_TS)
        queue_id = m.group(1)

        b = self.event(mid, "Bounce", "nobody@example.test")
        self.check_bounce(b, "nobody@example.test", "Permanent", "5.1.1",
                          "smtp; 550 5.1.1 <nobody@example.test>: Recipient address rejected: "
                          "User unknown in virtual mailbox table", remote="127.0.0.1",
                          sub_type="NoEmail")
        for e in (d, b):
            self.assertEqual(e["mail"]["messageId"], mid)
            self.assertEqual(e["mail"]["source"], SENDER)
            self.assertEqual(e["mail"]["destination"], rcpts)

        raw, msg = self.maildir_message("alice@example.test", subject)
        self.assertEqual(msg.get("Delivered-To"), "alice@example.test")
        self.assertIn(mid, msg.get("Message-ID", ""))
        self.check_verp(msg, mid, "alice@example.test", d)
        # Postfix's own log ties its queue id (the one in smtpResponse) to this delivery.
        sent = r"%s: to=<alice@example\.test>, .*status=sent" % queue_id
        log = self.postfix.maillog_matching(sent)
        self.assertRegex(log, sent)
        self.assertRegex(log, r"%s: from=<b-[a-z2-7]+@%s>" % (queue_id,
                                                             re.escape(RETURN_PATH_DOMAIN)))
        self.assertEqual(self.postfix.maildir("nobody@example.test"), [])
        self.assertEqual(self.outcomes(mid), [("Bounce", "nobody@example.test"),
                                              ("Delivery", "alice@example.test")])

    # -- 2. DKIM: key made by CreateEmailIdentity, published, verified independently -----

    def test_dkim_signature_verifies(self):
        tokens = self.created["DkimAttributes"]["Tokens"]
        self.assertEqual(len(tokens), 1, self.created)
        selector = tokens[0]
        record = self.raw_identity["HeraldDkimRecord"]
        self.assertEqual(record["Name"], "%s._domainkey.%s" % (selector, SENDING_DOMAIN))
        self.assertEqual(record["Type"], "TXT")
        self.assertTrue(record["Value"].startswith("v=DKIM1; k=rsa; p="), record)
        self.assertGreater(len(record["Value"]), 255, "a 2048-bit key needs split strings")
        self.assertEqual(self.verified["DkimAttributes"]["Tokens"], [selector])
        self.assertIs(self.verified["DkimAttributes"]["SigningEnabled"], True)
        self.assertIs(self.verified["VerifiedForSendingStatus"], True)

        subject = "dkim %s" % os.urandom(4).hex()
        mid = self.send(["bob@example.test"], subject)
        self.event(mid, "Delivery", "bob@example.test")
        raw, msg = self.maildir_message("bob@example.test", subject)
        sigs = msg.get_all("DKIM-Signature") or []
        self.assertEqual(len(sigs), 1, "one DKIM-Signature in %r" % raw[:2000])
        tags = dict(t.strip().split("=", 1) for t in re.sub(r"\s+", "", sigs[0]).split(";")
                    if "=" in t)
        self.assertEqual(tags.get("d"), SENDING_DOMAIN)
        self.assertEqual(tags.get("s"), selector)
        self.assertEqual(tags.get("a"), "rsa-sha256")

        # The Maildir file has LF line ends and Postfix's trace fields on top; dkimpy wants
        # the message as transmitted (CRLF). Postfix's added fields are not signed.
        wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        ok = self.dkim_verify(wire, record["Value"], selector)
        self.assertEqual(ok.returncode, 0, "dkim_verify: %s %s" % (ok.stdout, ok.stderr))
        self.assertIn("signature 0: pass", ok.stdout)
        # The verifier really checks: one altered body byte fails it.
        bad = self.dkim_verify(wire.replace(b"delivery tests", b"delivery Tests"),
                               record["Value"], selector)
        self.assertEqual(bad.returncode, 1, "tampered message verified: %s" % bad.stdout)

    def dkim_verify(self, wire, value, selector):
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(wire)
            f.flush()
            return subprocess.run(["/usr/bin/python3", DKIM_VERIFY, f.name, value,
                                   "--selector", selector, "--domain", SENDING_DOMAIN],
                                  capture_output=True, text=True, timeout=60)

    # -- 3. routing: implicit MX, null MX, no such domain, MX fail-over ------------------

    def test_routing_cases(self):
        subject = "routing %s" % os.urandom(4).hex()
        rcpts = ["alice@implicit.test", "bob@backup.test", "alice@busy.test", "x@null.test",
                 "y@nothere.test"]
        mid = self.send(rcpts, subject)

        # Implicit MX: implicit.test has no MX, its A record is the mail server.
        d = self.event(mid, "Delivery", "alice@implicit.test")
        self.assertTrue(POSTFIX_QUEUED.match(d["delivery"]["smtpResponse"]), d)
        self.maildir_message("alice@implicit.test", subject)
        # MX 10 (127.0.0.2) refuses the connection: MX 20 (Postfix) takes it.
        d = self.event(mid, "Delivery", "bob@backup.test")
        self.assertTrue(POSTFIX_QUEUED.match(d["delivery"]["smtpResponse"]), d)
        self.assertEqual(d["delivery"]["remoteMtaIp"], "127.0.0.1")
        self.maildir_message("bob@backup.test", subject)
        # MX 10 answers 421 at the greeting: tried first, then MX 20 takes it.
        d = self.event(mid, "Delivery", "alice@busy.test")
        self.assertEqual(d["delivery"]["remoteMtaIp"], "127.0.0.1")
        self.maildir_message("alice@busy.test", subject)
        self.assertGreaterEqual(self.refuser.connections, 1, "MX 10 of busy.test never tried")

        # Null MX (RFC 7505): a permanent bounce at once, no connection.
        b = self.event(mid, "Bounce", "x@null.test")
        self.check_bounce(b, "x@null.test", "Permanent", "5.1.10", "null MX")
        # No such domain: permanent as well.
        b = self.event(mid, "Bounce", "y@nothere.test")
        self.check_bounce(b, "y@nothere.test", "Permanent", "5.1.2", "nothere.test")
        log = self.postfix.maillog()
        self.assertNotIn("null.test", log, "herald connected to an A record behind a null MX")
        self.assertEqual(self.postfix.maildir("x@null.test"), [])

        self.assertEqual(self.outcomes(mid), sorted([
            ("Delivery", "alice@implicit.test"), ("Delivery", "bob@backup.test"),
            ("Delivery", "alice@busy.test"), ("Bounce", "x@null.test"),
            ("Bounce", "y@nothere.test")]))


# --------------------------------------------------------------------------------------
# Static routes to smtp-sink: hard and soft refusals, expiry.


class SinkRefusals(DeliveryChecks):
    """hard.test -> smtp-sink refusing RCPT with 5xx; soft.test -> with 4xx. Retries every
    second, messages expire after 3 seconds."""

    @classmethod
    def setUpClass(cls):
        cls.hard = cls.soft = cls.plain = cls.herald = None
        try:
            cls.hard = harness.SmtpSink(hard=["RCPT"])
            cls.soft = harness.SmtpSink(soft=["RCPT"])
            cls.plain = harness.SmtpSink(dump=True)  # healthy, but offers no STARTTLS
            cls.herald = herald_or_cleanup(
                '\n[delivery]\nroutes = ["hard.test 127.0.0.1:%d", "soft.test 127.0.0.1:%d", '
                '"plain.test 127.0.0.1:%d"]\n'
                'retry_schedule = "1s"\nmax_delivery_seconds = 3\nconnect_timeout_seconds = 2\n'
                'command_timeout_seconds = 5\ndata_timeout_seconds = 5\n'
                % (cls.hard.port, cls.soft.port, cls.plain.port))
            cls.creds = cls.herald.create_account("sink")
            cls.herald.verify("sink", SENDER)
            cls.herald.production("sink")
            cls.client = cls.herald.boto(cls.creds)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            close_herald(cls.herald)
        finally:
            for s in (cls.hard, cls.soft, cls.plain):
                if s:
                    s.cleanup()

    def test_hard_refusal_bounces_permanently(self):
        mid = self.send(["user@hard.test"], "hard")
        b = self.event(mid, "Bounce", "user@hard.test")
        self.check_bounce(b, "user@hard.test", "Permanent", "5.1.1",
                          "smtp; " + self.hard.hard_reply, remote="127.0.0.1", sub_type="NoEmail")
        self.assertEqual(self.outcomes(mid), [("Bounce", "user@hard.test")])

    def test_soft_refusal_delays_then_expires(self):
        t0 = time.monotonic()
        mid = self.send(["user@soft.test"], "soft")
        delay = self.event(mid, "DeliveryDelay", "user@soft.test", timeout=10)
        dd = delay["deliveryDelay"]
        self.assertIsInstance(dd.get("delayType"), str)
        self.assertTrue(dd["delayType"])
        self.assertEqual(dd.get("reportingMTA"), HOSTNAME)
        r = dd["delayedRecipients"][0]
        self.assertEqual(r["status"], "4.3.2")
        self.assertIn(self.soft.soft_reply, r["diagnosticCode"])
        accepted = parse_ts(delay["mail"]["timestamp"])
        expires = parse_ts(dd["expirationTime"])
        self.assertAlmostEqual((expires - accepted).total_seconds(), 3, delta=1.0,
                               msg="expirationTime %s for a message accepted %s"
                               % (dd["expirationTime"], delay["mail"]["timestamp"]))

        b = self.event(mid, "Bounce", "user@soft.test", timeout=15)
        self.check_bounce(b, "user@soft.test", "Transient", "4.3.2", self.soft.soft_reply,
                          remote="127.0.0.1")
        took = time.monotonic() - t0
        self.assertGreaterEqual(parse_ts(b["bounce"]["timestamp"]), expires
                                - datetime.timedelta(seconds=1.1))
        outcomes = self.outcomes(mid)
        self.assertEqual(outcomes[0], ("Bounce", "user@soft.test"))
        self.assertGreaterEqual(len(outcomes), 2)
        self.assertEqual(set(outcomes[1:]), {("DeliveryDelay", "user@soft.test")})
        sys.stderr.write("[expired after %.1fs, %d delays] " % (took, len(outcomes) - 1))


    def test_configuration_set_tls_policy(self):
        # A set with TlsPolicy REQUIRE never sends in clear text to a server without
        # STARTTLS: the recipient is delayed, then bounced when time runs out. A set with
        # OPTIONAL (the default) delivers to the same server.
        c = self.client
        c.create_configuration_set(ConfigurationSetName="tls-required",
                                   DeliveryOptions={"TlsPolicy": "REQUIRE"})
        c.create_configuration_set(ConfigurationSetName="tls-optional")
        self.assertEqual(c.get_configuration_set(ConfigurationSetName="tls-required")
                         ["DeliveryOptions"]["TlsPolicy"], "REQUIRE")
        req = c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["a@plain.test"]},
                           Content=simple("tls required"),
                           ConfigurationSetName="tls-required")["MessageId"]
        opt = c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["b@plain.test"]},
                           Content=simple("tls optional"),
                           ConfigurationSetName="tls-optional")["MessageId"]
        d = self.event(opt, "Delivery", "b@plain.test")
        self.assertIn("ses:configuration-set", d["mail"]["tags"])
        delay = self.event(req, "DeliveryDelay", "a@plain.test", timeout=10)
        r = delay["deliveryDelay"]["delayedRecipients"][0]
        self.assertEqual(r["status"], "4.7.10")
        self.assertIn("TLS is required", r["diagnosticCode"])
        b = self.event(req, "Bounce", "a@plain.test", timeout=15)
        self.assertEqual(b["bounce"]["bounceType"], "Transient")
        self.assertEqual(b["bounce"]["bouncedRecipients"][0]["status"], "4.7.10")
        subjects = [m["Subject"] for _f, m in self.plain.messages()]
        self.assertIn("tls optional", subjects)
        self.assertNotIn("tls required", subjects)


# --------------------------------------------------------------------------------------
# herald queue list / hold / release / retry / bounce against a running daemon.


class QueueControl(DeliveryChecks):
    """q.test -> smtp-sink on a fixed port; retries only every 30 seconds, so each step
    below happens because of the operator's command, not the schedule."""

    @classmethod
    def setUpClass(cls):
        cls.sink = cls.herald = None
        cls.port = harness.free_port()
        try:
            cls.sink = harness.SmtpSink(port=cls.port, soft=["RCPT"])
            cls.herald = herald_or_cleanup(
                '\n[delivery]\nroutes = ["q.test 127.0.0.1:%d"]\nretry_schedule = "30s"\n'
                'max_delivery_seconds = 600\nconnect_timeout_seconds = 2\n'
                'command_timeout_seconds = 5\ndata_timeout_seconds = 5\n' % cls.port)
            cls.creds = cls.herald.create_account("ops")
            cls.herald.verify("ops", SENDER)
            cls.herald.production("ops")
            cls.client = cls.herald.boto(cls.creds)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            close_herald(cls.herald)
        finally:
            if cls.sink:
                cls.sink.cleanup()

    def test_list_hold_retry_release_bounce(self):
        key = "route:127.0.0.1:%d" % self.port
        m1 = self.send(["one@q.test"], "queued one")
        m2 = self.send(["two@q.test"], "queued two")
        self.event(m1, "DeliveryDelay", "one@q.test", timeout=10)
        self.event(m2, "DeliveryDelay", "two@q.test", timeout=10)

        d = self.herald.queue_destination(key)
        self.assertIsNotNone(d, self.herald.queue("list"))
        self.assertEqual(d["deferred"], 2, d)
        self.assertEqual(d["ready"], 0, d)
        self.assertIs(d["held"], False)
        self.assertIn(self.sink.soft_reply, d["last_reply"])
        self.assertGreaterEqual(d["deferrals"], 2)
        self.assertRegex(d.get("oldest", ""), harness.ISO_TS)
        self.assertEqual(self.herald.queue("list")["counters"]["queued_recipients"], 2)

        # bounce: the operator drops m2; SES-shaped Bounce event, m1 untouched.
        r = self.herald.queue("bounce", m2)
        self.assertEqual(r, {"bounced_recipients": 1})
        b = self.event(m2, "Bounce", "two@q.test", timeout=5)
        self.check_bounce(b, "two@q.test", "Transient", "5.3.0", "deleted by the operator")
        self.assertEqual(self.herald.queue("bounce", m2), {"bounced_recipients": 0})
        self.assertEqual(self.herald.queue_destination(key)["deferred"], 1)

        # The sink recovers; hold the destination, then ask for a retry: nothing leaves.
        self.sink.cleanup()
        self.sink = type(self).sink = harness.SmtpSink(port=self.port, dump=True)
        self.assertEqual(self.herald.queue("hold", key), {"held": key})
        self.assertEqual(self.herald.queue("retry", key), {"retried": 1})
        d = harness.wait_until(lambda: (lambda x: x if x["ready"] == 1 else None)(
            self.herald.queue_destination(key)), 5, "the retried recipient to be ready")
        self.assertIs(d["held"], True)
        self.assertEqual(d["deferred"], 0)
        self.assertEqual(d["connections"], 0)
        time.sleep(1.0)  # a bounded look for a delivery that must not happen
        self.assertEqual(self.sink.messages(), [])
        self.assertNotIn("Delivery", [e["eventType"] for e in self.herald.events_for(m1)])

        # release: delivered now, long before the 30-second retry time.
        self.assertEqual(self.herald.queue("release", key), {"released": key})
        d = self.event(m1, "Delivery", "one@q.test", timeout=10)
        self.assertTrue(d["delivery"]["smtpResponse"].startswith("250"), d)
        msgs = harness.wait_until(self.sink.messages, 5, "the sink's dump")
        self.assertEqual(len(msgs), 1)
        fields, msg = msgs[0]
        self.assertEqual(fields["X-Rcpt-Args"], ["<one@q.test>"])
        self.assertEqual(msg.get("Subject"), "queued one")
        self.assertRegex(fields["X-Mail-Args"], r"^<b-[a-z2-7]+@%s>" % re.escape(HOSTNAME))
        self.assertEqual(self.outcomes(m1), [("Delivery", "one@q.test"),
                                             ("DeliveryDelay", "one@q.test")])
        self.assertEqual(self.outcomes(m2), [("Bounce", "two@q.test"),
                                             ("DeliveryDelay", "two@q.test")])
        c = self.herald.queue("list")["counters"]
        self.assertEqual(c["queued_recipients"], 0, c)

        # retry without hold: a new refusal, the sink recovers, `retry` gets it out now.
        self.sink.cleanup()
        self.sink = type(self).sink = harness.SmtpSink(port=self.port, soft=["RCPT"])
        m3 = self.send(["three@q.test"], "queued three")
        self.event(m3, "DeliveryDelay", "three@q.test", timeout=10)
        self.sink.cleanup()
        self.sink = type(self).sink = harness.SmtpSink(port=self.port, dump=True)
        self.assertEqual(self.herald.queue("retry", key), {"retried": 1})
        self.event(m3, "Delivery", "three@q.test", timeout=10)
        msgs = harness.wait_until(self.sink.messages, 5, "the sink's dump")
        self.assertEqual([f["X-Rcpt-Args"] for f, _ in msgs], [["<three@q.test>"]])


# --------------------------------------------------------------------------------------
# Crash safety: SIGKILL while messages are deferred, restart against a healthy peer.


class CrashWhileDeferred(DeliveryChecks):
    def test_sigkill_while_deferred_then_all_delivered(self):
        port = harness.free_port()
        sink = harness.SmtpSink(port=port, soft=["RCPT"])
        h = None
        try:
            h = self.herald = herald_or_cleanup(
                '\n[delivery]\nroutes = ["crash.test 127.0.0.1:%d"]\nretry_schedule = "1s"\n'
                'max_delivery_seconds = 120\nconnect_timeout_seconds = 2\n'
                'command_timeout_seconds = 5\ndata_timeout_seconds = 5\n' % port)
            creds = h.create_account("crash")
            h.verify("crash", SENDER)
            h.production("crash")
            self.client = h.boto(creds)
            want = {}
            for i in range(6):
                rcpts = ["a%d@crash.test" % i, "b%d@crash.test" % i]
                want[self.send(rcpts, "crash %d" % i)] = rcpts
            for mid, rcpts in want.items():
                for r in rcpts:
                    self.event(mid, "DeliveryDelay", r, timeout=15)
            h.kill()
            self.assertEqual(sorted(m["id"] for m in h.spool_list()), sorted(want),
                             "every message still in the spool after the crash")

            sink.cleanup()
            sink = harness.SmtpSink(port=port, dump=True)
            h.start()
            for mid, rcpts in want.items():
                for r in rcpts:
                    d = self.event(mid, "Delivery", r, timeout=20)
                    self.assertTrue(d["delivery"]["smtpResponse"].startswith("250"), d)
            got = {}
            for fields, msg in harness.wait_until(
                    lambda: (lambda m: m if len(m) >= 12 else None)(sink.messages()), 10,
                    "12 transactions in the sink's dump"):
                for r in fields["X-Rcpt-Args"]:
                    got.setdefault(r.strip("<>"), []).append(msg.get("Subject"))
            for mid, rcpts in want.items():
                for r in rcpts:
                    self.assertIn(r, got, "never reached the sink")
            stop_herald(self, h)
            self.assertEqual(h.spool_list(), [], "recipients left in the spool")
        finally:
            if h:
                h.cleanup()
            sink.cleanup()


if __name__ == "__main__":
    harness.main()
