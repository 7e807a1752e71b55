#!/usr/bin/python3
"""Identity verification through real DNS: a domain is verified when dnsmasq (started by this
test, on a loopback port) serves the TXT record herald asked for; not before; and a sender at
that domain can then send. Also: an e-mail identity's verification mail is delivered (to an
smtp-sink through a static route) and opening its link verifies the address."""

import os
import re
import unittest
import urllib.request

import harness
from harness import DNSMASQ, SIM_ADDRS, Dnsmasq, signed_get


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
            dns = Dnsmasq(dns_port, txt=[(record["Name"], "not-the-token")])

            def status_is(want):
                g = c.get_email_identity(EmailIdentity="verify-me.example")
                return g if g["VerificationStatus"] == want else None

            # Once dnsmasq answers, the record is there but wrong: PENDING, not verified.
            got = harness.wait_until(lambda: status_is("PENDING"), 15, "DNS to answer")
            self.assertIs(got["VerifiedForSendingStatus"], False)
            dns.stop()

            dns = Dnsmasq(dns_port, txt=[(record["Name"], record["Value"])])

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
        sink = harness.SmtpSink(dump=True)
        h = harness.Herald(extra_config=(
            '\n[delivery]\nroutes = ["elsewhere.example 127.0.0.1:%d"]\n'
            'connect_timeout_seconds = 2\ncommand_timeout_seconds = 5\n' % sink.port))
        try:
            h.start()
            acct = h.create_account("mailuser")
            c = h.boto(acct)
            created = c.create_email_identity(EmailIdentity="someone@elsewhere.example")
            self.assertEqual(created["IdentityType"], "EMAIL_ADDRESS")
            got = c.get_email_identity(EmailIdentity="someone@elsewhere.example")
            self.assertEqual(got["VerificationStatus"], "PENDING")
            self.assertIs(got["VerifiedForSendingStatus"], False)

            # The mail really leaves herald: the sink holds it.
            msgs = harness.wait_until(sink.messages, 20, "the verification mail at the sink")
            self.assertEqual(len(msgs), 1, [f for f, _ in msgs])
            fields, msg = msgs[0]
            self.assertEqual(fields["X-Rcpt-Args"], ["<someone@elsewhere.example>"])
            self.assertRegex(fields["X-Mail-Args"], r"^<b-[a-z2-7]+@herald\.test>")
            self.assertEqual(msg.get("To"), "someone@elsewhere.example")
            part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
            links = re.findall(r"https?://\S+/_herald/verify-email\?token=[A-Za-z0-9_-]+", text)
            self.assertEqual(len(links), 1, text)
            link = links[0]
            self.assertTrue(link.startswith("http://%s/" % h.http),
                            "link %s does not lead to herald at %s" % (link, h.http))

            # Opening the link verifies the address.
            with urllib.request.urlopen(link, timeout=15) as resp:
                self.assertEqual(resp.status, 200)
            got = c.get_email_identity(EmailIdentity="someone@elsewhere.example")
            self.assertEqual(got["VerificationStatus"], "SUCCESS")
            self.assertIs(got["VerifiedForSendingStatus"], True)

            # herald's own mail: delivered and marked, no events, nothing left queued.
            self.assertEqual([e for e in h.events() if e.get("eventType") != "Send"], [])
            self.assertEqual(h.stop(), 0, h.log_tail())
            self.assertEqual(h.spool_list(), [], "the verification mail is still queued")
        finally:
            h.cleanup()
            sink.cleanup()


if __name__ == "__main__":
    harness.main()
