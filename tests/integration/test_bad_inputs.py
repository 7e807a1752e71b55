"""A table of hostile and malformed inputs across the SESv2 API and SMTP submission,
each with the exact error SES gives (status + x-amzn-ErrorType + message for the API;
the reply line for SMTP). Where SES's own text is not documented the expectation is a
regular expression (marked re:) and says what must hold.

No bad input may be accepted: the test also checks that not one event was written and
that the spool is unchanged by the whole table.

API requests are crafted by hand (JSON bytes signed with botocore's SigV4Auth) so the
table can send what no SDK would (bad base64, bad JSON, CRLF in fields). SMTP cases use
a raw socket (bare LF/CR, <LF>.<CR><LF> smuggling, pipelining after STARTTLS).
"""

import base64
import http.client
import json
import re
import socket
import ssl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness
from harness import SENDER, SIM, SIM_ADDRS, VERIFIED_RCPT

MAX_BYTES = 1048576  # [sending] max_message_bytes in this test's config

ONE_CONTENT = "Content must contain exactly one of Simple, Raw or Template."
SUBJECT_CRLF = ("Invalid value for Content.Simple.Subject: CR and LF are not allowed (header "
                "injection).")
BARE_CRLF = "554 5.6.11 Bare <CR> or <LF> in message data; message refused"
NOT_VERIFIED = ("Email address is not verified. The following identities failed the check "
                "in region US-EAST-1: ")


def re_(pattern):
    return re.compile(pattern)


def simple(frm=SENDER, to=(SIM_ADDRS[0],), subject="s", text="t", **extra):
    body = {"Destination": {"ToAddresses": list(to)},
            "Content": {"Simple": {"Subject": {"Data": subject},
                                   "Body": {"Text": {"Data": text}}}}}
    if frm is not None:
        body["FromEmailAddress"] = frm
    for k, v in extra.items():
        harness._deep_merge(body, {k: v})
    return body


def raw(message, frm=SENDER, to=(SIM_ADDRS[0],), data=None):
    body = {"Content": {"Raw": {"Data": data if data is not None
                                else base64.b64encode(message.encode()).decode()}}}
    if frm is not None:
        body["FromEmailAddress"] = frm
    if to is not None:
        body["Destination"] = {"ToAddresses": list(to)}
    return body


def plain_msg(frm=SENDER, to=SIM_ADDRS[0], extra="", body="body\r\n", subject="s"):
    return "From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s" % (frm, to, subject, extra, body)


