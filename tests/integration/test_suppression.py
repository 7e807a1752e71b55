#!/usr/bin/python3
"""The account suppression list and the global suppression list, end to end.

The real herald binary with two smtp-sink peers behind static routes (good.test accepts
everything and keeps it, bad.test refuses every RCPT with 550 5.1.1), driven by the real
AWS CLI and boto3:
- put / get / list (--page-size pagination, Reason and date filters) / delete through the
  AWS CLI; the errors through boto3 (NotFoundException, BadRequestException,
  InvalidNextTokenException);
- a send to an address on the list is accepted, not delivered (the sink never sees it),
  and yields Bounce Permanent/OnAccountSuppressionList, or the Complaint with
  complaintSubType OnAccountSuppressionList for a COMPLAINT entry;
- a real hard bounce adds the address to the account's list (with the message id) and to
  the global list: another account's send to it gets Bounce Permanent/Suppressed;
- the simulator's bounce address is not added;
- `herald suppression import` of a 3-line CSV shows up in ListSuppressedDestinations;
- PutAccountSuppressionAttributes shows in GetAccount.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import SENDER, SIM, client_error

SIMPLE = {"Simple": {"Subject": {"Data": "suppression test"},
                     "Body": {"Text": {"Data": "hello"}}}}


def cli_aws():
    """Debian's AWS CLI v2, else the `aws` on PATH; None when there is neither."""
    if os.access("/usr/bin/aws", os.X_OK):
        return "/usr/bin/aws"
    return shutil.which("aws")


