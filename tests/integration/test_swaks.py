"""swaks against herald's SMTP submission: STARTTLS + AUTH LOGIN/PLAIN to every
simulator address (events checked field by field); AUTH before TLS refused (530), and
allowed on loopback only when [smtp] allow_insecure_auth_on_loopback = true.
"""

import re
import shutil
import subprocess
import unittest

import harness
from harness import SENDER, SENDER_DOMAIN, SIM_ADDRS, SIM_LABELED

SWAKS = shutil.which("swaks")


def swaks(herald, creds, *extra, to=None, auth="LOGIN", tls=True, password=None,
          header=(), auth_flag="--auth"):
    host, port = herald.smtp_addr
    argv = [SWAKS, "--server", "%s:%d" % (host, port), "--from", SENDER,
            "--to", ",".join(to or [SIM_ADDRS[0]]), "--helo", "swaks.client.test",
            auth_flag, auth, "--auth-user", creds["smtp_username"],
            "--auth-password", password or creds["smtp_password"], "--timeout", "20"]
    if tls:
        argv.append("-tls")
    for h in header:
        argv += ["--header", h]
    argv += list(extra)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def server_lines(out):
    """swaks prints the server's lines prefixed with '<-' (or '<~' inside TLS)."""
    return [l[4:] for l in out.splitlines() if l.startswith(("<-  ", "<~  ", "<** ", "<~* "))]


def final_reply(out):
    lines = [l for l in server_lines(out) if re.match(r"^\d{3} ", l)]
    for i, l in enumerate(lines):
        if l.startswith("250 Ok "):
            return l
    return lines[-1] if lines else ""


class Swaks(harness.HeraldCase):
    @classmethod
    def setUpClass(cls):
        if SWAKS is None:
            raise unittest.SkipTest("swaks is not installed")
        super().setUpClass()

    def send(self, auth, dest):
        subject = "swaks %s" % auth
        r = swaks(self.herald, self.creds, "--header", "Subject: " + subject, to=dest,
                  auth=auth, header=["X-Swaks-Test: %s" % auth])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("STARTTLS", r.stdout)
        self.assertTrue(any(l.startswith("235 Authentication successful")
                            for l in server_lines(r.stdout)), r.stdout)
        mid = harness.smtp_message_id(final_reply(r.stdout))
        self.check_message_events(
            self.herald, mid, source=SENDER, destination=dest, from_domain=SENDER_DOMAIN,
            operations={"SendSmtpEmail"}, subject=subject, header_names=("X-Swaks-Test",))

    def test_login(self):
        self.send("LOGIN", SIM_ADDRS)

    def test_plain(self):
        self.send("PLAIN", SIM_LABELED)

    def test_bad_password(self):
        r = swaks(self.herald, self.creds, password="wrong-password")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("535 Authentication Credentials Invalid", server_lines(r.stdout))

    def test_auth_before_tls_refused(self):
        # --auth-optional: swaks sends AUTH if it is offered (herald must then refuse it
        # with 530) and otherwise goes on to MAIL, which must be refused with 530 too.
        r = swaks(self.herald, self.creds, tls=False, auth_flag="--auth-optional")
        self.assertNotEqual(r.returncode, 0)
        replies = server_lines(r.stdout)
        self.assertTrue(any(l.startswith("530 ") for l in replies), r.stdout)
        self.assertFalse(any(l.startswith("235") for l in replies), r.stdout)

    def test_ehlo_advertises_starttls_not_auth_before_tls(self):
        with self.smtp() as s:
            self.assertTrue(s.greeting[1][-1].startswith("220 "), s.greeting)
            caps = [c.upper() for c in s.ehlo()]
            self.assertIn("STARTTLS", caps)
            self.assertFalse([c for c in caps if c.startswith("AUTH")],
                             "AUTH must not be offered before TLS: %r" % caps)
            s.starttls()
            caps = [c.upper() for c in s.ehlo()]
            auth = [c for c in caps if c.startswith("AUTH")]
            self.assertTrue(auth, caps)
            self.assertIn("PLAIN", auth[0].split())
            self.assertIn("LOGIN", auth[0].split())
            self.assertNotIn("STARTTLS", caps)


class SwaksInsecureLoopback(harness.HeraldCase):
    INSECURE_AUTH = True

    @classmethod
    def setUpClass(cls):
        if SWAKS is None:
            raise unittest.SkipTest("swaks is not installed")
        super().setUpClass()

    def test_auth_without_tls_on_loopback(self):
        dest = [SIM_ADDRS[0]]
        r = swaks(self.herald, self.creds, "--header", "Subject: plain loopback", to=dest,
                  auth="PLAIN", tls=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        mid = harness.smtp_message_id(final_reply(r.stdout))
        self.check_message_events(self.herald, mid, source=SENDER, destination=dest,
                                  from_domain=SENDER_DOMAIN, operations={"SendSmtpEmail"},
                                  subject="plain loopback")


if __name__ == "__main__":
    harness.main()
