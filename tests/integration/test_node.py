"""node clients against herald: @aws-sdk/client-sesv2 (SendEmail, GetAccount) over the
API, and nodemailer over SMTP with STARTTLS + AUTH PLAIN and LOGIN.

The npm packages come from tests/integration/package.json (`npm ci` or `npm install` in
tests/integration); the test fails with that instruction when they are missing.
"""

import json
import os
import shutil
import subprocess
import unittest

import harness
from harness import SENDER, SENDER_DOMAIN, SIM_ADDRS, SIM_LABELED

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node")


def run_node(script, params):
    r = subprocess.run([NODE, os.path.join(HERE, script), json.dumps(params)], cwd=HERE,
                       capture_output=True, text=True, timeout=120)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise AssertionError("%s printed no JSON (exit %d): %s %s"
                             % (script, r.returncode, r.stdout, r.stderr))
    return r.returncode, json.loads(lines[-1])


class Node(harness.HeraldCase):
    @classmethod
    def setUpClass(cls):
        if NODE is None:
            raise unittest.SkipTest("node is not installed")
        for pkg in ("@aws-sdk/client-sesv2", "nodemailer"):
            if not os.path.isdir(os.path.join(HERE, "node_modules", pkg)):
                raise AssertionError("npm package %s missing: run `npm ci` in %s" % (pkg, HERE))
        super().setUpClass()

    def test_sdk_send_email(self):
        dest = SIM_ADDRS + [SIM_LABELED[3]]
        rc, out = run_node("sdk_send.mjs", {
            "endpoint": self.herald.endpoint, "region": "us-east-1",
            "accessKeyId": self.creds["access_key_id"],
            "secretAccessKey": self.creds["secret_access_key"],
            "from": SENDER, "to": dest, "subject": "from the JS SDK", "text": "hello js",
            "headers": [{"Name": "X-Js-Sdk", "Value": "v3"}]})
        self.assertEqual(rc, 0, out)
        self.assertIs(out["ProductionAccessEnabled"], False)
        self.assertEqual(out["SendQuota"]["MaxSendRate"], 1000)
        self.check_message_events(
            self.herald, out["MessageId"], source=SENDER, destination=dest,
            from_domain=SENDER_DOMAIN, operations={"SendEmail"}, subject="from the JS SDK",
            header_names=("X-Js-Sdk",), from_header=SENDER, to_header=dest)

    def test_sdk_wrong_secret(self):
        rc, out = run_node("sdk_send.mjs", {
            "endpoint": self.herald.endpoint, "region": "us-east-1",
            "accessKeyId": self.creds["access_key_id"], "secretAccessKey": "wrong/secret",
            "from": SENDER, "to": [SIM_ADDRS[0]], "subject": "s", "text": "t"})
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["name"], "InvalidSignatureException")
        self.assertEqual(out["error"]["status"], 403)

    def nodemailer(self, method, dest, subject):
        host, port = self.herald.smtp_addr
        rc, out = run_node("nodemailer_send.mjs", {
            "host": host, "port": port, "user": self.creds["smtp_username"],
            "pass": self.creds["smtp_password"], "authMethod": method,
            "from": "Sender <%s>" % SENDER, "to": dest, "subject": subject,
            "text": "hello from nodemailer", "attachment": "attached text\n"})
        self.assertEqual(rc, 0, out)
        mid = harness.smtp_message_id(out["response"])
        self.assertEqual(sorted(out["accepted"]), sorted(dest))
        self.assertEqual(out["rejected"], [])
        self.check_message_events(
            self.herald, mid, source=SENDER, destination=dest, from_domain=SENDER_DOMAIN,
            operations={"SendSmtpEmail"}, subject=subject, header_names=("X-Nodemailer-Test",),
            from_header="Sender <%s>" % SENDER, to_header=dest)

    def test_nodemailer_plain(self):
        self.nodemailer("PLAIN", SIM_ADDRS, "nodemailer plain")

    def test_nodemailer_login(self):
        self.nodemailer("LOGIN", SIM_LABELED, "nodemailer login")

    def test_nodemailer_bad_password(self):
        host, port = self.herald.smtp_addr
        rc, out = run_node("nodemailer_send.mjs", {
            "host": host, "port": port, "user": self.creds["smtp_username"],
            "pass": "not-the-password", "from": SENDER, "to": [SIM_ADDRS[0]],
            "subject": "s", "text": "t"})
        self.assertEqual(rc, 1)
        self.assertEqual(out["error"]["responseCode"], 535)
        self.assertEqual(out["error"]["response"], "535 Authentication Credentials Invalid")


if __name__ == "__main__":
    harness.main()
