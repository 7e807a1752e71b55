"""boto3 (Debian python3-boto3 1.26) against herald's SESv2 API.

Sends Simple (extra headers + attachment), Raw and Template (inline TemplateContent)
mail to every mailbox simulator address and checks the events field by field; GetAccount
in the sandbox and after `herald account production`; identities create/get/list
(paginated)/delete; SigV4 failures (wrong secret, unknown key, disabled key, wrong
region, clock skew).
"""

import base64
import contextlib
import datetime
import json
import types
from unittest import mock

import botocore.auth
from botocore.exceptions import ClientError

import harness
from harness import (DOMAIN_SENDER, SENDER, SENDER_DOMAIN, SIM_ADDRS, SIM_LABELED,
                     VERIFIED_RCPT, ExtraBody, client_error)

API_OPS = {"SendEmail", "SendRawEmail", "SendTemplatedEmail"}
ATTACHMENT = b"attachment bytes \x00\x01\x02 end\n"


def header_value(mail, name):
    vals = [h["value"] for h in mail["headers"] if h["name"].lower() == name.lower()]
    return vals


class Boto3Send(harness.HeraldCase):
    def setUp(self):
        self.c = self.herald.boto(self.creds)

    def test_simple_with_headers_and_attachment(self):
        extra = {"Content": {"Simple": {
            "Headers": [{"Name": "X-Integ-Test", "Value": "simple-1"},
                        {"Name": "X-Customer", "Value": "acme 42"}],
            "Attachments": [{"RawContent": base64.b64encode(ATTACHMENT).decode(),
                             "FileName": "hello.bin",
                             "ContentType": "application/octet-stream"}]}}}
        cc = [SIM_LABELED[0]]
        bcc = [SIM_LABELED[1]]
        with ExtraBody(self.c, "SendEmail", extra):
            r = self.c.send_email(
                FromEmailAddress=SENDER,
                Destination={"ToAddresses": SIM_ADDRS, "CcAddresses": cc, "BccAddresses": bcc},
                Content={"Simple": {"Subject": {"Data": "Simple from boto3"},
                                    "Body": {"Text": {"Data": "plain body"},
                                             "Html": {"Data": "<p>html body</p>"}}}})
        mid = r["MessageId"]
        self.assertTrue(mid)
        evs = self.check_message_events(
            self.herald, mid, source=SENDER, destination=SIM_ADDRS + cc + bcc,
            from_domain=SENDER_DOMAIN, operations=API_OPS, subject="Simple from boto3",
            header_names=("X-Integ-Test", "X-Customer"), from_header=SENDER,
            to_header=SIM_ADDRS)
        mail = evs[0]["mail"]
        self.assertEqual(header_value(mail, "X-Integ-Test"), ["simple-1"])
        self.assertEqual(header_value(mail, "X-Customer"), ["acme 42"])
        ctype = header_value(mail, "Content-Type")
        self.assertEqual(len(ctype), 1)
        self.assertTrue(ctype[0].lower().startswith("multipart/mixed"), ctype)
        self.assertEqual(header_value(mail, "Bcc"), [], "Bcc must not appear in the header")
        self.assertEqual(mail["commonHeaders"].get("cc"), cc)

    def test_raw(self):
        boundary = "b0undary-integ"
        raw = ("From: News <%s>\r\nTo: %s\r\nSubject: Raw from boto3\r\n"
               "Message-ID: <raw-1@client.example>\r\nX-Raw-Test: yes\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
               "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nraw body\r\n"
               "--%s\r\nContent-Type: application/octet-stream\r\n"
               "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--%s--\r\n"
               % (DOMAIN_SENDER, ", ".join(SIM_LABELED), boundary, boundary, boundary,
                  base64.b64encode(ATTACHMENT).decode(), boundary))
        r = self.c.send_email(FromEmailAddress=DOMAIN_SENDER,
                              Destination={"ToAddresses": SIM_LABELED},
                              Content={"Raw": {"Data": raw.encode()}})
        mid = r["MessageId"]
        evs = self.check_message_events(
            self.herald, mid, source=DOMAIN_SENDER, destination=SIM_LABELED,
            from_domain="domain.example", operations=API_OPS, subject="Raw from boto3",
            header_names=("X-Raw-Test",), from_header="News <%s>" % DOMAIN_SENDER,
            to_header=SIM_LABELED)
        # The client's own Message-ID (SES shows it with or without the angle brackets).
        self.assertEqual(evs[0]["mail"]["commonHeaders"]["messageId"].strip("<>"),
                         "raw-1@client.example")

    def test_raw_recipients_from_headers(self):
        # No Destination: SES takes the recipients from To/Cc/Bcc and the sender from From.
        raw = ("From: %s\r\nTo: %s\r\nCc: %s\r\nSubject: Raw without destination\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
               % (SENDER, SIM_ADDRS[0], SIM_ADDRS[1]))
        r = self.c.send_email(Content={"Raw": {"Data": raw.encode()}})
        self.check_message_events(
            self.herald, r["MessageId"], source=SENDER, destination=SIM_ADDRS[:2],
            from_domain=SENDER_DOMAIN, operations=API_OPS, subject="Raw without destination")

    def test_template_inline(self):
        extra = {"Content": {"Template": {"TemplateContent": {
            "Subject": "Hello {{name}}",
            "Text": "Dear {{name}}, your code is {{code}}.",
            "Html": "<p>Dear {{name}}, your code is <b>{{code}}</b>.</p>"}}}}
        with ExtraBody(self.c, "SendEmail", extra):
            r = self.c.send_email(
                FromEmailAddress=SENDER, Destination={"ToAddresses": SIM_ADDRS},
                Content={"Template": {"TemplateData": json.dumps({"name": "Ada", "code": 7})}})
        self.check_message_events(
            self.herald, r["MessageId"], source=SENDER, destination=SIM_ADDRS,
            from_domain=SENDER_DOMAIN, operations=API_OPS, subject="Hello Ada",
            from_header=SENDER, to_header=SIM_ADDRS)

    def test_email_tags_and_verified_recipient(self):
        r = self.c.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [VERIFIED_RCPT, SIM_ADDRS[0]]},
            EmailTags=[{"Name": "campaign", "Value": "spring-1"}],
            Content={"Simple": {"Subject": {"Data": "tagged"}, "Body": {"Text": {"Data": "x"}}}})
        evs = self.check_message_events(
            self.herald, r["MessageId"], source=SENDER,
            destination=[VERIFIED_RCPT, SIM_ADDRS[0]], from_domain=SENDER_DOMAIN,
            operations=API_OPS, subject="tagged")
        for e in evs:
            self.assertEqual(e["mail"]["tags"].get("campaign"), ["spring-1"])


