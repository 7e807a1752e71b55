#!/usr/bin/python3
"""`herald classify FILE...`, the real binary on small emails written here: an RFC 3464
bounce report with two failed recipients (LF and CRLF line ends), an ARF complaint, an
RFC 3834 auto-reply and an ordinary message. Checks the JSON shape that bench/ and
operators rely on (one object per line, in argument order, "file" first among equals),
the classification of each, standard input as "-", and that an unreadable file is
reported on stderr, skipped, and makes the exit status 1 while the others are still
printed. Also the `herald` front end: classify runs in it, everything else in herald-core."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

DSN = """\
Return-Path: <>
Received: by mx.example.net (Postfix) id 4F1A2B3C; Mon,  2 Mar 2026 10:00:01 +0000 (UTC)
Date: Mon,  2 Mar 2026 10:00:01 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: b-0100abc@bounce.herald.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="=_report_boundary_7"
Message-Id: <20260302100001.4F1A2B3C@mx.example.net>

This is a MIME-encapsulated message.

--=_report_boundary_7
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@example.org>: host in.example.org[192.0.2.25] said: 550 5.1.1
    <gone@example.org>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

<full@example.org>: host in.example.org[192.0.2.25] said: 552 5.2.2
    <full@example.org>: Mailbox full, quota exceeded (in reply to RCPT TO command)

--=_report_boundary_7
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F1A2B3C
Arrival-Date: Mon,  2 Mar 2026 09:59:58 +0000 (UTC)

Final-Recipient: rfc822; gone@example.org
Original-Recipient: rfc822;gone@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; in.example.org
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected:
    User unknown in virtual mailbox table

Final-Recipient: rfc822; full@example.org
Action: failed
Status: 5.2.2
Remote-MTA: dns; in.example.org
Diagnostic-Code: smtp; 552 5.2.2 <full@example.org>: Mailbox full, quota exceeded

--=_report_boundary_7
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <b-0100abc@bounce.herald.test>
From: Sender <sender@herald.test>
To: gone@example.org, full@example.org
Subject: Your invoice
Message-ID: <0100abc-classify-test@email.herald.test>
Date: Mon,  2 Mar 2026 09:59:57 +0000

--=_report_boundary_7--
"""

ARF = """\
From: <abuse-reports@isp.example>
Date: Tue, 3 Mar 2026 08:15:00 +0000
Subject: Complaint about a message from 192.0.2.10
To: <fbl@herald.test>
Message-ID: <fbl-20260303-1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="arf_part_boundary"

--arf_part_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

A subscriber of ours marked the attached message as spam.

--arf_part_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: IspFeedbackLoop/2.3
Version: 1
Original-Mail-From: <b-0100def@bounce.herald.test>
Original-Rcpt-To: <reader@isp.example>
Arrival-Date: Tue, 3 Mar 2026 08:00:00 +0000
Source-IP: 192.0.2.10
Reported-Domain: herald.test

--arf_part_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <b-0100def@bounce.herald.test>
From: Newsletter <news@herald.test>
To: reader@isp.example
Subject: March offers
Message-ID: <0100def-classify-test@email.herald.test>
Date: Tue, 3 Mar 2026 07:59:59 +0000
MIME-Version: 1.0
Content-Type: text/plain

Our offers for March.

