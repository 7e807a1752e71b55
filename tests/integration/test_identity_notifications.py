#!/usr/bin/python3
"""Identity notifications against the real herald binary, configured through the SES v1
API with boto3's `ses` client and the AWS CLI, with a real HTTP receiver and an smtp-sink.

- SetIdentityNotificationTopic for Bounce, Complaint and Delivery on an address identity,
  headers for bounces only (SetIdentityHeadersInNotificationsEnabled),
  GetIdentityNotificationAttributes reads them back; an unverified identity or another
  account's topic is InvalidParameterValue.
- Mail to the mailbox simulator's bounce, complaint and success addresses: each outcome
  reaches the topic's SNS subscriber (handshake, then signed envelopes) in the
  `notificationType` shape (mail without tags, with sourceIp and callerIdentity, headers
  only for the Bounce), and the raw JSON reaches its webhook subscriber.
- Feedback forwarding (on by default): the bounce comes back to the sender as an RFC 3464
  report and the complaint as an RFC 5965 report, at the sender's domain (an smtp-sink);
  once `aws ses set-identity-feedback-forwarding-enabled --no-forwarding-enabled` turns it
  off, notifications go on and nothing more is forwarded.
"""

import json
import time
import urllib.request

from botocore.exceptions import ClientError

import harness
from harness import SENDER, SENDER_DOMAIN, SIM
from test_events import Receiver, verify_sns

BOUNCE = "bounce@" + SIM
COMPLAINT = "complaint@" + SIM
SUCCESS = "success@" + SIM