class Boto3Account(harness.HeraldCase):
    def test_get_account_sandbox_then_production(self):
        acct = self.herald.create_account("prod-candidate")
        c = self.herald.boto(acct)
        a = c.get_account()
        self.assertIs(a["ProductionAccessEnabled"], False)
        self.assertIs(a["SendingEnabled"], True)
        self.assertEqual(a["EnforcementStatus"], "HEALTHY")
        self.assertEqual(a["SendQuota"]["Max24HourSend"], 100000.0)
        self.assertEqual(a["SendQuota"]["MaxSendRate"], 1000.0)
        self.assertEqual(a["SendQuota"]["SentLast24Hours"], 0.0)

        self.herald.production("prod-candidate")
        a = c.get_account()
        self.assertIs(a["ProductionAccessEnabled"], True)
        self.assertEqual(a["SendQuota"]["Max24HourSend"], 500000.0)
        self.assertEqual(a["SendQuota"]["MaxSendRate"], 2000.0)

    def test_sent_last_24_hours_counts_recipients(self):
        # Per recipient; the mailbox simulator counts against the rate, not the daily quota.
        acct = self.herald.create_account("counter")
        self.herald.verify("counter", SENDER)
        self.herald.verify("counter", VERIFIED_RCPT)
        self.herald.verify("counter", "second@verified-rcpt.example")
        c = self.herald.boto(acct)
        c.send_email(FromEmailAddress=SENDER,
                     Destination={"ToAddresses": [VERIFIED_RCPT, SIM_ADDRS[0]],
                                  "CcAddresses": ["second@verified-rcpt.example"],
                                  "BccAddresses": [SIM_ADDRS[1]]},
                     Content={"Simple": {"Subject": {"Data": "n"}, "Body": {"Text": {"Data": "n"}}}})
        self.assertEqual(c.get_account()["SendQuota"]["SentLast24Hours"], 2.0)

    def test_identities_create_get_list_delete(self):
        c = self.herald.boto(self.creds)
        r = c.create_email_identity(EmailIdentity="one@ident.example")
        self.assertEqual(r["IdentityType"], "EMAIL_ADDRESS")
        self.assertIs(r["VerifiedForSendingStatus"], False)
        r = c.create_email_identity(EmailIdentity="ident-domain.example")
        self.assertEqual(r["IdentityType"], "DOMAIN")
        self.assertIs(r["VerifiedForSendingStatus"], False)
        c.create_email_identity(EmailIdentity="two@ident.example")

        with self.assertRaises(ClientError) as cm:
            c.create_email_identity(EmailIdentity="one@ident.example")
        self.assertEqual(client_error(cm.exception)[:2], (400, "AlreadyExistsException"))

        g = c.get_email_identity(EmailIdentity="one@ident.example")
        self.assertEqual(g["IdentityType"], "EMAIL_ADDRESS")
        self.assertIs(g["VerifiedForSendingStatus"], False)
        g = c.get_email_identity(EmailIdentity=SENDER)
        self.assertIs(g["VerifiedForSendingStatus"], True)
        self.assertEqual(g.get("VerificationStatus"), "SUCCESS")

        # Pagination: 3 identities from setUpClass + 3 here, pages of 2.
        names, pages, token = [], 0, None
        while True:
            kw = {"PageSize": 2}
            if token:
                kw["NextToken"] = token
            page = c.list_email_identities(**kw)
            pages += 1
            self.assertLessEqual(len(page["EmailIdentities"]), 2)
            for e in page["EmailIdentities"]:
                self.assertIn(e["IdentityType"], ("EMAIL_ADDRESS", "DOMAIN"))
                names.append(e["IdentityName"])
            token = page.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10, "pagination does not end")
        want = sorted([SENDER, "domain.example", VERIFIED_RCPT, "one@ident.example",
                       "ident-domain.example", "two@ident.example"])
        self.assertEqual(sorted(names), want)
        self.assertEqual(len(names), len(set(names)), "no identity twice across pages")
        self.assertEqual(pages, 3)

        with self.assertRaises(ClientError) as cm:
            c.list_email_identities(NextToken="not-a-token")
        self.assertEqual(client_error(cm.exception)[:2], (400, "BadRequestException"))

        c.delete_email_identity(EmailIdentity="one@ident.example")
        with self.assertRaises(ClientError) as cm:
            c.get_email_identity(EmailIdentity="one@ident.example")
        self.assertEqual(client_error(cm.exception)[:2], (404, "NotFoundException"))
        with self.assertRaises(ClientError) as cm:
            c.delete_email_identity(EmailIdentity="one@ident.example")
        self.assertEqual(client_error(cm.exception)[:2], (404, "NotFoundException"))
        listed = [e["IdentityName"]
                  for e in c.list_email_identities(PageSize=100)["EmailIdentities"]]
        self.assertNotIn("one@ident.example", listed)

        # Another account sees none of them.
        other = self.herald.create_account("other-tenant")
        o = self.herald.boto(other)
        self.assertEqual(o.list_email_identities()["EmailIdentities"], [])
        with self.assertRaises(ClientError) as cm:
            o.get_email_identity(EmailIdentity=SENDER)
        self.assertEqual(client_error(cm.exception)[:2], (404, "NotFoundException"))

    def test_unverified_api_identity_cannot_send(self):
        c = self.herald.boto(self.creds)
        c.create_email_identity(EmailIdentity="pending@ident.example")
        with self.assertRaises(ClientError) as cm:
            c.send_email(FromEmailAddress="pending@ident.example",
                         Destination={"ToAddresses": [SIM_ADDRS[0]]},
                         Content={"Simple": {"Subject": {"Data": "s"},
                                             "Body": {"Text": {"Data": "b"}}}})
        self.assertEqual(client_error(cm.exception), (
            400, "MessageRejected",
            "Email address is not verified. The following identities failed the check in "
            "region US-EAST-1: pending@ident.example"))