--arf_part_boundary--
"""

AUTO_REPLY = """\
From: Reader <reader@example.org>
To: Sender <sender@herald.test>
Date: Wed, 4 Mar 2026 12:00:00 +0000
Subject: Out of office: Your invoice
Auto-Submitted: auto-replied
In-Reply-To: <0100abc-classify-test@email.herald.test>
Message-ID: <ooo-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I am out of the office until 16 March with no access to email.
For urgent matters please contact the front desk.
"""

PLAIN = """\
From: Friend <friend@example.org>
To: Sender <sender@herald.test>
Date: Thu, 5 Mar 2026 09:00:00 +0000
Subject: Lunch on Friday?
Message-ID: <lunch-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Are you free for lunch on Friday? The usual place at noon.
"""

TOP_KEYS = {"file", "kind", "format", "reporting_mta", "arrival_date", "subject", "from",
            "recipients", "original"}
RECIPIENT_KEYS = {"address", "original_recipient", "reason", "hard", "permanent",
                  "bounce_type", "bounce_sub_type", "delay_type", "status", "action",
                  "diagnostic_code", "reply_code", "remote_mta", "smtp_command",
                  "last_attempt_date"}
ORIGINAL_KEYS = {"message_id", "from", "to", "subject", "return_path", "date",
                 "referenced_ids"}
COMPLAINT_KEYS = {"feedback_type", "user_agent", "version", "arrival_date", "source_ip",
                  "original_mail_from", "original_rcpt_to", "reported_domain", "redacted"}


class Classify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="herald-classify-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text, crlf=False):
        path = os.path.join(self.tmp, name)
        data = text.replace("\n", "\r\n") if crlf else text
        with open(path, "wb") as f:
            f.write(data.encode("utf-8"))
        return path

    def run_classify(self, *args, stdin=None):
        p = subprocess.run([harness.HERALD_BIN, "classify", *args], input=stdin,
                           capture_output=True, timeout=60)
        lines = p.stdout.decode("utf-8").splitlines()
        return p.returncode, [json.loads(line) for line in lines], p.stderr.decode("utf-8")

    def check_shape(self, obj):
        self.assertEqual(set(obj) - {"complaint"}, TOP_KEYS)
        self.assertEqual("complaint" in obj, obj["kind"] == "complaint")
        self.assertIsInstance(obj["recipients"], list)
        for r in obj["recipients"]:
            self.assertEqual(set(r), RECIPIENT_KEYS)
            self.assertIsInstance(r["hard"], bool)
            self.assertIsInstance(r["reply_code"], int)
        self.assertEqual(set(obj["original"]), ORIGINAL_KEYS)
        self.assertIsInstance(obj["original"]["referenced_ids"], list)
        if "complaint" in obj:
            self.assertEqual(set(obj["complaint"]), COMPLAINT_KEYS)

    def check_dsn(self, obj):
        self.check_shape(obj)
        self.assertEqual(obj["kind"], "bounce")
        self.assertEqual(obj["format"], "rfc3464")
        self.assertIn("mx.example.net", obj["reporting_mta"])
        self.assertEqual(obj["subject"], "Undelivered Mail Returned to Sender")
        rs = obj["recipients"]
        self.assertEqual([r["address"] for r in rs], ["gone@example.org", "full@example.org"])
        gone, full = rs
        self.assertEqual(gone["reason"], "user_unknown")
        self.assertIs(gone["hard"], True)
        self.assertEqual(gone["bounce_type"], "Permanent")
        self.assertEqual(gone["bounce_sub_type"], "NoEmail")
        self.assertEqual(gone["status"], "5.1.1")
        self.assertEqual(gone["action"], "failed")
        self.assertEqual(gone["reply_code"], 550)
        self.assertIn("User unknown in virtual", gone["diagnostic_code"])
        self.assertNotIn("\n", gone["diagnostic_code"])
        self.assertIn("in.example.org", gone["remote_mta"])
        self.assertEqual(full["reason"], "mailbox_full")
        self.assertIs(full["hard"], False)
        self.assertEqual(full["bounce_type"], "Transient")
        self.assertEqual(full["bounce_sub_type"], "MailboxFull")
        self.assertEqual(full["status"], "5.2.2")
        self.assertEqual(full["reply_code"], 552)
        self.assertEqual(obj["original"]["message_id"], "0100abc-classify-test@email.herald.test")
        self.assertIn("0100abc-classify-test@email.herald.test",
                      obj["original"]["referenced_ids"])

    def test_bounce_report(self):
        path = self.write("dsn.eml", DSN)
        rc, out, err = self.run_classify(path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out), 1)
        self.assertEqual(out[0]["file"], path)
        self.check_dsn(out[0])

    def test_crlf_reads_the_same(self):
        lf = self.write("dsn-lf.eml", DSN)
        crlf = self.write("dsn-crlf.eml", DSN, crlf=True)
        rc, out, err = self.run_classify(lf, crlf)
        self.assertEqual(rc, 0, err)
        self.assertEqual([o["file"] for o in out], [lf, crlf])
        self.check_dsn(out[1])
        del out[0]["file"], out[1]["file"]
        self.assertEqual(out[0], out[1])

    def test_complaint(self):
        rc, out, err = self.run_classify(self.write("arf.eml", ARF))
        self.assertEqual(rc, 0, err)
        obj = out[0]
        self.check_shape(obj)
        self.assertEqual(obj["kind"], "complaint")
        self.assertEqual(obj["format"], "arf")
        c = obj["complaint"]
        self.assertEqual(c["feedback_type"], "abuse")
        self.assertEqual(c["user_agent"], "IspFeedbackLoop/2.3")
        self.assertEqual(c["source_ip"], "192.0.2.10")
        self.assertEqual(c["original_rcpt_to"], ["reader@isp.example"])
        self.assertIn("b-0100def@bounce.herald.test", c["original_mail_from"])
        self.assertIs(c["redacted"], False)
        self.assertEqual(obj["original"]["message_id"], "0100def-classify-test@email.herald.test")

    def test_auto_reply_and_ordinary_mail(self):
        ooo = self.write("ooo.eml", AUTO_REPLY)
        plain = self.write("plain.eml", PLAIN)
        rc, out, err = self.run_classify(ooo, plain)
        self.assertEqual(rc, 0, err)
        self.assertEqual([o["file"] for o in out], [ooo, plain])
        for o in out:
            self.check_shape(o)
            self.assertEqual(o["recipients"], [])
        self.assertEqual(out[0]["kind"], "auto_reply")
        self.assertEqual(out[1]["kind"], "not_feedback")

    def test_stdin(self):
        rc, out, err = self.run_classify("-", stdin=DSN.encode())
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out), 1)
        self.assertEqual(out[0]["file"], "-")
        self.check_dsn(out[0])

    def test_unreadable_file_is_reported_and_skipped(self):
        a = self.write("a.eml", PLAIN)
        b = self.write("b.eml", DSN)
        missing = os.path.join(self.tmp, "missing.eml")
        rc, out, err = self.run_classify(a, missing, self.tmp, b)
        self.assertEqual(rc, 1)
        self.assertEqual([o["file"] for o in out], [a, b])
        for o in out:
            self.check_shape(o)
        self.assertIn(missing, err)
        self.assertIn("No such file", err)
        self.assertIn(self.tmp + ":", err)  # a directory cannot be read either
        self.assertEqual(len(err.strip().splitlines()), 2)

    def test_no_file_is_a_usage_error(self):
        rc, out, err = self.run_classify()
        self.assertEqual(rc, 2)
        self.assertEqual(out, [])
        self.assertIn("at least one FILE", err)

    def test_options(self):
        p = subprocess.run([harness.HERALD_BIN, "classify", "--help"], capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"Usage: herald classify", p.stdout)
        rc, out, err = self.run_classify("--bogus", self.write("a.eml", DSN))
        self.assertEqual((rc, out), (2, []))
        self.assertIn("unknown option --bogus", err)
        # After "--" every argument is a file, even one that looks like an option.
        dash = self.write("-x.eml", DSN)
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            rc, out, err = self.run_classify("--", "-x.eml")
        finally:
            os.chdir(cwd)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["file"], "-x.eml")
        self.check_dsn(out[0])
        self.assertTrue(os.path.exists(dash))


class FrontEnd(unittest.TestCase):
    """`herald` runs classify itself and execs herald-core, from its own directory, for
    every other subcommand (same process, same arguments)."""

    def test_other_subcommands_reach_herald_core(self):
        p = subprocess.run([harness.HERALD_BIN, "--help"], capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for sub in (b"serve", b"account", b"classify", b"suppression"):
            self.assertIn(sub, p.stdout)
        p = subprocess.run([harness.HERALD_BIN, "config", "reference"], capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"| `region` |", p.stdout)

    def test_missing_herald_core_is_reported(self):
        tmp = tempfile.mkdtemp(prefix="herald-front-")
        try:
            alone = os.path.join(tmp, "herald")
            shutil.copy(harness.HERALD_BIN, alone)
            p = subprocess.run([alone, "--help"], capture_output=True, timeout=60,
                               env={"PATH": tmp})
            self.assertEqual(p.returncode, 127)
            self.assertIn(b"cannot run herald-core", p.stderr)
            # classify needs nothing else.
            path = os.path.join(tmp, "a.eml")
            with open(path, "w") as f:
                f.write(DSN)
            p = subprocess.run([alone, "classify", path], capture_output=True, timeout=60,
                               env={"PATH": tmp})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["kind"], "bounce")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
