#!/usr/bin/python3
"""The feedback MX against real peers: bounce reports, complaints and auto-replies sent
over SMTP by Python's smtplib, and a real Postfix that relays a message herald sent to a
destination that refuses it, writes its own bounce report and sends it to herald's
feedback MX. Every check reads what herald really published (events.jsonl, the admin
counters, the files it keeps) or what the peer really did (Postfix's log).

Needs the feedback parser (src/feedback/report.cc): with a stub parser every report is
"not feedback" and the event checks fail.

    /usr/bin/python3 tests/integration/test_feedback.py --herald build/herald
"""

import email.utils
import json
import os
import smtplib
import sys
import unittest

import harness

RETURN_PATH_DOMAIN = "bounces.herald.test"
FBL_DOMAIN = "fbl.herald.test"
HOSTNAME = "herald.test"  # harness.BASE_CONFIG
SENDER = "news@acme-mail.test"


def simple(subject):
    return {"Simple": {"Subject": {"Data": subject},
                       "Body": {"Text": {"Data": "Hello from the feedback tests.\n"}}}}


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


DSN_FAILED_TEXT = """I'm sorry to have to inform you that your message could not
be delivered to one or more recipients."""


def dsn(*, reporting_mta, final_recipient, status, diagnostic, original_headers,
        remote_mta=None, action="failed", subject="Undelivered Mail Returned to Sender",
        text=DSN_FAILED_TEXT):
    """An RFC 3464 delivery status notification, as an MTA writes it."""
    boundary = "dsn-%s" % os.urandom(6).hex()
    remote = "Remote-MTA: %s\n" % remote_mta if remote_mta else ""
    return crlf("""From: MAILER-DAEMON@{mta}
To: postmaster@{rp}
Subject: {subject}
Date: {date}
Message-ID: <{nonce}@{mta}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"

--{b}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {mta}.

{text}

<{rcpt}>: host {mta} said: {diag}

--{b}
Content-Type: message/delivery-status

Reporting-MTA: dns; {mta}
Arrival-Date: {date}

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
{remote}Diagnostic-Code: smtp; {diag}

--{b}
Content-Type: text/rfc822-headers

{headers}
--{b}--
""".format(mta=reporting_mta, rp=RETURN_PATH_DOMAIN, date=email.utils.formatdate(),
           nonce=os.urandom(8).hex(), b=boundary, rcpt=final_recipient, diag=diagnostic,
           action=action, status=status, remote=remote, headers=original_headers.strip(),
           subject=subject, text=text))


def arf(*, original_rcpt_to, original_headers, user_agent="ExampleFBL/1.0",
        arrival="Thu, 19 Nov 2026 10:04:05 +0000"):
    """An RFC 5965 abuse report."""
    boundary = "arf-%s" % os.urandom(6).hex()
    return crlf("""From: Feedback Loop <fbl@isp.test>
To: fbl@{fbl}
Subject: FW: complaint
Date: {date}
Message-ID: <{nonce}@isp.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{b}"

--{b}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--{b}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: {ua}
Version: 1
Original-Mail-From: <{sender}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: {arrival}
Source-IP: 192.0.2.1
Reported-Domain: acme-mail.test

--{b}
Content-Type: message/rfc822

{headers}

Hello from the feedback tests.

--{b}--
""".format(fbl=FBL_DOMAIN, date=email.utils.formatdate(), nonce=os.urandom(8).hex(),
           b=boundary, ua=user_agent, sender=SENDER, rcpt=original_rcpt_to, arrival=arrival,
           headers=original_headers.strip()))


def auto_reply(*, sender, subject):
    return crlf("""From: {sender}
To: someone@{rp}
Subject: Out of office: {subject}
Date: {date}
Message-ID: <{nonce}@dest.test>
Auto-Submitted: auto-replied
X-Autoreply: yes
Content-Type: text/plain; charset=us-ascii

I am out of the office until Monday and will answer your message when I am back.
""".format(sender=sender, rp=RETURN_PATH_DOMAIN, subject=subject, date=email.utils.formatdate(),
           nonce=os.urandom(8).hex()))