SIG_MISMATCH = ("The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details.")
BAD_TOKEN = "The security token included in the request is invalid."


class Boto3SigV4(harness.HeraldCase):
    def expect_error(self, client, status, code, message=None, prefix=None):
        with self.assertRaises(ClientError) as cm:
            client.get_account()
        got = client_error(cm.exception)
        self.assertEqual(got[:2], (status, code), got)
        if message is not None:
            self.assertEqual(got[2], message)
        if prefix is not None:
            self.assertTrue(got[2].startswith(prefix), got)

    def test_good_signature(self):
        self.assertIn("SendQuota", self.herald.boto(self.creds).get_account())

    def test_wrong_secret(self):
        secret = self.creds["secret_access_key"]
        wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
        c = self.herald.boto(self.creds, secret=wrong)
        self.expect_error(c, 403, "InvalidSignatureException", message=SIG_MISMATCH)

    def test_unknown_key(self):
        c = self.herald.boto(self.creds, akid="AKIAIOSFODNN7EXAMPLE")
        self.expect_error(c, 403, "UnrecognizedClientException", message=BAD_TOKEN)

    def test_wrong_region(self):
        c = self.herald.boto(self.creds, region="us-west-2")
        self.expect_error(c, 403, "InvalidSignatureException",
                          prefix="Credential should be scoped to a valid region")

    def skewed(self, minutes):
        """Patches the clock of botocore's SigV4 signers (the pure-Python one and, when
        awscrt is installed, the CRT one botocore then prefers) to be `minutes` behind."""
        real = datetime.datetime

        class Skewed(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return real.utcnow() - datetime.timedelta(minutes=minutes)

        fake = types.ModuleType("datetime")
        fake.__dict__.update(datetime.__dict__)
        fake.datetime = Skewed
        stack = contextlib.ExitStack()
        stack.enter_context(mock.patch.object(botocore.auth, "datetime", fake))
        try:
            import botocore.crt.auth as crt_auth
            stack.enter_context(mock.patch.object(crt_auth, "datetime", fake))
        except ImportError:
            pass
        return stack

    def test_clock_skew(self):
        # AWS: "Signature expired: <t> is now earlier than <t'> (<now> - 5 min.)" for a
        # request from the past, "Signature not yet current: ..." for one from the future.
        for minutes, prefix in ((10, "Signature expired: "), (-10, "Signature not yet current: ")):
            c = self.herald.boto(self.creds)
            seen = []
            c.meta.events.register("before-send.sesv2.*",
                                   lambda request, **kw: seen.append(request.headers["X-Amz-Date"]))
            with self.skewed(minutes):
                self.expect_error(c, 403, "InvalidSignatureException", prefix=prefix)
            sent = datetime.datetime.strptime(seen[0].decode(), "%Y%m%dT%H%M%SZ")
            off = (datetime.datetime.utcnow() - sent).total_seconds() / 60
            self.assertAlmostEqual(off, minutes, delta=1, msg="the request was not skewed")
        # Four minutes off is within the allowed skew.
        with self.skewed(4):
            self.assertIn("SendQuota", self.herald.boto(self.creds).get_account())

    def test_key_lifecycle(self):
        acct = self.herald.create_account("keyed")
        key = self.herald.cli_json("account", "key-create", "keyed", "--json")
        akid = key["access_key_id"]
        self.assertNotEqual(akid, acct["access_key_id"])
        creds = dict(acct, access_key_id=akid, secret_access_key=key["secret_access_key"])
        keys = self.herald.cli("account", "keys", "keyed", "--json").stdout
        self.assertIn(akid, keys)
        self.assertIn(acct["access_key_id"], keys)
        self.assertNotIn(key["secret_access_key"], keys, "keys listing must not show secrets")
        c = self.herald.boto(creds)
        self.assertIn("SendQuota", c.get_account())

        self.herald.cli("account", "key-disable", akid)
        self.expect_error(c, 403, "UnrecognizedClientException", message=BAD_TOKEN)
        # The other key of the account still works.
        self.assertIn("SendQuota", self.herald.boto(acct).get_account())
        # SMTP with the disabled key: 535.
        if "smtp_password" in key:
            with self.smtp() as s:
                s.ehlo()
                s.starttls()
                s.ehlo()
                self.assertEqual(s.auth_plain(akid, key["smtp_password"]),
                                 "535 Authentication Credentials Invalid")

        self.herald.cli("account", "key-enable", akid)
        self.assertIn("SendQuota", c.get_account())

        self.herald.cli("account", "key-delete", akid)
        self.expect_error(c, 403, "UnrecognizedClientException", message=BAD_TOKEN)
        self.assertNotIn(akid, self.herald.cli("account", "keys", "keyed", "--json").stdout)


if __name__ == "__main__":
    harness.main()
