"""Reputation and enforcement end to end: the real herald binary delivers to smtp-sink
peers (one accepts, one refuses every recipient with 550 5.1.1), counts eligible sends and
hard bounces per recipient, and moves the account through review and pause; the real AWS
CLI and boto3 see GetAccount's EnforcementStatus and SendingEnabled change and SendEmail
refused while paused; `herald review` shows the figures and notices, takes the sender's
answers and the operator's decision, and the notices reach the account's contact address
as mail.

Thresholds are lowered by configuration (min_sends 10, no pause grace) so that a handful
of messages crosses them; the rules themselves are the defaults (review at 5 %, pause at
10 %).
"""

import json
import time
import unittest

import harness
from harness import SENDER

ROUTES = ("ok.test", "own.test", "hard.test", "contact.test")


class Reputation(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.ok = cls.hard = cls.contact = cls.herald = None
        try:
            cls.ok = harness.SmtpSink()
            cls.hard = harness.SmtpSink(hard=["RCPT"])
            cls.contact = harness.SmtpSink(dump=True)
            routes = ['"ok.test 127.0.0.1:%d"' % cls.ok.port,
                      '"own.test 127.0.0.1:%d"' % cls.ok.port,
                      '"hard.test 127.0.0.1:%d"' % cls.hard.port,
                      '"contact.test 127.0.0.1:%d"' % cls.contact.port]
            # Sandbox accounts get SES's real rate (1/s) and a tiny daily quota here.
            base = harness.BASE_CONFIG.format(insecure="false").replace(
                "sandbox_max_send_rate = 1000\nsandbox_max_24h_send = 100000\n",
                "sandbox_max_send_rate = 1\nsandbox_max_24h_send = 3\n")
            assert "sandbox_max_24h_send = 3" in base
            cls.herald = harness.Herald(config_text=base + (
                "\n[delivery]\nroutes = [%s]\nretry_schedule = \"1s\"\n"
                "\n[reputation]\ntick_ms = 100\nmin_sends = 10\nmin_fbl_sends = 10\n"
                "pause_grace_hours = 0\nguard_enabled = false\n"
                "fbl_domains = [\"fbl.test\"]\n" % ", ".join(routes)))
            cls.herald.start()
            cls.creds = cls.herald.create_account("tenant")
            cls.herald.verify("tenant", SENDER)
            cls.herald.verify("tenant", "own.test")
            cls.herald.production("tenant")
            cls.herald.cli("account", "contact", "tenant", "postmaster@contact.test")
            cls.client = cls.herald.boto(cls.creds)
        except BaseException:
            if cls.herald:
                print(cls.herald.log_tail())
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.herald:
                cls.herald.stop()
                cls.herald.cleanup()
        finally:
            for s in (cls.ok, cls.hard, cls.contact):
                if s:
                    s.stop()

    # -- helpers -------------------------------------------------------------------------

    def send(self, to=(), cc=(), bcc=(), client=None):
        dest = {"ToAddresses": list(to)}
        if cc:
            dest["CcAddresses"] = list(cc)
        if bcc:
            dest["BccAddresses"] = list(bcc)
        r = (client or self.client).send_email(
            FromEmailAddress=SENDER, Destination=dest,
            Content={"Simple": {"Subject": {"Data": "reputation test"},
                                "Body": {"Text": {"Data": "hello"}}}})
        return r["MessageId"]

    def outcome(self, mid, kind, rcpt, timeout=30):
        def found():
            for e in self.herald.events_for(mid):
                if e.get("eventType") == kind and rcpt in json.dumps(e):
                    return e
            return None
        harness.wait_until(lambda: found() is not None, timeout,
                           "%s for %s of %s" % (kind, rcpt, mid))
        return found()

    def review(self, account="tenant"):
        return self.herald.cli_json("review", "show", account, "--json")

    def wait_review(self, predicate, what, account="tenant", timeout=20):
        harness.wait_until(lambda: predicate(self.review(account)), timeout, what)
        return self.review(account)

    def get_account(self):
        r = self.herald.aws(self.creds, "sesv2", "get-account")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    # -- the lifecycle ---------------------------------------------------------------------

    def test_review_pause_answers_and_reinstatement(self):
        # 1. Twenty eligible recipients in one message (To, Cc and Bcc each count); the
        # account's own verified domain and the mailbox simulator do not count.
        ok = ["u%d@ok.test" % i for i in range(20)]
        mid = self.send(to=ok[:5], cc=ok[5:10], bcc=ok[10:])
        own = self.send(to=["a@own.test", "b@own.test"])
        sim = self.send(to=["bounce@simulator.amazonses.com"])
        for r in ok:
            self.outcome(mid, "Delivery", r)
        self.outcome(own, "Delivery", "b@own.test")
        self.outcome(sim, "Bounce", "bounce@simulator.amazonses.com")
        rev = self.wait_review(lambda r: r["figures"]["eligible_sends"] >= 20, "20 sends counted")
        time.sleep(0.5)  # a few more ticks: nothing else may be counted
        rev = self.review()
        self.assertEqual(rev["figures"]["eligible_sends"], 20)
        self.assertEqual(rev["figures"]["hard_bounces"], 0)
        self.assertEqual(rev["state"], "healthy")

        # 2. One hard bounce: 1 of 21 (4.76 %) stays healthy.
        m1 = self.send(to=["user1@hard.test"])
        b = self.outcome(m1, "Bounce", "user1@hard.test")
        self.assertEqual(b["bounce"]["bounceType"], "Permanent")
        rev = self.wait_review(lambda r: r["figures"]["hard_bounces"] == 1, "first bounce counted")
        self.assertEqual(rev["figures"]["eligible_sends"], 21)
        self.assertEqual(rev["state"], "healthy")
        acct = self.get_account()
        self.assertEqual(acct["EnforcementStatus"], "HEALTHY")
        self.assertIs(acct["SendingEnabled"], True)

        # 3. A second one: 2 of 22 (9.09 %) opens a review; sending goes on.
        m2 = self.send(to=["user2@hard.test"])
        self.outcome(m2, "Bounce", "user2@hard.test")
        rev = self.wait_review(lambda r: r["state"] == "under_review", "review opened")
        self.assertEqual(rev["enforcement_status"], "PROBATION")
        self.assertEqual(rev["metrics"]["bounce"], "under_review")
        self.assertEqual(rev["figures"]["eligible_sends"], 22)
        self.assertTrue(rev["review_deadline"])
        notice = rev["notices"][0]
        self.assertEqual(notice["kind"], "review_opened")
        for figure in ("9.09%", "22", "days"):
            self.assertIn(figure, notice["text"])
        acct = self.get_account()
        self.assertEqual(acct["EnforcementStatus"], "PROBATION")
        self.assertIs(acct["SendingEnabled"], True)
        case = rev["review_case"]
        self.assertEqual(case["status"], "open")
        self.assertEqual({s["recipient"] for s in case["samples"]},
                         {"user1@hard.test", "user2@hard.test"})
        self.assertIn("Subject: reputation test", case["samples"][0]["message_start"])

        # The notice reaches the contact address as mail from herald.
        def notice_mail():
            for fields, msg in self.contact.messages():
                if msg.get("Subject") == notice["subject"]:
                    return msg
            return None
        harness.wait_until(lambda: notice_mail() is not None, 20, "the review notice mail")
        body = notice_mail().get_payload(decode=True).decode("utf-8", "replace")
        self.assertIn("9.09%", body)

        # 4. A third: 3 of 23 (13.04 %) is past the pause threshold; with no grace period
        # the account is paused at once. The AWS CLI and boto3 see it.
        m3 = self.send(to=["user3@hard.test"])
        self.outcome(m3, "Bounce", "user3@hard.test")
        rev = self.wait_review(lambda r: r["state"] == "paused", "paused")
        self.assertEqual(rev["enforcement_status"], "SHUTDOWN")
        kinds = [n["kind"] for n in rev["notices"]]
        self.assertEqual(kinds[0], "paused")
        self.assertIn("13.04%", rev["notices"][0]["text"])
        acct = self.get_account()
        self.assertEqual(acct["EnforcementStatus"], "SHUTDOWN")
        self.assertIs(acct["SendingEnabled"], False)
        with self.assertRaises(self.client.exceptions.SendingPausedException):
            self.send(to=["u1@ok.test"])
        r = self.herald.aws(self.creds, "sesv2", "send-email", "--from-email-address", SENDER,
                            "--destination", json.dumps({"ToAddresses": ["u1@ok.test"]}),
                            "--content", json.dumps({"Simple": {
                                "Subject": {"Data": "x"}, "Body": {"Text": {"Data": "y"}}}}))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SendingPausedException", r.stderr)
        with harness.RawSmtp(*self.herald.smtp_addr) as s:
            s.login(self.creds)
            reply = s.send_mail(SENDER, ["u1@ok.test"],
                                harness.rfc5322(SENDER, ["u1@ok.test"], "while paused"))
        self.assertTrue(reply.startswith("554 "), reply)
        self.assertIn("Sending paused for this account", reply)

        # 5. The sender answers the three questions; acceptance is a fresh start.
        r = self.herald.cli("review", "accept", "tenant", check=False)
        self.assertNotEqual(r.returncode, 0, "accepting needs the answers first")
        self.herald.cli("review", "respond", "tenant",
                        "--root-cause", "an old list was imported",
                        "--changes", "the list was removed",
                        "--prevention", "imports need confirmed opt-in")
        rev = self.review()
        self.assertEqual(rev["review_case"]["answers"]["root_cause"], "an old list was imported")
        out = self.herald.cli_json("review", "accept", "tenant", "--json")
        self.assertEqual(out["state"], "healthy")
        self.assertTrue(out["fresh_start"])
        acct = self.get_account()
        self.assertEqual(acct["EnforcementStatus"], "HEALTHY")
        self.assertIs(acct["SendingEnabled"], True)
        rev = self.review()
        self.assertEqual(rev["figures"]["eligible_sends"], 0, "only sends after the change count")
        self.assertEqual(rev["notices"][0]["kind"], "reinstated")
        mid = self.send(to=["again@ok.test"])
        self.outcome(mid, "Delivery", "again@ok.test")
        cases = self.herald.cli_json("review", "cases", "tenant", "--json")
        self.assertEqual(cases[0]["status"], "accepted")

    def test_operator_pause_and_resume(self):
        creds = self.herald.create_account("second")
        self.herald.verify("second", SENDER)
        client = self.herald.boto(creds)
        listing = self.herald.cli_json("review", "list", "--json")
        self.assertNotIn("second", [a["account"] for a in listing])
        out = self.herald.cli_json("review", "pause", "second", "--reason",
                                   "a complaint from a mailbox provider", "--json")
        self.assertEqual(out["state"], "paused")
        self.assertIn("a complaint from a mailbox provider", out["notice"]["text"])
        listing = self.herald.cli_json("review", "list", "--json")
        self.assertIn("second", [a["account"] for a in listing])
        with self.assertRaises(client.exceptions.SendingPausedException):
            self.send(to=["success@simulator.amazonses.com"], client=client)
        out = self.herald.cli_json("review", "resume", "second", "--json")
        self.assertEqual(out["state"], "healthy")
        self.send(to=["success@simulator.amazonses.com"], client=client)
        r = self.herald.cli("review", "pause", "nobody-such", "--reason", "x", check=False)
        self.assertNotEqual(r.returncode, 0)

        # The account's own pause (PutAccountSendingAttributes), through the AWS CLI.
        r = self.herald.aws(creds, "sesv2", "put-account-sending-attributes",
                            "--no-sending-enabled")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.herald.aws(creds, "sesv2", "get-account")
        acct = json.loads(r.stdout)
        self.assertIs(acct["SendingEnabled"], False)
        self.assertEqual(acct["EnforcementStatus"], "HEALTHY")
        with self.assertRaises(client.exceptions.SendingPausedException):
            self.send(to=["success@simulator.amazonses.com"], client=client)
        client.put_account_sending_attributes(SendingEnabled=True)
        self.send(to=["success@simulator.amazonses.com"], client=client)


    def test_quota_and_rate_refusals(self):
        """A sandbox account (3 recipients a day here, 1 a second) through boto3, the AWS
        CLI and SMTP: SES's errors, and GetAccount's SendQuota counting per recipient."""
        creds = self.herald.create_account("quota")
        self.herald.verify("quota", SENDER)
        self.herald.verify("quota", "ok.test")  # sandbox: recipients must be verified
        client = self.herald.boto(creds)
        # One message to three recipients uses the whole day and runs the rate into debt.
        self.send(to=["q1@ok.test"], cc=["q2@ok.test"], bcc=["q3@ok.test"], client=client)
        acct = client.get_account()
        self.assertEqual(acct["SendQuota"]["Max24HourSend"], 3.0)
        self.assertEqual(acct["SendQuota"]["MaxSendRate"], 1.0)
        self.assertEqual(acct["SendQuota"]["SentLast24Hours"], 3.0)
        with self.assertRaises(client.exceptions.TooManyRequestsException) as ctx:
            self.send(to=["q4@ok.test"], client=client)
        self.assertEqual(ctx.exception.response["Error"]["Message"],
                         "Daily message quota exceeded.")
        # The simulator does not count against the daily quota, only the rate: paying back
        # three recipients at 1/s takes about three seconds.
        with self.assertRaises(client.exceptions.TooManyRequestsException) as ctx:
            self.send(to=["success@simulator.amazonses.com"], client=client)
        self.assertEqual(ctx.exception.response["Error"]["Message"],
                         "Maximum sending rate exceeded.")
        r = self.herald.aws(creds, "sesv2", "send-email", "--from-email-address", SENDER,
                            "--destination", json.dumps({"ToAddresses": ["q5@ok.test"]}),
                            "--content", json.dumps({"Simple": {
                                "Subject": {"Data": "x"}, "Body": {"Text": {"Data": "y"}}}}))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TooManyRequestsException", r.stderr)
        with harness.RawSmtp(*self.herald.smtp_addr) as s:
            s.login(creds)
            reply = s.send_mail(SENDER, ["q6@ok.test"],
                                harness.rfc5322(SENDER, ["q6@ok.test"], "over quota"))
        self.assertEqual(reply, "454 Throttling failure: Daily message quota exceeded.")
        self.assertEqual(client.get_account()["SendQuota"]["SentLast24Hours"], 3.0,
                         "refused sends are not counted")
        time.sleep(4)
        self.send(to=["success@simulator.amazonses.com"], client=client)


if __name__ == "__main__":
    harness.main()