def original_headers(mid, to, subject):
    return crlf("""Return-Path: <bounces@{rp}>
From: {sender}
To: {to}
Subject: {subject}
Message-ID: <{mid}@{host}>
Date: {date}
MIME-Version: 1.0
""".format(rp=RETURN_PATH_DOMAIN, sender=SENDER, to=to, subject=subject, mid=mid,
           host=HOSTNAME, date=email.utils.formatdate()))


def feedback_events(herald, mid, etype):
    return [e for e in herald.events_for(mid) if e.get("eventType") == etype]


def recipients_of(e):
    t = e.get("eventType")
    if t == "Bounce":
        return [r.get("emailAddress") for r in e["bounce"].get("bouncedRecipients", [])]
    if t == "Complaint":
        return [r.get("emailAddress") for r in e["complaint"].get("complainedRecipients", [])]
    if t == "AutoReply":
        return [r.get("emailAddress") for r in e["autoReply"].get("recipients", [])]
    if t == "DeliveryDelay":
        return [r.get("emailAddress") for r in e["deliveryDelay"].get("delayedRecipients", [])]
    return []


class FeedbackChecks(unittest.TestCase):
    maxDiff = None

    def wait_event(self, mid, etype, rcpt, timeout=20):
        def find():
            for e in feedback_events(self.herald, mid, etype):
                if rcpt in recipients_of(e):
                    return e
            return None

        try:
            return harness.wait_until(find, timeout, "%s event for %s" % (etype, rcpt))
        except AssertionError:
            got = [(e.get("eventType"), recipients_of(e)) for e in self.herald.events_for(mid)]
            self.fail("no %s event for %s of %s within %ss; events: %s\nherald log:\n%s"
                      % (etype, rcpt, mid, timeout, got, self.herald.log_tail(60)))

    def counters(self):
        status, body = self.herald.admin_get("/_herald/admin/feedback")
        self.assertEqual(status, 200, body)
        return body

    def wait_counter(self, path, at_least, timeout=20):
        def get():
            v = self.counters()
            for k in path:
                v = v[k]
            return v if v >= at_least else None

        return harness.wait_until(get, timeout, "feedback counter %s >= %d" % (path, at_least))


# --------------------------------------------------------------------------------------
# (i) Reports sent straight to the feedback MX over SMTP.