# name, request body (dict, or bytes sent as is), (status, code, message | re)
API_CASES = [
    ("unverified From", simple(frm="stranger@unverified.example"),
     (400, "MessageRejected", NOT_VERIFIED + "stranger@unverified.example")),
    ("sandbox recipient not verified", simple(to=["someone@example.com"]),
     (400, "MessageRejected", NOT_VERIFIED + "someone@example.com")),
    ("sandbox: verified and simulator recipients pass, one unverified fails",
     simple(to=[VERIFIED_RCPT, SIM_ADDRS[0], "other@example.org"]),
     (400, "MessageRejected", NOT_VERIFIED + "other@example.org")),
    ("unverified From and recipient: all listed",
     simple(frm="stranger@unverified.example", to=["someone@example.com"]),
     (400, "MessageRejected",
      NOT_VERIFIED + "stranger@unverified.example, someone@example.com")),
    # domain.example is verified; a name that merely ends with it is another domain.
    ("look-alike of a verified domain", simple(frm="x@evildomain.example"),
     (400, "MessageRejected", NOT_VERIFIED + "x@evildomain.example")),
    ("missing From (Simple)", simple(frm=None),
     (400, "BadRequestException", "Missing required parameter: FromEmailAddress.")),
    ("missing Content", {"FromEmailAddress": SENDER,
                         "Destination": {"ToAddresses": [SIM_ADDRS[0]]}},
     (400, "BadRequestException", "Missing required parameter: Content.")),
    ("two kinds of Content", dict(simple(), Content={
        "Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
        "Raw": {"Data": base64.b64encode(plain_msg().encode()).decode()}}),
     (400, "BadRequestException", ONE_CONTENT)),
    ("no recipients", simple(to=[]),
     (400, "BadRequestException", "Destination must contain at least one recipient address.")),
    ("invalid To address", simple(to=["not-an-address"]),
     (400, "BadRequestException", "Illegal address in Destination.ToAddresses[0]: missing '@' "
                                  "in address 'not-an-address'")),
    ("invalid From address", simple(frm="sender@@verified.example"),
     (400, "BadRequestException", "Illegal address in FromEmailAddress: missing domain after '@'")),
    ("To with a space in the domain", simple(to=["a@exa mple.com"]),
     (400, "BadRequestException", re_(r"^Illegal address in Destination\.ToAddresses\[0\]: "))),
    ("IDN: 8-bit local part (SES takes 7-bit only)",
     simple(to=["j\u00f6rg@" + SIM]),
     (400, "BadRequestException", "Illegal address in Destination.ToAddresses[0]: non-ASCII "
                                  "local part 'j\u00f6rg' (SMTPUTF8 is not supported)")),
    ("51 recipients", simple(to=["success+%d@%s" % (i, SIM) for i in range(51)]),
     (400, "BadRequestException", "Recipient count exceeds 50.")),
    ("header injection via Subject",
     simple(subject="Hello\r\nBcc: victim@example.com"),
     (400, "BadRequestException", SUBJECT_CRLF)),
    ("header injection via Subject (bare LF)", simple(subject="Hello\nBcc: victim@example.com"),
     (400, "BadRequestException", SUBJECT_CRLF)),
    ("header injection via Headers value",
     simple(Content={"Simple": {"Headers": [{"Name": "X-Tag",
                                             "Value": "a\r\nBcc: victim@example.com"}]}}),
     (400, "BadRequestException", "Invalid value for Content.Simple.Headers[0].Value: CR and LF "
                                  "are not allowed (header injection).")),
    ("invalid header name", simple(Content={"Simple": {"Headers": [
        {"Name": "X Bad:Name", "Value": "v"}]}}),
     (400, "BadRequestException", "Invalid header name in Content.Simple.Headers[0].Name: 1 to "
                                  "126 printable ASCII characters other than ':' are required.")),
    ("16 custom headers (max 15)", simple(Content={"Simple": {"Headers": [
        {"Name": "X-H%d" % i, "Value": "v"} for i in range(16)]}}),
     (400, "BadRequestException",
      "Too many headers in Content.Simple.Headers: at most 15 are allowed.")),
    ("CRLF in FromEmailAddress", simple(frm=SENDER + "\r\nBcc: victim@example.com"),
     (400, "BadRequestException", "Invalid address in FromEmailAddress: CR and LF are not "
                                  "allowed (header injection).")),
    ("bad base64 in Raw.Data", raw("", data="!!!! not base64 ****"),
     (400, "BadRequestException", "Invalid value for Content.Raw.Data: not valid base64.")),
    ("Raw without a From header and no FromEmailAddress",
     raw("To: %s\r\nSubject: s\r\n\r\nbody\r\n" % SIM_ADDRS[0], frm=None),
     (400, "BadRequestException", "Missing required header 'From'.")),
    ("Raw From header not verified",
     raw(plain_msg(frm="stranger@unverified.example"), frm=None),
     (400, "MessageRejected", NOT_VERIFIED + "stranger@unverified.example")),
    ("oversized Raw message", raw(plain_msg(body="x" * 76 + "\r\n") +
                                  ("y" * 998 + "\r\n") * (MAX_BYTES // 1000 + 10)),
     (400, "MessageRejected", re_(r"^Message length is more than %d bytes long: '\d+'\.$"
                                  % MAX_BYTES))),
    ("TemplateData not JSON", {"FromEmailAddress": SENDER,
                               "Destination": {"ToAddresses": [SIM_ADDRS[0]]},
                               "Content": {"Template": {
                                   "TemplateContent": {"Subject": "s", "Text": "{{a}}"},
                                   "TemplateData": "{not json"}}},
     (400, "BadRequestException",
      "Invalid value for Content.Template.TemplateData: must be a JSON object.")),
    ("EmailTags name with illegal characters",
     simple(EmailTags=[{"Name": "bad name!", "Value": "v"}]),
     (400, "BadRequestException", "Invalid value for EmailTags[0].Name: 1 to 256 ASCII "
                                  "letters, digits, '_' or '-' are required.")),
    ("body is not JSON", b"{\"FromEmailAddress\": ",
     (400, "BadRequestException", "The request body is not valid JSON.")),
    ("field of the wrong type", {"FromEmailAddress": ["a@b.c"], "Content": {}},
     (400, "BadRequestException", re_(r"^(Invalid value for FromEmailAddress|Content must)"))),
]


class ApiRequests:
    def __init__(self, herald, creds):
        self.herald = herald
        self.creds = Credentials(creds["access_key_id"], creds["secret_access_key"])

    def call(self, method, path, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = self.herald.endpoint + path
        req = AWSRequest(method=method, url=url, data=data,
                         headers={"Content-Type": "application/json"})
        SigV4Auth(self.creds, "ses", "us-east-1").add_auth(req)
        host, port = self.herald.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(method, path, body=data, headers=dict(req.headers.items()))
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
        finally:
            conn.close()


def error_of(headers, payload):
    code = headers.get("x-amzn-errortype", "")
    code = code.split(":", 1)[0]
    code = code.rsplit("#", 1)[-1]
    try:
        msg = json.loads(payload).get("message")
    except (ValueError, AttributeError):
        msg = None
    return code, msg


class BadInputs(harness.HeraldCase):
    EXTRA_CONFIG = "max_message_bytes = %d\n" % MAX_BYTES

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.events_before = len(cls.herald.events())

    @classmethod
    def tearDownClass(cls):
        try:
            after = cls.herald.events()
            if len(after) != cls.events_before:
                raise AssertionError("bad inputs produced events: %s"
                                     % [(e.get("eventType"), e.get("mail", {}).get("destination"))
                                        for e in after[cls.events_before:]])
        finally:
            super().tearDownClass()

    def check(self, expected, status, code, msg, what):
        want_status, want_code, want_msg = expected
        self.assertEqual((status, code), (want_status, want_code), "%s: got %r" % (what, msg))
        if isinstance(want_msg, re.Pattern):
            self.assertIsInstance(msg, str, what)
            self.assertRegex(msg, want_msg, what)
        else:
            self.assertEqual(msg, want_msg, what)

    def test_api_table(self):
        self.assertGreaterEqual(len(API_CASES) + len(SMTP_CASES), 30)
        api = ApiRequests(self.herald, self.creds)
        for name, body, expected in API_CASES:
            with self.subTest(api=name):
                status, headers, payload = api.call("POST", "/v2/email/outbound-emails", body)
                code, msg = error_of(headers, payload)
                self.check(expected, status, code, msg, name)
                self.assertTrue(headers.get("x-amzn-requestid"), "x-amzn-RequestId missing")
                self.assertTrue(headers.get("content-type", "").startswith("application/json"))

    def test_api_unknown_route(self):
        api = ApiRequests(self.herald, self.creds)
        status, headers, payload = api.call("GET", "/v2/email/no-such-thing", b"")
        self.assertIn(status, (400, 404))
        self.assertTrue(headers.get("x-amzn-errortype"), headers)

    def test_api_unsigned(self):
        host, port = self.herald.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", "/v2/email/account")
            resp = conn.getresponse()
            payload = resp.read()
            code, _msg = error_of({k.lower(): v for k, v in resp.getheaders()}, payload)
            self.assertEqual((resp.status, code), (403, "MissingAuthenticationTokenException"))
        finally:
            conn.close()

    def test_smtp_table(self):
        for name, fn, expected in SMTP_CASES:
            with self.subTest(smtp=name):
                got = fn(self)
                if isinstance(expected, re.Pattern):
                    self.assertRegex(got, expected, name)
                else:
                    self.assertEqual(got, expected, name)

    # -- SMTP helpers --------------------------------------------------------------------

    def authed(self):
        s = self.smtp()
        s.login(self.creds)
        return s

    def transaction(self, sender, rcpts, message):
        """The first refusal in a whole transaction, or the final reply."""
        with self.authed() as s:
            return s.send_mail(sender, rcpts, message)

    def data_raw(self, payload, sender=SENDER, rcpts=(SIM_ADDRS[0],)):
        """Sends `payload` as is after DATA's 354 and returns every reply that follows
        within a short window (joined by ' | '), so a smuggled second message shows up."""
        with self.authed() as s:
            r = s.last("MAIL FROM:<%s>" % sender)
            if not r.startswith("250"):
                return r
            for rc in rcpts:
                r = s.last("RCPT TO:<%s>" % rc)
                if not r.startswith("250"):
                    return r
            r = s.last("DATA")
            if not r.startswith("354"):
                return r
            s.send(payload)
            replies = [s.reply()[1][-1]]
            s.sock.settimeout(1.0)
            try:
                while True:
                    replies.append(s.reply()[1][-1])
            except (socket.timeout, ConnectionError, ssl.SSLError, OSError):
                pass
            return " | ".join(replies)


def _smtp_mail_before_auth(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.last("MAIL FROM:<%s>" % SENDER)


def _smtp_mail_before_ehlo(t):
    with t.smtp() as s:
        return s.last("MAIL FROM:<%s>" % SENDER)


def _smtp_bad_password(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.auth_plain(t.creds["smtp_username"], t.creds["smtp_password"][:-2] + "xx")


def _smtp_bad_user(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.auth_login("AKIAIOSFODNN7EXAMPLE", t.creds["smtp_password"])


def _smtp_api_secret_as_password(t):
    # The SMTP password is derived from the secret; the secret itself must not work.
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.auth_plain(t.creds["smtp_username"], t.creds["secret_access_key"])


def _smtp_auth_bad_base64(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.last("AUTH PLAIN %%%not-base64%%%")


def _smtp_auth_unknown_mech(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        return s.last("AUTH CRAM-MD5")


def _smtp_auth_cancel(t):
    with t.smtp() as s:
        s.ehlo()
        s.starttls()
        s.ehlo()
        code, _ = s.cmd("AUTH LOGIN")
        if code != 334:
            return "AUTH LOGIN -> %d" % code
        return s.last("*")


def _smtp_auth_before_tls(t):
    with t.smtp() as s:
        s.ehlo()
        token = base64.b64encode(("\0%s\0%s" % (t.creds["smtp_username"],
                                                t.creds["smtp_password"])).encode()).decode()
        return s.last("AUTH PLAIN " + token)


def _smtp_unknown_command(t):
    with t.authed() as s:
        return s.last("FROBNICATE now")


def _smtp_rcpt_before_mail(t):
    with t.authed() as s:
        return s.last("RCPT TO:<%s>" % SIM_ADDRS[0])


def _smtp_data_before_rcpt(t):
    with t.authed() as s:
        s.last("MAIL FROM:<%s>" % SENDER)
        return s.last("DATA")


def _smtp_nested_mail(t):
    with t.authed() as s:
        s.last("MAIL FROM:<%s>" % SENDER)
        return s.last("MAIL FROM:<%s>" % SENDER)


def _smtp_bad_mail_from(t):
    with t.authed() as s:
        return s.last("MAIL FROM:<not-an-address>")


def _smtp_bad_rcpt(t):
    with t.authed() as s:
        s.last("MAIL FROM:<%s>" % SENDER)
        return s.last("RCPT TO:<bad@@example.com>")


def _smtp_8bit_rcpt(t):
    with t.authed() as s:
        s.last("MAIL FROM:<%s>" % SENDER)
        s.send("RCPT TO:<j\u00f6rg@%s>\r\n" % SIM)
        return s.reply()[1][-1]


def _smtp_long_command(t):
    with t.authed() as s:
        return s.last("NOOP " + "x" * 4096)


def _smtp_unverified_from(t):
    return t.transaction("stranger@unverified.example", [SIM_ADDRS[0]],
                         plain_msg(frm="stranger@unverified.example"))


def _smtp_unverified_rcpt(t):
    return t.transaction(SENDER, ["someone@example.com"], plain_msg(to="someone@example.com"))


def _smtp_unverified_header_from(t):
    # Envelope sender verified, From: header not: SES checks both.
    return t.transaction(SENDER, [SIM_ADDRS[0]], plain_msg(frm="stranger@unverified.example"))


def _smtp_51_rcpts(t):
    rcpts = ["success+%d@%s" % (i, SIM) for i in range(51)]
    return t.transaction(SENDER, rcpts, plain_msg())


def _smtp_no_from_header(t):
    return t.transaction(SENDER, [SIM_ADDRS[0]],
                         "To: %s\r\nSubject: s\r\n\r\nbody\r\n" % SIM_ADDRS[0])


def _smtp_oversized(t):
    big = plain_msg(body=("z" * 998 + "\r\n") * (MAX_BYTES // 1000 + 10))
    return t.transaction(SENDER, [SIM_ADDRS[0]], big)


def _smtp_size_param(t):
    with t.authed() as s:
        return s.last("MAIL FROM:<%s> SIZE=%d" % (SENDER, MAX_BYTES * 2))


def _smtp_bare_lf(t):
    return t.data_raw(plain_msg().encode() + b"line one\nline two\r\n.\r\n")


def _smtp_bare_cr(t):
    return t.data_raw(plain_msg().encode() + b"line one\rline two\r\n.\r\n")


def _smtp_lf_dot_crlf_smuggling(t):
    smuggled = ("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n%s.\r\n"
                % (SENDER, SIM_ADDRS[1], plain_msg(to=SIM_ADDRS[1], subject="smuggled")))
    return t.data_raw(plain_msg().encode() + b"innocent\n.\r\n" + smuggled.encode())


def _smtp_crlf_dot_lf_smuggling(t):
    smuggled = ("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n%s.\r\n"
                % (SENDER, SIM_ADDRS[1], plain_msg(to=SIM_ADDRS[1], subject="smuggled")))
    return t.data_raw(plain_msg().encode() + b"innocent\r\n.\n" + smuggled.encode())


def _smtp_pipelined_after_starttls(t):
    """STARTTLS with junk pipelined behind it: the junk must never be executed, neither in
    clear text nor inside the TLS session (CVE-2011-0411 class)."""
    s = t.smtp()
    try:
        s.ehlo()
        s.send("STARTTLS\r\nMAIL FROM:<%s>\r\n" % SENDER)
        code, lines = s.reply()
        if code != 220:
            return "STARTTLS -> %s" % lines[-1]
        if s.buf:
            return "plaintext after 220: %r" % s.buf
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            s.sock = ctx.wrap_socket(s.sock)
        except (ssl.SSLError, OSError):
            return "connection refused or dropped"  # acceptable: the server hung up
        try:
            code, lines = s.cmd("EHLO again.test")
        except (ConnectionError, ssl.SSLError, OSError):
            return "connection refused or dropped"
        if code != 250:
            return "EHLO in TLS -> %s" % lines[-1]
        # Had the pipelined MAIL been read as if it came inside TLS, its reply would have
        # come first and EHLO's 250 second.
        return "junk ignored"
    finally:
        s.close()


def _smtp_starttls_twice(t):
    with t.authed() as s:
        return s.last("STARTTLS")


SMTP_CASES = [
    ("MAIL before AUTH", _smtp_mail_before_auth, "530 Authentication required"),
    ("MAIL before EHLO", _smtp_mail_before_ehlo, "503 5.5.1 Error: send HELO/EHLO first"),
    ("bad AUTH password", _smtp_bad_password, "535 Authentication Credentials Invalid"),
    ("unknown AUTH user", _smtp_bad_user, "535 Authentication Credentials Invalid"),
    ("API secret as SMTP password", _smtp_api_secret_as_password,
     "535 Authentication Credentials Invalid"),
    ("AUTH PLAIN bad base64", _smtp_auth_bad_base64, "501 5.5.2 Cannot decode response"),
    ("AUTH unknown mechanism", _smtp_auth_unknown_mech,
     "504 5.5.4 Unrecognized authentication type"),
    ("AUTH LOGIN cancelled", _smtp_auth_cancel, "501 5.7.0 Authentication aborted"),
    ("AUTH before TLS", _smtp_auth_before_tls, "530 Must issue a STARTTLS command first"),
    ("unknown command", _smtp_unknown_command, "500 5.5.2 Error: command not recognized"),
    ("RCPT before MAIL", _smtp_rcpt_before_mail, "503 5.5.1 Error: need MAIL command"),
    ("DATA before RCPT", _smtp_data_before_rcpt, "503 5.5.1 Error: need RCPT command"),
    ("nested MAIL", _smtp_nested_mail, "503 5.5.1 Error: nested MAIL command"),
    ("invalid MAIL FROM", _smtp_bad_mail_from,
     re_(r"^553 <?not-an-address>? Invalid email address$")),
    ("invalid RCPT TO", _smtp_bad_rcpt, re_(r"^553 <?bad@@example\.com>? Invalid email address$")),
    ("8-bit RCPT without SMTPUTF8", _smtp_8bit_rcpt,
     "500 5.5.2 Error: invalid characters in command"),
    ("command line too long", _smtp_long_command, "500 5.5.0 Line too long"),
    ("unverified MAIL FROM", _smtp_unverified_from,
     "554 Message rejected: " + NOT_VERIFIED + "stranger@unverified.example"),
    ("sandbox recipient not verified", _smtp_unverified_rcpt,
     "554 Message rejected: " + NOT_VERIFIED + "someone@example.com"),
    ("unverified From header", _smtp_unverified_header_from,
     "554 Message rejected: " + NOT_VERIFIED + "stranger@unverified.example"),
    ("51 recipients", _smtp_51_rcpts, "554 Transaction failed: Recipient count exceeds 50."),
    ("message without From header", _smtp_no_from_header,
     "554 Transaction failed: Missing required header 'From'."),
    ("oversized message", _smtp_oversized, "552 Message is too long."),
    ("MAIL SIZE= over the limit", _smtp_size_param, "552 Message is too long."),
    ("bare LF in DATA", _smtp_bare_lf, BARE_CRLF),
    ("bare CR in DATA", _smtp_bare_cr, BARE_CRLF),
    ("<LF>.<CR><LF> smuggling", _smtp_lf_dot_crlf_smuggling, BARE_CRLF),
    ("<CR><LF>.<LF> smuggling", _smtp_crlf_dot_lf_smuggling, BARE_CRLF),
    ("pipelined command after STARTTLS", _smtp_pipelined_after_starttls,
     re_(r"^(junk ignored|connection refused or dropped)$")),
    ("STARTTLS inside TLS", _smtp_starttls_twice, "554 5.5.1 Error: TLS already active"),
]


if __name__ == "__main__":
    harness.main()
