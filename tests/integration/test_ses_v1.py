#!/usr/bin/python3
"""The SES v1 Query API (2010-12-01) against herald with boto3's `ses` client and the AWS CLI.

send_email, send_raw_email and `aws ses send-email` deliver to an smtp-sink (a static
route for sink.example); get_send_quota and get_send_statistics; the identity actions
(verify_email_identity mails its link to the sink too, verify_domain_identity,
list_identities, get_identity_verification_attributes, delete_identity); and the v1 error
codes MessageRejected and ConfigurationSetDoesNotExist as botocore parses them.
"""

import json
import os
import time

import harness
from harness import REGION, SENDER, SENDER_DOMAIN, SIM_ADDRS

SINK_DOMAIN = "sink.example"


class SesV1(harness.SinkCase):
    PRODUCTION = True  # recipients need not be verified

    @classmethod
    def sink_config(cls, port):
        # To the sink only: a static route, no DNS.
        return ('\n[delivery]\nroutes = ["%s 127.0.0.1:%d"]\n'
                "connect_timeout_seconds = 2\ncommand_timeout_seconds = 5\n"
                % (SINK_DOMAIN, port))

    def ses(self):
        return self.herald.boto(self.creds, service="ses")

    def at_sink(self, subject, recipients):
        """The transactions with this Subject once the sink holds one for each recipient
        (herald delivers each recipient in its own transaction, with its own VERP return
        path): {recipient: message}."""
        want = {"<%s>" % r for r in recipients}

        def find():
            got = {}
            for fields, msg in self.sink.messages():
                if msg.get("Subject") == subject:
                    for rcpt in fields["X-Rcpt-Args"]:
                        self.assertNotIn(rcpt, got, "delivered twice")
                        got[rcpt] = msg
            return got if set(got) == want else None

        got = harness.wait_until(find, 30, "%r at the sink for %s" % (subject, recipients))
        return {r[1:-1]: m for r, m in got.items()}

    def operation_of(self, message_id):
        sends = harness.wait_until(
            lambda: [e for e in self.herald.events_for(message_id)
                     if e.get("eventType") == "Send"], 15, "the Send event of " + message_id)
        return sends[0]["mail"]["tags"]["ses:operation"]

    def error_of(self, fn, **kwargs):
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return harness.client_error(cm.exception)

    # -- sending -----------------------------------------------------------------------

    def test_send_email_reaches_the_sink(self):
        c = self.ses()
        subject = "v1 send_email %d" % time.time_ns()
        r = c.send_email(Source="Sender <%s>" % SENDER,
                         Destination={"ToAddresses": ["alice@" + SINK_DOMAIN],
                                      "BccAddresses": ["bob@" + SINK_DOMAIN]},
                         Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                                  "Body": {"Text": {"Data": "text part"},
                                           "Html": {"Data": "<p>html part</p>"}}},
                         ReplyToAddresses=["replies@" + SENDER_DOMAIN],
                         Tags=[{"Name": "campaign", "Value": "v1"}])
        mid = r["MessageId"]
        self.assertTrue(mid)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(r["ResponseMetadata"]["RequestId"])
        got = self.at_sink(subject, ["alice@" + SINK_DOMAIN, "bob@" + SINK_DOMAIN])
        msg = got["bob@" + SINK_DOMAIN]
        self.assertEqual(msg.get("From"), "Sender <%s>" % SENDER)
        self.assertEqual(msg.get("To"), "alice@" + SINK_DOMAIN)
        self.assertEqual(msg.get("Reply-To"), "replies@" + SENDER_DOMAIN)
        self.assertIsNone(msg.get("Bcc"))
        texts = [p.get_payload(decode=True).decode() for p in msg.walk()
                 if p.get_content_maintype() == "text"]
        self.assertTrue(any("text part" in t for t in texts), texts)
        self.assertTrue(any("html part" in t for t in texts), texts)
        self.assertEqual(self.operation_of(mid), ["SendEmail"])
        send = [e for e in self.herald.events_for(mid) if e["eventType"] == "Send"][0]
        self.assertEqual(send["mail"]["tags"].get("campaign"), ["v1"])

    def test_send_raw_email_reaches_the_sink(self):
        c = self.ses()
        subject = "v1 send_raw_email %d" % time.time_ns()
        raw = harness.rfc5322(SENDER, ["carol@" + SINK_DOMAIN], subject,
                              body="raw body line\r\n")
        r = c.send_raw_email(RawMessage={"Data": raw.encode()},
                             Destinations=["dave@" + SINK_DOMAIN])
        mid = r["MessageId"]
        # Destinations are the envelope: the To header is not.
        msg = self.at_sink(subject, ["dave@" + SINK_DOMAIN])["dave@" + SINK_DOMAIN]
        self.assertEqual(msg.get("To"), "carol@" + SINK_DOMAIN)
        self.assertIn("raw body line", msg.get_payload())
        self.assertEqual(self.operation_of(mid), ["SendRawEmail"])

    def test_aws_cli_send_email(self):
        if not os.access("/usr/bin/aws", os.X_OK):
            self.skipTest("/usr/bin/aws (Debian awscli) is not installed")
        subject = "v1 aws cli %d" % time.time_ns()
        r = self.herald.aws(self.creds, "ses", "send-email", "--from", SENDER,
                            "--to", "erin@" + SINK_DOMAIN, "--subject", subject,
                            "--text", "from the CLI")
        self.assertEqual(r.returncode, 0, r.stderr)
        mid = json.loads(r.stdout)["MessageId"]
        msg = self.at_sink(subject, ["erin@" + SINK_DOMAIN])["erin@" + SINK_DOMAIN]
        self.assertIn("from the CLI", msg.get_payload(decode=True).decode())
        self.assertEqual(self.operation_of(mid), ["SendEmail"])

        r = self.herald.aws(self.creds, "ses", "get-send-quota")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["MaxSendRate"], 2000.0)

        # A v1 error reaches the CLI with its code.
        r = self.herald.aws(self.creds, "ses", "send-email", "--from", "x@unverified.example",
                            "--destination", json.dumps({"ToAddresses": [SIM_ADDRS[0]]}),
                            "--message", json.dumps({"Subject": {"Data": "s"},
                                                     "Body": {"Text": {"Data": "b"}}}))
        self.assertIn(r.returncode, (254, 255), r.stderr)
        self.assertIn("(MessageRejected)", r.stderr)

    def test_errors(self):
        c = self.ses()
        message = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}
        status, code, text = self.error_of(
            c.send_email, Source="nobody@unverified.example",
            Destination={"ToAddresses": [SIM_ADDRS[0]]}, Message=message)
        self.assertEqual((status, code), (400, "MessageRejected"))
        self.assertIn("Email address is not verified", text)

        status, code, text = self.error_of(
            c.send_email, Source=SENDER, Destination={"ToAddresses": [SIM_ADDRS[0]]},
            Message=message, ConfigurationSetName="no-such-set")
        self.assertEqual((status, code), (400, "ConfigurationSetDoesNotExist"))
        self.assertIn("no-such-set", text)

        # Header injection through the subject: refused, nothing sent.
        def sends():
            return len([e for e in self.herald.events() if e.get("eventType") == "Send"])
        before = sends()
        status, code, _ = self.error_of(
            c.send_email, Source=SENDER, Destination={"ToAddresses": [SIM_ADDRS[0]]},
            Message={"Subject": {"Data": "hi\r\nBcc: victim@" + SINK_DOMAIN},
                     "Body": {"Text": {"Data": "b"}}})
        self.assertEqual((status, code), (400, "InvalidParameterValue"))
        status, code, _ = self.error_of(
            c.send_raw_email, RawMessage={"Data": b"From: " + SENDER.encode() + b"\r\n\r\nx"},
            Destinations=["not an address"])
        self.assertEqual((status, code), (400, "InvalidParameterValue"))
        self.assertEqual(sends(), before)

    # -- quota and statistics -------------------------------------------------------------

    def test_send_quota_and_statistics(self):
        c = self.ses()
        q = c.get_send_quota()
        self.assertEqual(q["Max24HourSend"], 500000.0)
        self.assertEqual(q["MaxSendRate"], 2000.0)
        self.assertIsInstance(q["SentLast24Hours"], float)
        # The same figure as the v2 GetAccount.
        acct = self.herald.boto(self.creds).get_account()
        self.assertEqual(q["SentLast24Hours"], acct["SendQuota"]["SentLast24Hours"])

        stats = c.get_send_statistics()
        self.assertIsInstance(stats["SendDataPoints"], list)
        for p in stats["SendDataPoints"]:
            for key in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects"):
                self.assertIsInstance(p[key], int, p)
            self.assertIsNotNone(p["Timestamp"].tzinfo)

    # -- identities ----------------------------------------------------------------------

    def test_identities(self):
        c = self.ses()
        address = "newbie@" + SINK_DOMAIN
        c.verify_email_identity(EmailAddress=address)
        # The verification mail goes out like any mail: it reaches the sink.
        def link_mail():
            for fields, msg in self.sink.messages():
                if fields["X-Rcpt-Args"] == ["<%s>" % address]:
                    return msg
            return None
        harness.wait_until(link_mail, 30, "the verification mail at the sink")

        token = c.verify_domain_identity(Domain="V1-Domain.Example")["VerificationToken"]
        self.assertTrue(token)
        # Asking again gives the same token.
        self.assertEqual(c.verify_domain_identity(Domain="v1-domain.example")["VerificationToken"],
                         token)

        listed = c.list_identities()["Identities"]
        self.assertIn(address, listed)
        self.assertIn("v1-domain.example", listed)
        self.assertIn(SENDER, listed)
        domains = c.list_identities(IdentityType="Domain")["Identities"]
        self.assertIn("v1-domain.example", domains)
        self.assertNotIn(address, domains)
        # Paging: one at a time until NextToken runs out, every identity once.
        seen, kwargs = [], {"MaxItems": 1}
        for _ in range(50):
            page = c.list_identities(**kwargs)
            seen += page["Identities"]
            if "NextToken" not in page:
                break
            kwargs = {"MaxItems": 1, "NextToken": page["NextToken"]}
        self.assertEqual(sorted(seen), sorted(listed))

        attrs = c.get_identity_verification_attributes(
            Identities=[address, "v1-domain.example", SENDER, "unknown.example"]
        )["VerificationAttributes"]
        self.assertEqual(set(attrs), {address, "v1-domain.example", SENDER})
        self.assertEqual(attrs[address], {"VerificationStatus": "Pending"})
        self.assertEqual(attrs["v1-domain.example"]["VerificationToken"], token)
        self.assertIn(attrs["v1-domain.example"]["VerificationStatus"],
                      ("Pending", "TemporaryFailure"))
        self.assertEqual(attrs[SENDER]["VerificationStatus"], "Success")

        c.delete_identity(Identity=address)
        c.delete_identity(Identity="v1-domain.example")
        c.delete_identity(Identity="never-existed.example")  # a success, as at SES
        listed = c.list_identities()["Identities"]
        self.assertNotIn(address, listed)
        self.assertNotIn("v1-domain.example", listed)
        self.assertEqual(c.get_identity_verification_attributes(
            Identities=[address])["VerificationAttributes"], {})

    def test_unknown_action_and_bad_signature(self):
        import urllib.error
        import urllib.request

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        def post(body, secret):
            url = self.herald.endpoint + "/"
            req = AWSRequest(method="POST", url=url, data=body, headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            SigV4Auth(Credentials(self.creds["access_key_id"], secret), "ses",
                      REGION).add_auth(req)
            p = req.prepare()
            r = urllib.request.Request(url, data=body.encode(), headers=dict(p.headers),
                                       method="POST")
            try:
                with urllib.request.urlopen(r, timeout=15) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        status, body = post("Action=CreateReceiptRuleSet&Version=2010-12-01&RuleSetName=x",
                            self.creds["secret_access_key"])
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidAction</Code>", body)
        status, body = post("Action=GetSendQuota&Version=2010-12-01", "wrong-secret")
        self.assertEqual(status, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", body)


if __name__ == "__main__":
    harness.main()
