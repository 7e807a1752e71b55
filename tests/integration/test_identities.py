#!/usr/bin/python3
"""Identity verification through real DNS: a domain is verified when dnsmasq (started by this
test, on a loopback port) serves the TXT record herald asked for; not before; and a sender at
that domain can then send. Also: an e-mail identity gets its verification mail spooled."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import unittest
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness
from harness import SIM_ADDRS

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    """A dnsmasq answering only the TXT records it is given, on 127.0.0.1:PORT."""

    def __init__(self, port, txt_records):
        args = [DNSMASQ, "-k", "--conf-file=/dev/null", "--port=%d" % port,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--user=%s" % pwd.getpwuid(os.geteuid()).pw_name]
        for name, value in txt_records:
            args.append('--txt-record=%s,%s' % (name, value))  # argv: no shell quoting
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def signed_get(herald, creds, path):
    """A GET signed by botocore's SigV4 signer, returning the whole JSON body (boto3's
    client would drop herald's extension members)."""
    url = "http://%s%s" % (herald.http, path)
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(creds["access_key_id"], creds["secret_access_key"]), "ses",
              harness.REGION).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(url, headers=dict(prepared.headers), method="GET")
    with urllib.request.urlopen(r, timeout=15) as resp:
        return json.loads(resp.read())


@unittest.skipUnless(os.access(DNSMASQ, os.X_OK), "dnsmasq (dnsmasq-base) is not installed")
class DomainVerification(unittest.TestCase):
    def test_domain_is_verified_by_its_txt_record(self):
        dns_port = harness.free_port()
        h = harness.Herald(extra_config='\n[dns]\nserver = "127.0.0.1:%d"\n' % dns_port)
        dns = None
        try:
            h.start()
            acct = h.create_account("dnsuser")
            c = h.boto(acct)
            created = c.create_email_identity(EmailIdentity="Verify-Me.Example")
            self.assertEqual(created["IdentityType"], "DOMAIN")
            self.assertIs(created["VerifiedForSendingStatus"], False)
            # boto3 drops unknown members: read herald's record through a signed raw GET.
            raw = signed_get(h, acct, "/v2/email/identities/verify-me.example")
            record = raw["HeraldVerificationRecord"]
            self.assertEqual(record["Name"], "_amazonses.verify-me.example")
            self.assertEqual(record["Type"], "TXT")

            # No DNS server answering yet: still pending, sending refused.
            got = c.get_email_identity(EmailIdentity="verify-me.example")
            self.assertNotEqual(got["VerificationStatus"], "SUCCESS")
            self.assertIs(got["VerifiedForSendingStatus"], False)

            # A wrong value does not verify it.
            self.assertEqual(got["VerificationStatus"], "TEMPORARY_FAILURE")  # DNS unreachable
            dns = Dnsmasq(dns_port, [(record["Name"], "not-the-token")])

            def status_is(want):
                g = c.get_email_identity(EmailIdentity="verify-me.example")
                return g if g["VerificationStatus"] == want else None

            # Once dnsmasq answers, the record is there but wrong: PENDING, not verified.
            got = harness.wait_until(lambda: status_is("PENDING"), 15, "DNS to answer")
            self.assertIs(got["VerifiedForSendingStatus"], False)
            dns.stop()

            dns = Dnsmasq(dns_port, [(record["Name"], record["Value"])])

            got = harness.wait_until(lambda: status_is("SUCCESS"), 15, "the domain to verify")
            self.assertIs(got["VerifiedForSendingStatus"], True)
            mid = c.send_email(FromEmailAddress="news@verify-me.example",
                               Destination={"ToAddresses": [SIM_ADDRS[0]]},
                               Content={"Simple": {"Subject": {"Data": "s"},
                                                   "Body": {"Text": {"Data": "b"}}}})["MessageId"]
            self.assertTrue(mid)
            self.assertEqual(h.stop(), 0, h.log_tail())
        finally:
            if dns:
                dns.stop()
            h.cleanup()

    def test_email_identity_gets_a_verification_mail(self):
        h = harness.Herald()
        try:
            h.start()
            acct = h.create_account("mailuser")
            c = h.boto(acct)
            created = c.create_email_identity(EmailIdentity="someone@elsewhere.example")
            self.assertEqual(created["IdentityType"], "EMAIL_ADDRESS")
            got = c.get_email_identity(EmailIdentity="someone@elsewhere.example")
            self.assertEqual(got["VerificationStatus"], "PENDING")
            self.assertEqual(h.stop(), 0, h.log_tail())
            queued = [m for m in h.spool_list() if m["recipients"] == ["someone@elsewhere.example"]]
            self.assertEqual(len(queued), 1, "one verification message in the spool")
        finally:
            h.cleanup()


if __name__ == "__main__":
    harness.main()