class IdentityNotifications(harness.SinkCase):
    @classmethod
    def sink_config(cls, port):
        # Forwarded feedback goes to the sender's domain: the sink, by a static route.
        return ("\n[events]\npoll_ms = 50\nmin_backoff_ms = 100\nmax_backoff_ms = 400\n"
                '\n[delivery]\nroutes = ["%s 127.0.0.1:%d"]\n'
                "connect_timeout_seconds = 2\ncommand_timeout_seconds = 5\n"
                % (SENDER_DOMAIN, port))

    def setUp(self):
        self.rx = Receiver().start()
        self.addCleanup(self.rx.stop)
        self.v1 = self.herald.boto(self.creds, service="ses")
        self.v2 = self.herald.boto(self.creds)

    def topic(self, name):
        return self.herald.cli("topic", "create", self.ACCOUNT, name).stdout.strip()

    def send(self, to, subject):
        return self.v2.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [to]},
            Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "x"}}}}
        )["MessageId"]

    def notifications(self, path):
        out = []
        for r in self.rx.posts(path):
            body = json.loads(r["body"])
            if body.get("Type") == "Notification":
                verify_sns(body)
                body = json.loads(body["Message"])
            if "notificationType" in body:
                out.append(body)
        return out

    def forwarded(self):
        """The sink's messages sent to SENDER (forwarded feedback)."""
        return [m for f, m in self.sink.messages() if "<%s>" % SENDER in f["X-Rcpt-Args"]]

    def test_notifications_and_forwarding(self):
        arn = self.topic("notes")
        # An SNS subscriber with the handshake, and a webhook subscriber.
        self.herald.cli("topic", "subscribe", self.ACCOUNT, "notes", self.rx.url("/sns"))
        confirm = harness.wait_until(lambda: self.rx.posts("/sns"), 15, "the confirmation")
        body = json.loads(confirm[0]["body"])
        self.assertEqual(body["Type"], "SubscriptionConfirmation")
        with urllib.request.urlopen(body["SubscribeURL"], timeout=10) as r:
            self.assertEqual(r.status, 200)
        self.herald.cli("topic", "subscribe", self.ACCOUNT, "notes", self.rx.url("/hook"),
                        "--webhook")

        for kind in ("Bounce", "Complaint", "Delivery"):
            self.v1.set_identity_notification_topic(Identity=SENDER, NotificationType=kind,
                                                    SnsTopic=arn)
        self.v1.set_identity_headers_in_notifications_enabled(
            Identity=SENDER, NotificationType="Bounce", Enabled=True)
        attrs = self.v1.get_identity_notification_attributes(
            Identities=[SENDER, "unknown@nowhere.example"])["NotificationAttributes"]
        self.assertEqual(attrs, {SENDER: {
            "BounceTopic": arn, "ComplaintTopic": arn, "DeliveryTopic": arn,
            "ForwardingEnabled": True, "HeadersInBounceNotificationsEnabled": True,
            "HeadersInComplaintNotificationsEnabled": False,
            "HeadersInDeliveryNotificationsEnabled": False}})

        ids = {kind: self.send(to, "notify " + kind)
               for kind, to in (("Bounce", BOUNCE), ("Complaint", COMPLAINT),
                                ("Delivery", SUCCESS))}
        # The complaint address accepts the mail first: a Delivery, then the Complaint.
        want = {("Bounce", ids["Bounce"]), ("Delivery", ids["Complaint"]),
                ("Complaint", ids["Complaint"]), ("Delivery", ids["Delivery"])}
        for path in ("/sns", "/hook"):
            got = harness.wait_until(
                lambda: (lambda n: n if len(n) >= 4 else None)(self.notifications(path)),
                30, "four notifications at " + path)
            self.assertEqual({(n["notificationType"], n["mail"]["messageId"]) for n in got}, want)
            self.assertEqual(len(got), 4, got)
            for n in got:
                kind, mail = n["notificationType"], n["mail"]
                self.assertEqual(mail["source"], SENDER)
                self.assertEqual(mail["sourceIp"], "127.0.0.1")
                self.assertEqual(mail["callerIdentity"], self.ACCOUNT)
                self.assertNotIn("tags", mail)
                self.assertNotIn("eventType", n)
                self.assertNotIn("eventId", n)
                self.assertNotIn("heraldTopicArn", n)
                self.assertEqual("headers" in mail, kind == "Bounce", mail)
                self.assertEqual("commonHeaders" in mail, kind == "Bounce", mail)
            by_type = {n["notificationType"]: n for n in got}
            self.assertEqual(by_type["Bounce"]["bounce"]["bouncedRecipients"][0]["emailAddress"],
                             BOUNCE)
            self.assertEqual(by_type["Bounce"]["mail"]["commonHeaders"]["subject"],
                             "notify Bounce")
            self.assertEqual(
                by_type["Complaint"]["complaint"]["complainedRecipients"][0]["emailAddress"],
                COMPLAINT)

        # Forwarded feedback at the sender's domain: a DSN and an ARF report.
        fwd = harness.wait_until(lambda: (lambda m: m if len(m) >= 2 else None)(
            self.forwarded()), 30, "two forwarded reports at the sink")
        self.assertEqual(len(fwd), 2, [m["Subject"] for m in fwd])
        kinds = {}
        for m in fwd:
            self.assertEqual(m.get_content_type(), "multipart/report")
            self.assertEqual(m["Auto-Submitted"], "auto-replied")
            kinds[m.get_param("report-type")] = m
        self.assertEqual(set(kinds), {"delivery-status", "feedback-report"})
        dsn = kinds["delivery-status"].as_string()
        self.assertIn("Final-Recipient: rfc822; " + BOUNCE, dsn)
        self.assertIn("Action: failed", dsn)
        self.assertIn(ids["Bounce"], dsn)  # the original's Message-ID in its headers
        arf = kinds["feedback-report"].as_string()
        self.assertIn("Feedback-Type:", arf)
        self.assertIn("Original-Rcpt-To: <%s>" % COMPLAINT, arf)

        # A v1 send that names a ReturnPath: its bounce is forwarded there instead.
        rp = "bounces@" + SENDER_DOMAIN
        self.v1.send_email(Source=SENDER, Destination={"ToAddresses": [BOUNCE]},
                           Message={"Subject": {"Data": "with return path"},
                                    "Body": {"Text": {"Data": "x"}}},
                           ReturnPath=rp)
        to_rp = harness.wait_until(
            lambda: [m for f, m in self.sink.messages() if "<%s>" % rp in f["X-Rcpt-Args"]],
            30, "the report forwarded to the ReturnPath")
        self.assertEqual(to_rp[0].get_param("report-type"), "delivery-status")
        self.assertEqual(len(self.forwarded()), 2)  # nothing more to the sender

        # Forwarding off through the AWS CLI: notifications go on, mail stops.
        p = self.herald.aws(self.creds, "ses", "set-identity-feedback-forwarding-enabled",
                            "--identity", SENDER, "--no-forwarding-enabled")
        self.assertEqual(p.returncode, 0, p.stderr)
        attrs = self.v1.get_identity_notification_attributes(
            Identities=[SENDER])["NotificationAttributes"]
        self.assertFalse(attrs[SENDER]["ForwardingEnabled"])
        second = self.send(BOUNCE, "notify again")
        harness.wait_until(
            lambda: [n for n in self.notifications("/hook") if n["mail"]["messageId"] == second],
            30, "the second bounce's notification")
        time.sleep(2)  # what would be forwarded is spooled before the notification is written
        self.assertEqual(len(self.forwarded()), 2)

    def test_refusals(self):
        other = self.topic("mine")
        cases = [
            dict(Identity="unverified.example", NotificationType="Bounce", SnsTopic=other),
            dict(Identity=SENDER, NotificationType="Bounce",
                 SnsTopic="arn:aws:sns:us-east-1:999999999999:mine"),
            dict(Identity=SENDER, NotificationType="Bounce", SnsTopic=other + "-gone"),
        ]
        for kw in cases:
            with self.assertRaises(ClientError) as e:
                self.v1.set_identity_notification_topic(**kw)
            self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterValue", kw)
        with self.assertRaises(ClientError) as e:
            self.v1.set_identity_feedback_forwarding_enabled(Identity="domain.example",
                                                             ForwardingEnabled=False)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterValue")
        attrs = self.v1.get_identity_notification_attributes(
            Identities=["domain.example"])["NotificationAttributes"]
        self.assertTrue(attrs["domain.example"]["ForwardingEnabled"])
        self.assertNotIn("BounceTopic", attrs["domain.example"])


if __name__ == "__main__":
    harness.main()
