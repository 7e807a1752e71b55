"""Event publishing to configuration set event destinations, with a real HTTP receiver.

- SNS-style topic: `herald topic subscribe` makes herald POST a SubscriptionConfirmation,
  whose signature is checked against the certificate at SigningCertURL (python3-
  cryptography) and whose SubscribeURL is visited; then every matching event arrives as a
  Notification envelope checked field by field, with its headers; UnsubscribeURL ends it.
- Webhook subscription: the raw event JSON with an X-Herald-Signature HMAC checked here.
- The receiver is down for a while, then up: every event arrives, none is lost.
- herald is killed (SIGKILL) with events pending: they arrive after the restart.
- The event destination API through boto3: create/get/update/delete and its errors.
- A CloudWatchDestination: its counters on GET /metrics with a message-tag dimension.
"""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import harness
from harness import SENDER, SIM

SUCCESS = "success@" + SIM
BOUNCE = "bounce@" + SIM


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; can be stopped and restarted on
    the same port, or told to answer 500."""

    def __init__(self, port=None):
        self.port = port or harness.free_port()
        self.requests = []
        self.lock = threading.Lock()
        self.status = 200
        self.server = None
        self.thread = None

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "body": body})
                    status = outer.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def posts(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


def sns_string_to_sign(msg):
    if msg["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join("%s\n%s\n" % (k, msg[k]) for k in keys if k in msg).encode()


def verify_sns(msg):
    """Checks the signature as an SNS subscriber does, with the cert at SigningCertURL."""
    with urllib.request.urlopen(msg["SigningCertURL"], timeout=10) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    algo = hashes.SHA1() if msg["SignatureVersion"] == "1" else hashes.SHA256()
    cert.public_key().verify(base64.b64decode(msg["Signature"]), sns_string_to_sign(msg),
                             padding.PKCS1v15(), algo)


def client_error(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]
    raise AssertionError("the call succeeded; an error was expected")


class Events(harness.HeraldCase):
    EXTRA_CONFIG = "\n[events]\npoll_ms = 50\nmin_backoff_ms = 100\nmax_backoff_ms = 400\n"

    def setUp(self):
        self.c = self.herald.boto(self.creds)
        self.rx = Receiver().start()
        self.addCleanup(self.rx.stop)

    def topic(self, name):
        return self.herald.cli("topic", "create", self.ACCOUNT, name).stdout.strip()

    def subscribe_webhook(self, topic, path):
        out = self.herald.cli_json("topic", "subscribe", self.ACCOUNT, topic,
                                   self.rx.url(path), "--webhook", "--json")
        return out["secret"]

    def destination(self, set_name, dest, arn, types):
        try:
            self.c.create_configuration_set(ConfigurationSetName=set_name)
        except ClientError as e:
            if e.response["Error"]["Code"] != "AlreadyExistsException":
                raise
        self.c.create_configuration_set_event_destination(
            ConfigurationSetName=set_name, EventDestinationName=dest,
            EventDestination={"Enabled": True, "MatchingEventTypes": types,
                              "SnsDestination": {"TopicArn": arn}})

    def send(self, to, set_name, tags=None):
        kw = {}
        if tags:
            kw["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
        return self.c.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [to]},
            ConfigurationSetName=set_name,
            Content={"Simple": {"Subject": {"Data": "events"}, "Body": {"Text": {"Data": "x"}}}},
            **kw)["MessageId"]

    def event_ids(self, path):
        out = []
        for r in self.rx.posts(path):
            body = json.loads(r["body"])
            if body.get("Type") == "Notification":
                body = json.loads(body["Message"])
            if "eventType" in body:
                out.append(body["eventId"])
        return out

    def test_sns_handshake_envelope_and_unsubscribe(self):
        arn = self.topic("sns-topic")
        self.assertRegex(arn, r"^arn:aws:sns:us-east-1:\d{12}:sns-topic$")
        self.herald.cli("topic", "subscribe", self.ACCOUNT, "sns-topic", self.rx.url("/sns"))
        confirm = harness.wait_until(lambda: self.rx.posts("/sns"), 20, "confirmation")[0]
        msg = json.loads(confirm["body"])
        self.assertEqual(confirm["headers"]["x-amz-sns-message-type"], "SubscriptionConfirmation")
        self.assertEqual(confirm["headers"]["x-amz-sns-topic-arn"], arn)
        self.assertTrue(confirm["headers"]["Content-Type"].startswith("text/plain"))
        self.assertEqual(msg["Type"], "SubscriptionConfirmation")
        self.assertEqual(msg["TopicArn"], arn)
        for key in ("MessageId", "Token", "Message", "SubscribeURL", "Timestamp", "Signature",
                    "SigningCertURL"):
            self.assertIsInstance(msg[key], str, key)
        self.assertEqual(msg["SignatureVersion"], "1")
        self.assertRegex(msg["Timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        verify_sns(msg)
        # A forged confirmation does not verify.
        forged = dict(msg, TopicArn=arn + "x")
        with self.assertRaises(Exception):
            verify_sns(forged)
        # A wrong token is refused; the right one confirms.
        bad = msg["SubscribeURL"].replace("Token=", "Token=x")
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(bad, timeout=10)
        self.assertEqual(ctx.exception.code, 404)
        with urllib.request.urlopen(msg["SubscribeURL"], timeout=10) as r:
            xml = r.read().decode()
        self.assertIn("<SubscriptionArn>%s:" % arn, xml)
        sub_arn = xml.split("<SubscriptionArn>")[1].split("</SubscriptionArn>")[0]

        self.destination("sns-set", "to-sns", arn, ["SEND", "DELIVERY", "BOUNCE"])
        mid = self.send(SUCCESS, "sns-set")
        notes = harness.wait_until(
            lambda: (lambda n: n if len(n) >= 2 else None)(
                [r for r in self.rx.posts("/sns")
                 if json.loads(r["body"])["Type"] == "Notification"]),
            20, "two notifications")
        log = {e["eventId"]: e for e in self.herald.events_for(mid)}
        types = []
        for r in notes:
            n = json.loads(r["body"])
            self.assertEqual(list(n.keys()),
                             ["Type", "MessageId", "TopicArn", "Message", "Timestamp",
                              "SignatureVersion", "Signature", "SigningCertURL",
                              "UnsubscribeURL"])
            self.assertEqual(n["TopicArn"], arn)
            verify_sns(n)
            event = json.loads(n["Message"])
            self.assertEqual(n["MessageId"], event["eventId"])
            self.assertEqual(event, log[event["eventId"]])  # the logged event, unchanged
            self.assertEqual(event["mail"]["messageId"], mid)
            self.assertEqual(r["headers"]["x-amz-sns-message-type"], "Notification")
            self.assertEqual(r["headers"]["x-amz-sns-message-id"], n["MessageId"])
            self.assertEqual(r["headers"]["x-amz-sns-subscription-arn"], sub_arn)
            types.append(event["eventType"])
        self.assertEqual(sorted(types), ["Delivery", "Send"])

        # Unsubscribe through the URL in the notification: nothing more arrives.
        with urllib.request.urlopen(json.loads(notes[0]["body"])["UnsubscribeURL"],
                                    timeout=10) as r:
            self.assertIn("UnsubscribeResponse", r.read().decode())
        before = len(self.rx.posts("/sns"))
        mid2 = self.send(SUCCESS, "sns-set")
        harness.wait_until(lambda: len(self.herald.events_for(mid2)) >= 2, 20, "events logged")
        time.sleep(0.5)  # several dispatcher passes
        self.assertEqual(len(self.rx.posts("/sns")), before)

    def test_webhook_signature_and_receiver_down_then_up(self):
        arn = self.topic("hook-topic")
        secret = self.subscribe_webhook("hook-topic", "/hook")
        self.destination("hook-set", "to-hook", arn, ["SEND"])
        mid = self.send(SUCCESS, "hook-set")
        post = harness.wait_until(lambda: self.rx.posts("/hook"), 20, "webhook post")[0]
        sig = post["headers"]["X-Herald-Signature"]
        parts = dict(p.split("=", 1) for p in sig.split(","))
        want = hmac.new(secret.encode(), (parts["t"] + ".").encode() + post["body"],
                        hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(parts["v1"], want))
        self.assertLess(abs(int(parts["t"]) - time.time()), 60)
        event = json.loads(post["body"])
        self.assertEqual(event["eventType"], "Send")
        self.assertEqual(event["mail"]["messageId"], mid)
        self.assertEqual(post["headers"]["X-Herald-Event-Id"], event["eventId"])

        # Down: the port refuses connections while ten messages are sent.
        self.rx.stop()
        mids = [self.send(SUCCESS, "hook-set") for _ in range(10)]
        want_ids = set()
        for m in mids:
            evs = harness.wait_until(lambda: self.herald.events_for(m), 20, "send logged")
            want_ids.update(e["eventId"] for e in evs if e["eventType"] == "Send")
        time.sleep(1.0)  # several failed attempts and back-offs
        self.rx = Receiver(self.rx.port).start()
        harness.wait_until(lambda: want_ids <= set(self.event_ids("/hook")), 30,
                           "every event after the receiver came back")
        got = self.event_ids("/hook")
        self.assertEqual(len(got), len(set(got)), "no event twice")

    def test_events_pending_at_a_crash_arrive_after_restart(self):
        arn = self.topic("crash-topic")
        self.subscribe_webhook("crash-topic", "/crash")
        self.destination("crash-set", "to-crash", arn, ["SEND", "DELIVERY"])
        self.rx.status = 500  # up, but refusing: everything stays pending
        mids = [self.send(SUCCESS, "crash-set") for _ in range(5)]
        want_ids = set()
        for m in mids:
            evs = harness.wait_until(
                lambda: (lambda e: e if len(e) >= 2 else None)(self.herald.events_for(m)), 20,
                "events logged")
            want_ids.update(e["eventId"] for e in evs)
        harness.wait_until(lambda: self.rx.posts("/crash"), 20, "a refused attempt")
        self.herald.kill()
        self.rx.status = 200
        self.herald.start()
        self.c = self.herald.boto(self.creds)
        harness.wait_until(lambda: want_ids <= set(self.event_ids("/crash")), 30,
                           "every pending event after the restart")

    def test_virus_is_a_reject_event(self):
        # The EICAR test file (eicar.org), as an attachment through the API and as the body
        # through SMTP: both accepted, neither delivered, each one Reject event that the
        # destination matching REJECT receives.
        eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
        arn = self.topic("virus-topic")
        self.subscribe_webhook("virus-topic", "/virus")
        self.destination("virus-set", "to-virus", arn, ["REJECT", "SEND"])
        raw = ("From: %s\r\nTo: %s\r\nSubject: attached\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
               "Content-Type: text/plain\r\n\r\nsee attachment\r\n--b1\r\n"
               "Content-Type: application/octet-stream\r\n"
               "Content-Disposition: attachment; filename=eicar.com\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n"
               % (SENDER, SUCCESS, base64.b64encode(eicar.encode()).decode()))
        mid = self.c.send_email(ConfigurationSetName="virus-set",
                                Content={"Raw": {"Data": raw.encode()}})["MessageId"]
        with harness.RawSmtp(*self.herald.smtp_addr) as smtp:
            smtp.login(self.creds)
            reply = smtp.send_mail(SENDER, [SUCCESS], (
                "From: %s\r\nTo: %s\r\nSubject: body\r\nX-SES-CONFIGURATION-SET: virus-set\r\n"
                "\r\n%s\r\n" % (SENDER, SUCCESS, eicar)))
        self.assertTrue(reply.startswith("250"), reply)
        smtp_mid = harness.smtp_message_id(reply)
        for m in (mid, smtp_mid):
            evs = harness.wait_until(lambda: self.herald.events_for(m), 20, "reject event")
            time.sleep(0.2)
            evs = self.herald.events_for(m)
            self.assertEqual([e["eventType"] for e in evs], ["Reject"])
            self.assertEqual(evs[0]["reject"], {"reason": "Bad content"})
        harness.wait_until(
            lambda: len([r for r in self.rx.posts("/virus")
                         if json.loads(r["body"])["eventType"] == "Reject"]) == 2,
            20, "two Reject events at the webhook")
        # A clean message through the same set is sent as usual.
        clean = self.send(SUCCESS, "virus-set")
        harness.wait_until(
            lambda: "Delivery" in [e["eventType"] for e in self.herald.events_for(clean)], 20,
            "clean message delivered")

    def test_destination_api(self):
        c = self.c
        arn = self.topic("api-topic")
        c.create_configuration_set(ConfigurationSetName="api-set")
        c.create_configuration_set_event_destination(
            ConfigurationSetName="api-set", EventDestinationName="d1",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"],
                              "SnsDestination": {"TopicArn": arn}})
        got = c.get_configuration_set_event_destinations(ConfigurationSetName="api-set")
        self.assertEqual(got["EventDestinations"], [
            {"Name": "d1", "Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"],
             "SnsDestination": {"TopicArn": arn}}])
        c.update_configuration_set_event_destination(
            ConfigurationSetName="api-set", EventDestinationName="d1",
            EventDestination={"Enabled": False, "MatchingEventTypes": ["CLICK"],
                              "CloudWatchDestination": {"DimensionConfigurations": [
                                  {"DimensionName": "campaign",
                                   "DimensionValueSource": "MESSAGE_TAG",
                                   "DefaultDimensionValue": "none"}]}})
        got = c.get_configuration_set_event_destinations(ConfigurationSetName="api-set")
        d = got["EventDestinations"][0]
        self.assertFalse(d["Enabled"])
        self.assertEqual(d["MatchingEventTypes"], ["CLICK"])
        self.assertNotIn("SnsDestination", d)
        self.assertEqual(d["CloudWatchDestination"]["DimensionConfigurations"][0]["DimensionName"],
                         "campaign")

        def create(name, dest, types=("SEND",), set_name="api-set"):
            return lambda: c.create_configuration_set_event_destination(
                ConfigurationSetName=set_name, EventDestinationName=name,
                EventDestination=dict({"Enabled": True, "MatchingEventTypes": list(types)},
                                      **dest))

        sns = {"SnsDestination": {"TopicArn": arn}}
        self.assertEqual(client_error(create("d1", sns))["Code"], "AlreadyExistsException")
        self.assertEqual(client_error(create("x", sns, set_name="nope"))["Code"],
                         "NotFoundException")
        self.assertEqual(client_error(create("x", {"SnsDestination": {"TopicArn": arn + "-no"}}))
                         ["Code"], "BadRequestException")
        other = arn.replace(arn.split(":")[4], "999999999999")
        self.assertEqual(client_error(create("x", {"SnsDestination": {"TopicArn": other}}))
                         ["Code"], "BadRequestException")
        self.assertEqual(client_error(create("x", {"PinpointDestination": {"ApplicationArn": "a"}}))
                         ["Code"], "BadRequestException")
        self.assertEqual(client_error(create("x", {}))["Code"], "BadRequestException")
        self.assertEqual(client_error(create("x", dict(sns, CloudWatchDestination={
            "DimensionConfigurations": []})))["Code"], "BadRequestException")
        fh = {"KinesisFirehoseDestination": {
            "IamRoleArn": "arn:aws:iam::1:role/r",
            "DeliveryStreamArn": "arn:aws:firehose:us-east-1:%s:deliverystream/s"
                                 % arn.split(":")[4]}}
        err = client_error(create("x", fh))
        self.assertEqual(err["Code"], "BadRequestException")
        self.assertIn("Kafka", err["Message"])
        for i in range(2, 11):
            create("d%d" % i, sns)()
        self.assertEqual(client_error(create("d11", sns))["Code"], "LimitExceededException")

        c.delete_configuration_set_event_destination(ConfigurationSetName="api-set",
                                                     EventDestinationName="d1")
        self.assertEqual(client_error(lambda: c.delete_configuration_set_event_destination(
            ConfigurationSetName="api-set", EventDestinationName="d1"))["Code"],
            "NotFoundException")
        names = [d["Name"] for d in c.get_configuration_set_event_destinations(
            ConfigurationSetName="api-set")["EventDestinations"]]
        self.assertEqual(names, ["d%d" % i for i in range(2, 11)])
        c.delete_configuration_set(ConfigurationSetName="api-set")
        self.assertEqual(client_error(lambda: c.get_configuration_set_event_destinations(
            ConfigurationSetName="api-set"))["Code"], "NotFoundException")

    def test_metrics_destination(self):
        c = self.c
        c.create_configuration_set(ConfigurationSetName="metrics-set")
        c.create_configuration_set_event_destination(
            ConfigurationSetName="metrics-set", EventDestinationName="cw",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"],
                              "CloudWatchDestination": {"DimensionConfigurations": [
                                  {"DimensionName": "campaign",
                                   "DimensionValueSource": "MESSAGE_TAG",
                                   "DefaultDimensionValue": "none"}]}})
        time.sleep(0.3)  # the dispatcher learns of the destination
        self.send(SUCCESS, "metrics-set", tags={"campaign": "spring"})
        self.send(BOUNCE, "metrics-set", tags={"campaign": "spring"})
        self.send(SUCCESS, "metrics-set")

        def sample(event_type, campaign):
            with urllib.request.urlopen(self.herald.endpoint + "/metrics", timeout=10) as r:
                text = r.read().decode()
            for line in text.splitlines():
                if (line.startswith("herald_ses_events_total{") and
                        'configuration_set="metrics-set"' in line and
                        'event_type="%s"' % event_type in line and
                        'dim_campaign="%s"' % campaign in line):
                    return float(line.rsplit(" ", 1)[1])
            return None

        harness.wait_until(lambda: sample("Send", "spring") == 2.0, 20, "two spring sends")
        harness.wait_until(lambda: sample("Send", "none") == 1.0, 20, "one untagged send")
        harness.wait_until(lambda: sample("Bounce", "spring") == 1.0, 20, "one bounce")
        self.assertIsNone(sample("Delivery", "spring"))  # not a matching type


if __name__ == "__main__":
    harness.main()