class FeedbackMxTest(FeedbackChecks):
    @classmethod
    def setUpClass(cls):
        cls.herald = harness.Herald(extra_config=(
            '\n[delivery]\nenabled = false\nreturn_path_domain = "%s"\n'
            '\n[feedback]\nlisten = "127.0.0.1:0"\ndomains = ["%s"]\n'
            % (RETURN_PATH_DOMAIN, FBL_DOMAIN)))
        try:
            cls.herald.start()
            cls.creds = cls.herald.create_account("fb")
            cls.herald.production("fb")
            cls.herald.verify("fb", SENDER)
            cls.client = cls.herald.boto(cls.creds)
            cls.secret = cls.herald.verp_secret()
        except BaseException:
            sys.stderr.write("herald log:\n%s\n" % cls.herald.log_tail())
            cls.herald.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.herald.stop()
            if rc not in (0, None):
                raise AssertionError("herald exited %s on SIGTERM:\n%s"
                                     % (rc, cls.herald.log_tail()))
        finally:
            cls.herald.cleanup()

    def send(self, to, subject):
        mid = self.client.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": to},
                                     Content=simple(subject))["MessageId"]
        # The MX matches reports against sent messages: wait until the Send is published.
        harness.wait_until(lambda: feedback_events(self.herald, mid, "Send"), 20,
                           "the Send event of %s" % mid)
        return mid

    def verp(self, mid, index):
        return "%s@%s" % (harness.encode_verp(mid, index, self.secret), RETURN_PATH_DOMAIN)

    def mx(self):
        host, port = self.herald.feedback_addr
        s = smtplib.SMTP(host, port, local_hostname="mta.dest.test", timeout=15)
        self.addCleanup(s.close)
        return s

    def test_mx_refuses_what_is_not_herald_s(self):
        s = self.mx()
        code, _ = s.ehlo()
        self.assertEqual(code, 250)
        self.assertFalse(s.has_extn("auth"), "an MX offers no AUTH")
        self.assertTrue(s.has_extn("starttls"))
        self.assertEqual(s.mail("")[0], 250, "the null reverse-path is accepted")
        code, msg = s.rcpt("victim@gmail.test")
        self.assertEqual(code, 550)
        self.assertIn(b"5.7.1", msg)
        code, msg = s.rcpt("b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" +
                           RETURN_PATH_DOMAIN)
        self.assertEqual(code, 550, "a forged VERP token")
        self.assertIn(b"5.1.1", msg)
        code, _ = s.rcpt("postmaster@" + RETURN_PATH_DOMAIN)
        self.assertEqual(code, 250)
        code, _ = s.rcpt("fbl@" + FBL_DOMAIN.upper())
        self.assertEqual(code, 250)
        # The whole relay attempt through smtplib: refused, nothing stored.
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            self.mx().sendmail("spammer@example.org", ["someone@example.com"],
                               b"Subject: relay?\r\n\r\nplease relay\r\n")
        self.assertGreaterEqual(self.counters()["refused_recipients"], 3)

    def test_dsn_to_the_verp_address_is_a_bounce_for_that_recipient(self):
        subject = "dsn verp %s" % os.urandom(4).hex()
        to = ["alice@dest.test", "bob@dest.test"]
        mid = self.send(to, subject)
        report = dsn(reporting_mta="mx.dest.test", final_recipient="bob@dest.test",
                     status="5.1.1", remote_mta="dns; 203.0.113.5",
                     diagnostic="550 5.1.1 <bob@dest.test>: Recipient address rejected: "
                                "User unknown in virtual mailbox table",
                     original_headers=original_headers(mid, "bob@dest.test", subject))
        refused = self.mx().sendmail("", [self.verp(mid, 1)], report.encode())
        self.assertEqual(refused, {})

        e = self.wait_event(mid, "Bounce", "bob@dest.test")
        b = e["bounce"]
        self.assertEqual(b["bounceType"], "Permanent", b)
        self.assertEqual(b["bounceSubType"], "NoEmail", b)
        self.assertEqual(len(b["bouncedRecipients"]), 1, b)
        r = b["bouncedRecipients"][0]
        self.assertEqual(r["emailAddress"], "bob@dest.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.1.1")
        self.assertIn("User unknown in virtual mailbox table", r.get("diagnosticCode", ""))
        self.assertEqual(b.get("reportingMTA"), "dns; mx.dest.test")
        self.assertEqual(b.get("remoteMtaIp"), "203.0.113.5")
        self.assertRegex(b.get("timestamp", ""), harness.ISO_TS)
        self.assertTrue(b.get("feedbackId"))
        self.assertEqual(e["mail"]["messageId"], mid)
        self.assertEqual(e["mail"]["source"], SENDER)
        self.assertEqual(e["mail"]["destination"], to)
        self.assertEqual(e["mail"]["commonHeaders"]["subject"], subject)
        # alice was not reported: only the recipient the token names.
        self.assertEqual([recipients_of(x) for x in feedback_events(self.herald, mid, "Bounce")],
                         [["bob@dest.test"]])
        self.assertGreaterEqual(self.wait_counter(["correlated_by", "verp"], 1), 1)

    def test_delayed_dsn_is_a_delivery_delay_for_that_recipient(self):
        subject = "dsn delayed %s" % os.urandom(4).hex()
        to = ["ivan@dest.test", "judy@dest.test"]
        mid = self.send(to, subject)
        before = self.counters()
        report = dsn(reporting_mta="mx.dest.test", final_recipient="judy@dest.test",
                     action="delayed", status="4.2.2",
                     diagnostic="452 4.2.2 <judy@dest.test>: Mailbox full, try again later",
                     subject="Delayed Mail (still being retried)",
                     text="THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE.",
                     original_headers=original_headers(mid, "judy@dest.test", subject))
        refused = self.mx().sendmail("", [self.verp(mid, 1)], report.encode())
        self.assertEqual(refused, {})

        e = self.wait_event(mid, "DeliveryDelay", "judy@dest.test")
        d = e["deliveryDelay"]
        self.assertEqual(e["mail"]["messageId"], mid)
        self.assertEqual(e["mail"]["destination"], to)
        self.assertEqual(e["mail"]["commonHeaders"]["subject"], subject)
        self.assertEqual(recipients_of(e), ["judy@dest.test"], "only the token's recipient")
        r = d["delayedRecipients"][0]
        self.assertEqual(r["status"], "4.2.2")
        self.assertIn("Mailbox full", r.get("diagnosticCode", ""))
        self.assertEqual(d["delayType"], "MailboxFull", d)
        self.assertEqual(d.get("reportingMTA"), "dns; mx.dest.test")
        self.assertRegex(d.get("timestamp", ""), harness.ISO_TS)
        # The remote side still tries: no bounce, and the report counts as delayed.
        self.wait_counter(["outcomes", "delayed"], before["outcomes"]["delayed"] + 1)
        self.assertEqual(feedback_events(self.herald, mid, "Bounce"), [])
        self.assertEqual(len(feedback_events(self.herald, mid, "DeliveryDelay")), 1)
        after = self.counters()
        self.assertEqual(after["events"]["delivery_delay"],
                         before["events"]["delivery_delay"] + 1)
        self.assertEqual(after["outcomes"]["bounce"], before["outcomes"]["bounce"])

    def test_dsn_without_token_is_matched_by_message_id_and_strangers_are_orphans(self):
        subject = "dsn msgid %s" % os.urandom(4).hex()
        to = ["carol@dest.test", "dan@dest.test"]
        mid = self.send(to, subject)
        report = dsn(reporting_mta="mx.dest.test", final_recipient="dan@dest.test",
                     status="5.2.2", diagnostic="552 5.2.2 <dan@dest.test>: mailbox full",
                     original_headers=original_headers(mid, "dan@dest.test", subject))
        self.mx().sendmail("", ["bounces@" + RETURN_PATH_DOMAIN], report.encode())
        e = self.wait_event(mid, "Bounce", "dan@dest.test")
        self.assertEqual(e["bounce"]["bounceType"], "Transient", e["bounce"])
        self.assertEqual(e["bounce"]["bounceSubType"], "MailboxFull", e["bounce"])

        # The same message, but the report names an address the message never had (another
        # account's recipient, say): nothing is published for it; it is kept as an orphan.
        before = self.counters()["outcomes"]["orphan"]
        stranger = dsn(reporting_mta="mx.dest.test", final_recipient="victim@other.test",
                       status="5.1.1", diagnostic="550 5.1.1 no such user",
                       original_headers=original_headers(mid, "victim@other.test", subject))
        self.mx().sendmail("", ["bounces@" + RETURN_PATH_DOMAIN], stranger.encode())
        self.wait_counter(["outcomes", "orphan"], before + 1)
        for ev in self.herald.events():
            self.assertNotIn("victim@other.test", recipients_of(ev))
        orphans = os.path.join(self.herald.data_dir, "feedback", "orphans")
        reasons = []
        for name in os.listdir(orphans):
            if name.endswith(".json"):
                with open(os.path.join(orphans, name)) as f:
                    reasons.append(json.load(f))
        self.assertIn("recipient_not_in_message", [r.get("reason") for r in reasons], reasons)
        self.assertTrue(all(os.path.exists(os.path.join(orphans, r["id"] + ".msg"))
                            for r in reasons))

    def test_arf_complaint(self):
        subject = "arf %s" % os.urandom(4).hex()
        to = ["erin@isp.test", "frank@other.test"]
        mid = self.send(to, subject)
        report = arf(original_rcpt_to="erin@isp.test",
                     original_headers=original_headers(mid, "erin@isp.test", subject))
        self.mx().sendmail("fbl@isp.test", ["fbl@" + FBL_DOMAIN], report.encode())
        e = self.wait_event(mid, "Complaint", "erin@isp.test")
        c = e["complaint"]
        self.assertEqual(recipients_of(e), ["erin@isp.test"])
        self.assertEqual(c.get("complaintFeedbackType"), "abuse")
        self.assertEqual(c.get("userAgent"), "ExampleFBL/1.0")
        self.assertEqual(c.get("arrivalDate"), "2026-11-19T10:04:05.000Z")
        self.assertIn("complaintSubType", c)
        self.assertIsNone(c["complaintSubType"])
        self.assertTrue(c.get("feedbackId"))
        self.assertRegex(c.get("timestamp", ""), harness.ISO_TS)
        self.assertEqual(feedback_events(self.herald, mid, "Bounce"), [])

    def test_auto_reply_is_recorded_never_a_bounce(self):
        subject = "ooo %s" % os.urandom(4).hex()
        mid = self.send(["gina@dest.test"], subject)
        before = self.counters()["outcomes"]["auto_reply"]
        self.mx().sendmail("gina@dest.test", [self.verp(mid, 0)],
                           auto_reply(sender="Gina <gina@dest.test>", subject=subject).encode())
        e = self.wait_event(mid, "AutoReply", "gina@dest.test")
        self.assertTrue(e["autoReply"].get("feedbackId"))
        self.wait_counter(["outcomes", "auto_reply"], before + 1)
        self.assertEqual(feedback_events(self.herald, mid, "Bounce"), [])

    def test_reports_for_mail_sent_before_a_restart_still_match(self):
        subject = "restart %s" % os.urandom(4).hex()
        mid = self.send(["hank@dest.test"], subject)
        self.assertEqual(self.herald.stop(), 0)
        self.herald.start()  # the sent-message index is rebuilt from events.jsonl
        report = dsn(reporting_mta="mx.dest.test", final_recipient="hank@dest.test",
                     status="5.1.1", diagnostic="550 5.1.1 <hank@dest.test>: user unknown",
                     original_headers=original_headers(mid, "hank@dest.test", subject))
        self.mx().sendmail("", [self.verp(mid, 0)], report.encode())
        e = self.wait_event(mid, "Bounce", "hank@dest.test")
        self.assertEqual(e["mail"]["commonHeaders"]["subject"], subject)
        self.assertEqual(self.counters()["outcomes"]["orphan"], 0)

    def test_ordinary_mail_is_dropped(self):
        before = self.counters()
        self.mx().sendmail("someone@example.org", ["postmaster@" + RETURN_PATH_DOMAIN],
                           crlf("From: someone@example.org\nSubject: hello\n\nJust saying hi.\n")
                           .encode())
        self.wait_counter(["outcomes", "not_feedback"], before["outcomes"]["not_feedback"] + 1)
        after = self.counters()
        self.assertEqual(after["received"], before["received"] + 1)
        incoming = os.path.join(self.herald.data_dir, "feedback", "incoming")
        harness.wait_until(lambda: not os.listdir(incoming), 10, "the inbox to empty")