class Suppression(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.good = cls.bad = cls.herald = None
        try:
            cls.good = harness.SmtpSink(dump=True)
            cls.bad = harness.SmtpSink(hard=["RCPT"])
            cls.herald = harness.Herald(extra_config=(
                '\n[delivery]\nroutes = ["good.test 127.0.0.1:%d", "bad.test 127.0.0.1:%d"]\n'
                'connect_timeout_seconds = 2\ncommand_timeout_seconds = 5\n'
                'data_timeout_seconds = 5\n'
                # Hard bounces reach the lists at once: no suppression guard hold (the
                # guard has its own tests), and a short tick.
                '\n[reputation]\nguard_enabled = false\ntick_ms = 100\n'
                % (cls.good.port, cls.bad.port)))
            cls.herald.start()
            cls.creds = cls.herald.create_account("acme")
            cls.herald.verify("acme", SENDER)
            cls.herald.production("acme")
            cls.client = cls.herald.boto(cls.creds)
        except BaseException:
            if cls.herald:
                sys.stderr.write("herald log:\n%s\n" % cls.herald.log_tail())
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.herald:
                rc = cls.herald.stop()
                if rc not in (0, None):
                    raise AssertionError("herald exited %s on SIGTERM:\n%s"
                                         % (rc, cls.herald.log_tail()))
        finally:
            for x in (cls.herald, cls.good, cls.bad):
                if x:
                    x.cleanup()

    # -- helpers --------------------------------------------------------------------

    def aws(self, *args, creds=None, check=True):
        aws = cli_aws()
        if aws is None:
            self.skipTest("no AWS CLI installed")
        creds = creds or self.creds
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": creds["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": creds["secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
        })
        r = subprocess.run([aws, "--endpoint-url", self.herald.endpoint, "--output", "json",
                            "sesv2"] + list(args), env=env, capture_output=True, text=True,
                           timeout=120)
        if check:
            self.assertEqual(r.returncode, 0, "aws sesv2 %s: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else r

    def send(self, to, client=None):
        c = client or self.client
        return c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": to},
                            Content=SIMPLE)["MessageId"]

    def events_of(self, mid, count, timeout=30):
        """The events of message `mid` once there are at least `count` of them."""
        return harness.wait_until(
            lambda: (lambda ev: ev if len(ev) >= count else None)(self.herald.events_for(mid)),
            timeout, "%d events of %s (log: %s)" % (count, mid, self.herald.log_tail(5)))

    @staticmethod
    def by_recipient(events):
        """{(eventType, recipient): event} of one message's outcome events."""
        out = {}
        for e in events:
            t = e["eventType"]
            if t == "Bounce":
                rcpts = [r["emailAddress"] for r in e["bounce"]["bouncedRecipients"]]
            elif t == "Complaint":
                rcpts = [r["emailAddress"] for r in e["complaint"]["complainedRecipients"]]
            elif t == "Delivery":
                rcpts = e["delivery"]["recipients"]
            else:
                continue
            for r in rcpts:
                out[(t, r)] = e
        return out

    def sink_recipients(self):
        rcpts = []
        for fields, _msg in self.good.messages():
            rcpts.extend(a.strip("<>") for a in fields["X-Rcpt-Args"])
        return rcpts

    def not_found(self, address, client=None):
        with self.assertRaises((client or self.client).exceptions.NotFoundException) as cm:
            (client or self.client).get_suppressed_destination(EmailAddress=address)
        return client_error(cm.exception)

    # -- the operations -----------------------------------------------------------------

    def test_cli_put_get_list_delete(self):
        addresses = ["cli-a@list.test", "Cli-B@List.Test", "cli-c@list.test", "cli-d@list.test",
                     "cli-e@list.test"]
        reasons = ["BOUNCE", "COMPLAINT", "BOUNCE", "COMPLAINT", "BOUNCE"]
        times = []
        for a, r in zip(addresses, reasons):
            self.aws("put-suppressed-destination", "--email-address", a, "--reason", r)
            got = self.aws("get-suppressed-destination", "--email-address", a.lower())
            d = got["SuppressedDestination"]
            self.assertEqual(d["EmailAddress"], a)  # kept as given
            self.assertEqual(d["Reason"], r)
            self.assertNotIn("Attributes", d)
            times.append(self.client.get_suppressed_destination(
                EmailAddress=a)["SuppressedDestination"]["LastUpdateTime"])
            time.sleep(0.05)
        for earlier, later in zip(times, times[1:]):
            self.assertLess(earlier, later)

        def listed(*args):
            out = self.aws("list-suppressed-destinations", *args)
            return [s["EmailAddress"] for s in out["SuppressedDestinationSummaries"]
                    if s["EmailAddress"].lower().endswith("@list.test")], out

        everything, _ = listed()
        self.assertEqual(everything, addresses)  # in address order

        # --page-size 2: three pages, followed with --next-token.
        seen, token, pages = [], None, 0
        while True:
            args = ["--page-size", "2"]
            if token:
                args += ["--next-token", token]
            page, out = listed(*args)
            self.assertLessEqual(len(out["SuppressedDestinationSummaries"]), 2)
            seen += page
            pages += 1
            token = out.get("NextToken")
            if not token or pages > 10:
                break
        self.assertEqual(seen, addresses)
        self.assertGreaterEqual(pages, 3)

        bounces, _ = listed("--reasons", "BOUNCE")
        self.assertEqual(bounces, ["cli-a@list.test", "cli-c@list.test", "cli-e@list.test"])
        complaints, _ = listed("--reasons", "COMPLAINT")
        self.assertEqual(complaints, ["Cli-B@List.Test", "cli-d@list.test"])

        # Dates: between the second and the fourth entry (midpoints, so clock granularity
        # does not matter), as ISO 8601 the CLI turns into the query string.
        def mid(a, b):
            return (a + (b - a) / 2).astimezone(datetime.timezone.utc).isoformat()

        window, _ = listed("--start-date", mid(times[0], times[1]),
                           "--end-date", mid(times[3], times[4]))
        self.assertEqual(window, ["Cli-B@List.Test", "cli-c@list.test", "cli-d@list.test"])
        since, _ = listed("--start-date", mid(times[3], times[4]), "--reasons", "BOUNCE")
        self.assertEqual(since, ["cli-e@list.test"])

        # Delete (any case), then it is gone.
        self.aws("delete-suppressed-destination", "--email-address", "CLI-B@list.test")
        r = self.aws("get-suppressed-destination", "--email-address", "cli-b@list.test",
                     check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NotFoundException", r.stderr)
        everything, _ = listed()
        self.assertEqual(everything, [a for a in addresses if a != "Cli-B@List.Test"])

    def test_errors_through_boto3(self):
        c = self.client
        status, code, message = self.not_found("nobody@list.test")
        self.assertEqual((status, code), (404, "NotFoundException"))
        self.assertIn("nobody@list.test", message)
        with self.assertRaises(c.exceptions.NotFoundException):
            c.delete_suppressed_destination(EmailAddress="nobody@list.test")
        for address in ("not-an-address", "Name <x@list.test>"):
            with self.assertRaises(c.exceptions.BadRequestException) as cm:
                c.put_suppressed_destination(EmailAddress=address, Reason="BOUNCE")
            self.assertEqual(client_error(cm.exception)[0], 400)
        with self.assertRaises(c.exceptions.BadRequestException) as cm:
            c.put_suppressed_destination(EmailAddress="x@list.test", Reason="SPAM")
        self.assertIn("BOUNCE or COMPLAINT", client_error(cm.exception)[2])
        with self.assertRaises(c.exceptions.BadRequestException):
            c.get_suppressed_destination(EmailAddress="no-at-sign")
        with self.assertRaises(c.exceptions.BadRequestException):
            c.list_suppressed_destinations(PageSize=5000)
        with self.assertRaises(c.exceptions.BadRequestException):
            c.list_suppressed_destinations(StartDate=datetime.datetime(2030, 1, 2),
                                           EndDate=datetime.datetime(2030, 1, 1))
        with self.assertRaises(c.exceptions.InvalidNextTokenException):
            c.list_suppressed_destinations(NextToken="!!not-a-token")
        # Nothing of the above was stored.
        with self.assertRaises(c.exceptions.NotFoundException):
            c.get_suppressed_destination(EmailAddress="x@list.test")

    def test_account_suppression_attributes(self):
        other = self.herald.create_account("attrs")
        c = self.herald.boto(other)
        self.assertEqual(c.get_account()["SuppressionAttributes"]["SuppressedReasons"],
                         ["BOUNCE", "COMPLAINT"])  # SES's default for new accounts
        c.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"])
        self.assertEqual(c.get_account()["SuppressionAttributes"]["SuppressedReasons"],
                         ["COMPLAINT"])
        self.aws("put-account-suppression-attributes", "--suppressed-reasons", "BOUNCE",
                 "COMPLAINT", creds=other)
        self.assertEqual(c.get_account()["SuppressionAttributes"]["SuppressedReasons"],
                         ["BOUNCE", "COMPLAINT"])
        with self.assertRaises(c.exceptions.BadRequestException):
            c.put_account_suppression_attributes(SuppressedReasons=["SPAM"])

    # -- sending ----------------------------------------------------------------------------

    def test_send_to_suppressed_addresses_is_accepted_but_not_delivered(self):
        c = self.client
        c.put_suppressed_destination(EmailAddress="gone@good.test", Reason="BOUNCE")
        c.put_suppressed_destination(EmailAddress="angry@good.test", Reason="COMPLAINT")
        to = ["Gone@good.test", "fine@good.test", "ANGRY@good.test"]  # local part case kept
        mid = self.send(to)
        events = self.events_of(mid, 4)
        self.assertEqual(sorted(e["eventType"] for e in events),
                         ["Bounce", "Complaint", "Delivery", "Send"])
        got = self.by_recipient(events)
        b = got[("Bounce", "Gone@good.test")]["bounce"]
        self.assertEqual(b["bounceType"], "Permanent")
        self.assertEqual(b["bounceSubType"], "OnAccountSuppressionList")
        r = b["bouncedRecipients"][0]
        self.assertEqual(r["action"], "failed")
        self.assertRegex(r["status"], r"^5\.\d\.\d$")
        self.assertIn("suppression list", r["diagnosticCode"])
        self.assertTrue(b["feedbackId"])
        comp = got[("Complaint", "ANGRY@good.test")]["complaint"]
        self.assertEqual(comp["complaintSubType"], "OnAccountSuppressionList")
        self.assertTrue(comp["feedbackId"])
        self.assertIn(("Delivery", "fine@good.test"), got)
        # Only the other recipient reached the peer.
        rcpts = harness.wait_until(lambda: self.sink_recipients() or None, 20, "the sink's mail")
        self.assertIn("fine@good.test", rcpts)
        self.assertNotIn("gone@good.test", [x.lower() for x in rcpts])
        self.assertNotIn("angry@good.test", [x.lower() for x in rcpts])
        # Suppressed sends count against the daily quota (all three did).
        self.assertGreaterEqual(c.get_account()["SendQuota"]["SentLast24Hours"], 3)

    def test_hard_bounce_fills_the_account_and_global_lists(self):
        mid = self.send(["victim@bad.test"])
        events = self.events_of(mid, 2)
        bounce = self.by_recipient(events)[("Bounce", "victim@bad.test")]["bounce"]
        self.assertEqual(bounce["bounceType"], "Permanent")

        # The account's list holds it, with the message that caused it.
        entry = harness.wait_until(
            lambda: self._get_or_none("victim@bad.test"), 10, "the automatic entry")
        self.assertEqual(entry["Reason"], "BOUNCE")
        self.assertEqual(entry["Attributes"]["MessageId"], mid)
        self.assertEqual(entry["Attributes"]["FeedbackId"], bounce["feedbackId"])

        # The same account sending again: stopped by its own list.
        again = self.send(["victim@bad.test"])
        b = self.by_recipient(self.events_of(again, 2))[("Bounce", "victim@bad.test")]
        self.assertEqual(b["bounce"]["bounceSubType"], "OnAccountSuppressionList")

        # Another account: stopped by the global list.
        other = self.herald.create_account("neighbour")
        self.herald.verify("neighbour", SENDER)
        self.herald.production("neighbour")
        oc = self.herald.boto(other)
        third = self.send(["Victim@bad.test"], client=oc)
        b = self.by_recipient(self.events_of(third, 2))[("Bounce", "Victim@bad.test")]
        self.assertEqual(b["bounce"]["bounceType"], "Permanent")
        self.assertEqual(b["bounce"]["bounceSubType"], "Suppressed")
        # The global list's bounce counts for the neighbour: its own list learns the address.
        entry = harness.wait_until(lambda: self._get_or_none("victim@bad.test", oc), 10,
                                   "the neighbour's entry")
        self.assertEqual(entry["Attributes"]["MessageId"], third)
        # The operator sees the global record.
        g = self.herald.cli_json("suppression", "global-get", "victim@bad.test", "--json")
        self.assertTrue(g["listed"])
        self.assertEqual(g["bounce_count"], 1)

    def _get_or_none(self, address, client=None):
        c = client or self.client
        try:
            return c.get_suppressed_destination(EmailAddress=address)["SuppressedDestination"]
        except c.exceptions.NotFoundException:
            return None

    def test_simulator_bounces_are_not_suppressed(self):
        bounce = "bounce@%s" % SIM
        mid = self.send([bounce])
        b = self.by_recipient(self.events_of(mid, 2))[("Bounce", bounce)]
        self.assertEqual(b["bounce"]["bounceSubType"], "General")
        time.sleep(0.5)  # give a (wrong) automatic addition time to happen
        self.not_found(bounce)
        again = self.send([bounce])
        b = self.by_recipient(self.events_of(again, 2))[("Bounce", bounce)]
        self.assertEqual(b["bounce"]["bounceSubType"], "General")

    # -- the operator's import -------------------------------------------------------------

    def test_cli_import_of_a_csv(self):
        creds = self.herald.create_account("importer")
        tmp = tempfile.mkdtemp(prefix="herald-import-")
        try:
            path = os.path.join(tmp, "list.csv")
            with open(path, "w") as f:
                f.write("one@import.test,BOUNCE\nTwo@Import.test,COMPLAINT\n"
                        "three@import.test,BOUNCE\n")
            r = self.herald.cli("suppression", "import", "--account", "importer", path)
            self.assertIn("imported 3", r.stdout)
            bad = os.path.join(tmp, "bad.csv")
            with open(bad, "w") as f:
                f.write("four@import.test,BOUNCE\nnot an address,BOUNCE\n")
            r = self.herald.cli("suppression", "import", "--account", "importer", bad,
                                check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("line 2", r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out = self.herald.boto(creds).list_suppressed_destinations()
        self.assertEqual(
            [(s["EmailAddress"], s["Reason"]) for s in out["SuppressedDestinationSummaries"]],
            [("one@import.test", "BOUNCE"), ("three@import.test", "BOUNCE"),
             ("Two@Import.test", "COMPLAINT")])
        listed = self.herald.cli_json("suppression", "list", "--account", "importer", "--json")
        self.assertEqual(len(listed), 3)


if __name__ == "__main__":
    harness.main()