# --------------------------------------------------------------------------------------
# (ii) A real Postfix relays herald's message, the next hop refuses it, and Postfix's own
# bounce comes back to herald's feedback MX.


class PostfixBounceTest(FeedbackChecks):
    RELAY_DOMAIN = "relay.test"

    @classmethod
    def setUpClass(cls):
        cls.sink = cls.postfix = cls.herald = None
        try:
            # The final destination: refuses every recipient with 550 5.1.1.
            cls.sink = harness.SmtpSink(hard=["RCPT"])
            postfix_port = harness.free_port()
            cls.herald = harness.Herald(extra_config=(
                '\n[delivery]\nreturn_path_domain = "%s"\nroutes = ["%s 127.0.0.1:%d"]\n'
                'retry_schedule = "1s"\nmax_delivery_seconds = 120\n'
                'connect_timeout_seconds = 2\n'
                '\n[feedback]\nlisten = "127.0.0.1:0"\n'
                % (RETURN_PATH_DOMAIN, cls.RELAY_DOMAIN, postfix_port)))
            cls.herald.start()
            # Postfix relays everything to the sink, except mail for the return-path domain
            # (its bounces), which goes to herald's feedback MX.
            cls.postfix = harness.Postfix(
                mode="relay", port=postfix_port, relayhost="127.0.0.1:%d" % cls.sink.port,
                transports={RETURN_PATH_DOMAIN: cls.herald.feedback}).start()
            cls.creds = cls.herald.create_account("relay")
            cls.herald.production("relay")
            cls.herald.verify("relay", SENDER)
            cls.client = cls.herald.boto(cls.creds)
        except BaseException:
            if cls.herald:
                sys.stderr.write("herald log:\n%s\n" % cls.herald.log_tail())
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.herald is not None:
                rc = cls.herald.stop()
                if rc not in (0, None):
                    raise AssertionError("herald exited %s on SIGTERM:\n%s"
                                         % (rc, cls.herald.log_tail()))
        finally:
            if cls.herald is not None:
                cls.herald.cleanup()
            for peer in (cls.postfix, cls.sink):
                if peer is not None:
                    peer.stop()
            if cls.sink is not None:
                cls.sink.cleanup()
            cls.herald = cls.postfix = cls.sink = None

    def test_postfix_bounce_becomes_the_bounce_event_of_the_original(self):
        subject = "relayed %s" % os.urandom(4).hex()
        rcpt = "nobody@" + self.RELAY_DOMAIN
        other = "someone@" + self.RELAY_DOMAIN
        mid = self.client.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [other, rcpt]},
            Content=simple(subject))["MessageId"]

        # Postfix accepted the message (a Delivery for herald), then could not deliver it.
        self.wait_event_delivery(mid, rcpt)
        e = self.wait_event(mid, "Bounce", rcpt, timeout=60)
        b = e["bounce"]
        self.assertEqual(e["mail"]["messageId"], mid)
        self.assertEqual(e["mail"]["destination"], [other, rcpt])
        self.assertEqual(recipients_of(e), [rcpt], "only the recipient the bounce is about")
        r = b["bouncedRecipients"][0]
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.1.1")
        self.assertIn("no such user here", r.get("diagnosticCode", ""))
        self.assertEqual(b["bounceType"], "Permanent", b)
        self.assertEqual(b["bounceSubType"], "NoEmail", b)
        # Postfix names itself (myhostname) as the reporting MTA, not herald.
        self.assertEqual(b.get("reportingMTA"), "dns; mx.example.test")
        self.assertTrue(b.get("feedbackId"))

        # The report travelled as real mail: Postfix's log shows its bounce leaving for the
        # VERP address at herald's feedback MX and being accepted there.
        relayed = (r"to=<b-[a-z2-7]+@%s>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d,"
                   r".*status=sent \(250 2\.0\.0 Ok: queued as [0-9a-f-]+\)"
                   % (RETURN_PATH_DOMAIN.replace(".", r"\."), self.herald.feedback_addr[1]))
        log = self.postfix.maillog_matching(relayed)
        self.assertRegex(log, relayed)
        # Both recipients bounced at the sink: each gets its own event, named by its token.
        e2 = self.wait_event(mid, "Bounce", other, timeout=60)
        self.assertEqual(recipients_of(e2), [other])
        self.assertNotEqual(e2["bounce"]["feedbackId"], b["feedbackId"])
        counters = self.counters()
        self.assertEqual(counters["outcomes"]["bounce"], 2)
        self.assertEqual(counters["correlated_by"]["verp"], 2)
        self.assertEqual(counters["outcomes"]["orphan"], 0)

    def wait_event_delivery(self, mid, rcpt):
        def delivered():
            return [e for e in feedback_events(self.herald, mid, "Delivery")
                    if rcpt in e["delivery"].get("recipients", [])]

        try:
            harness.wait_until(delivered, 30, "Postfix to accept %s" % rcpt)
        except AssertionError:
            self.fail("herald did not deliver to the Postfix relay; events %s\nherald log:\n%s"
                      "\nPostfix log:\n%s" % (self.herald.events_for(mid), self.herald.log_tail(),
                                              self.postfix.maillog()[-3000:]))


if __name__ == "__main__":
    harness.main()
