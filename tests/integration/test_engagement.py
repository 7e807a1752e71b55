"""Engagement tracking and subscription management, driven with real HTTP requests.

herald delivers to smtp-sink (a static route for reader.test) and the test reads what the
sink received:
- a configuration set with a CloudWatch destination for OPEN and CLICK gets its HTML
  tracked: the pixel answers a GIF and publishes an Open event, the tracked link answers
  302 to the original URL and publishes a Click event with the link tags; ses:no-track
  links stay as written; forged tokens and tokens of the wrong kind get 404 and publish
  nothing;
- ListManagementOptions: List-Unsubscribe / List-Unsubscribe-Post (RFC 8058) and the filled
  {{amazonSESUnsubscribeUrl}}; the one-click POST records the opt-out (seen through
  boto3's GetContact) and publishes a Subscription event; the next mail of that topic is
  accepted and not delivered; the unsubscribe page and its form; bad bodies get 400;
- tokens replayed after tracking.token_max_age_seconds are refused.
"""

import json
import re
import time
import urllib.error
import urllib.request

from botocore.exceptions import ClientError

import harness
from harness import SENDER

HTML = ('<html><body><p>Hello</p>'
        '<a href="https://shop.example.com/item?id=7&amp;c=spring" '
        'ses:tags="campaign:spring;slot:top">Shop</a> '
        '<a ses:no-track href="https://example.com/plain">Plain</a>'
        '</body></html>')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(method, url, body=None, headers=None):
    """(status, headers, body) without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def html_part(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text/html part")


def text_part(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text/plain part")


def flip(token):
    i = len(token) // 2
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


class EngagementBase(harness.SinkCase):
    PRODUCTION = True
    MAX_AGE = 3600

    @classmethod
    def sink_config(cls, port):
        return ('\n[delivery]\nroutes = ["reader.test 127.0.0.1:%d"]\n'
                '[tracking]\ntoken_max_age_seconds = %d\n' % (port, cls.MAX_AGE))

    @classmethod
    def setUpSuite(cls):
        c = cls.herald.boto(cls.creds)
        c.create_configuration_set(ConfigurationSetName="news")
        c.create_configuration_set_event_destination(
            ConfigurationSetName="news", EventDestinationName="engagement",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["OPEN", "CLICK"],
                              "CloudWatchDestination": {"DimensionConfigurations": [
                                  {"DimensionName": "campaign",
                                   "DimensionValueSource": "LINK_TAG",
                                   "DefaultDimensionValue": "none"}]}})

    def setUp(self):
        self.c = self.herald.boto(self.creds)

    def send(self, to, subject, html=HTML, text="Hi.\n", **kw):
        r = self.c.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [to]},
            Content={"Simple": {"Subject": {"Data": subject},
                                "Body": {"Html": {"Data": html}, "Text": {"Data": text}}}},
            **kw)
        return r["MessageId"]

    def received(self, subject, timeout=30):
        def find():
            for _, msg in self.sink.messages():
                if msg.get("Subject") == subject:
                    return msg
            return None
        return harness.wait_until(find, timeout, "message %r at the sink" % subject)

    def wait_event(self, message_id, event_type, count=1, timeout=20):
        def enough():
            got = [e for e in self.herald.events_for(message_id) if e["eventType"] == event_type]
            return got if len(got) >= count else None
        return harness.wait_until(enough, timeout, "%d %s event(s)" % (count, event_type))

    def tokens(self, html, kind):
        base = re.escape("http://%s/t/%s/" % (self.herald.http, kind))
        return re.findall(base + r"([A-Za-z0-9_-]+)", html)


class Tracking(EngagementBase):
    def test_open_and_click(self):
        mid = self.send("reader@reader.test", "tracked", ConfigurationSetName="news")
        html = html_part(self.received("tracked"))
        opens, clicks = self.tokens(html, "o"), self.tokens(html, "c")
        self.assertEqual(len(opens), 1, html)
        self.assertEqual(len(clicks), 1, html)
        self.assertIn('href="https://example.com/plain"', html)

        status, headers, body = http("GET", "http://%s/t/o/%s" % (self.herald.http, opens[0]),
                                     headers={"User-Agent": "TestMail/1.0"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "image/gif")
        self.assertTrue(body.startswith(b"GIF89a"), body)
        self.assertIn("no-store", headers["Cache-Control"])
        # A second open: a second event, still one unique open.
        self.assertEqual(http("GET", "http://%s/t/o/%s" % (self.herald.http, opens[0]),
                              headers={"User-Agent": "TestMail/1.0"})[0], 200)
        ev = self.wait_event(mid, "Open", count=2)[0]
        self.assertEqual(ev["open"]["ipAddress"], "127.0.0.1")
        self.assertEqual(ev["open"]["userAgent"], "TestMail/1.0")
        self.assertRegex(ev["open"]["timestamp"], harness.ISO_TS)
        self.assertEqual(ev["mail"]["tags"]["ses:configuration-set"], ["news"])
        self.assertEqual(ev["mail"]["destination"], ["reader@reader.test"])

        status, headers, _ = http("GET", "http://%s/t/c/%s" % (self.herald.http, clicks[0]))
        self.assertEqual(status, 302)
        self.assertEqual(headers["Location"], "https://shop.example.com/item?id=7&c=spring")
        ev = self.wait_event(mid, "Click")[0]
        self.assertEqual(ev["click"]["link"], "https://shop.example.com/item?id=7&c=spring")
        self.assertEqual(ev["click"]["linkTags"], {"campaign": ["spring"], "slot": ["top"]})

        counts = self.herald.cli_json("engagement", self.ACCOUNT, "--configuration-set", "news")
        self.assertEqual((counts["unique_opens"], counts["unique_clicks"]), (1, 1), counts)

        # The CloudWatch-style counters saw them, by link tag (once the dispatcher has read
        # the log: it polls).
        def click_series():
            status, _, metrics = http("GET", "http://%s/metrics" % self.herald.http)
            self.assertEqual(status, 200)
            lines = [ln for ln in metrics.decode().splitlines()
                     if ln.startswith("herald_ses_events_total{")
                     and 'dim_campaign="spring"' in ln and 'event_type="Click"' in ln]
            return lines or None
        lines = harness.wait_until(click_series, 20, "the Click series on /metrics")
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" 1"), lines[0])

        # Forged, truncated and wrong-kind tokens: 404, and no event.
        before = len(self.herald.events_for(mid))
        for path in ("/t/o/" + flip(opens[0]), "/t/c/" + flip(clicks[0]),
                     "/t/o/" + opens[0][:-3], "/t/c/" + opens[0], "/t/o/" + clicks[0],
                     "/u/" + opens[0], "/t/o/", "/t/x/" + opens[0]):
            status, _, _ = http("GET", "http://%s%s" % (self.herald.http, path))
            self.assertEqual(status, 404, path)
        status, _, _ = http("POST", "http://%s/t/o/%s" % (self.herald.http, opens[0]), b"")
        self.assertEqual(status, 405)
        time.sleep(0.5)
        self.assertEqual(len(self.herald.events_for(mid)), before)

    def test_without_a_matching_destination_nothing_is_tracked(self):
        self.c.create_configuration_set(ConfigurationSetName="plain")
        self.send("reader@reader.test", "untracked", ConfigurationSetName="plain")
        html = html_part(self.received("untracked"))
        self.assertNotIn("/t/", html)
        self.assertIn('href="https://shop.example.com/item?id=7&amp;c=spring"', html)


class Unsubscribe(EngagementBase):
    def setUp(self):
        super().setUp()
        try:
            self.c.create_contact_list(
                ContactListName="readers",
                Topics=[{"TopicName": "weekly", "DisplayName": "The Weekly",
                         "DefaultSubscriptionStatus": "OPT_IN"},
                        {"TopicName": "offers", "DisplayName": "Offers",
                         "DefaultSubscriptionStatus": "OPT_IN"}])
        except ClientError as e:
            if e.response["Error"]["Code"] != "AlreadyExistsException":
                raise

    def lmo(self, topic):
        return {"ContactListName": "readers", "TopicName": topic}

    def unsubscribe_url(self, msg):
        lu = msg.get("List-Unsubscribe")
        m = re.fullmatch(r"<(http://[^>]+/u/[A-Za-z0-9_-]+)>", lu or "")
        self.assertIsNotNone(m, lu)
        return m.group(1)

    def test_one_click_opts_out_of_the_topic(self):
        addr = "one@reader.test"
        text = "Leave at {{amazonSESUnsubscribeUrl}}\n"
        mid = self.send(addr, "weekly-1", text=text, ListManagementOptions=self.lmo("weekly"))
        msg = self.received("weekly-1")
        url = self.unsubscribe_url(msg)
        self.assertEqual(msg.get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click")
        self.assertEqual(text_part(msg).strip(), "Leave at " + url)
        # The unknown recipient became a contact, subscribed by default.
        contact = self.c.get_contact(ContactListName="readers", EmailAddress=addr)
        self.assertFalse(contact.get("UnsubscribeAll", False))

        # RFC 8058: what a mail client POSTs.
        status, _, body = http("POST", url, b"List-Unsubscribe=One-Click",
                               {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        contact = self.c.get_contact(ContactListName="readers", EmailAddress=addr)
        prefs = {p["TopicName"]: p["SubscriptionStatus"] for p in contact["TopicPreferences"]}
        self.assertEqual(prefs.get("weekly"), "OPT_OUT")
        ev = self.wait_event(mid, "Subscription")[0]["subscription"]
        self.assertEqual(ev["contactList"], "readers")
        self.assertEqual(ev["source"], "UnsubscribeHeader")
        old = {t["topicName"]: t["subscriptionStatus"]
               for t in ev["oldTopicPreferences"]["topicSubscriptionStatus"]}
        new = {t["topicName"]: t["subscriptionStatus"]
               for t in ev["newTopicPreferences"]["topicSubscriptionStatus"]}
        self.assertEqual(old, {"weekly": "OptIn", "offers": "OptIn"})
        self.assertEqual(new, {"weekly": "OptOut", "offers": "OptIn"})
        # Again: nothing changes, no second event.
        status, _, _ = http("POST", url, b"List-Unsubscribe=One-Click",
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)

        # The next weekly mail is accepted and not delivered; offers still are.
        skipped = self.send(addr, "weekly-2", ListManagementOptions=self.lmo("weekly"))
        self.assertTrue(skipped)
        self.send(addr, "offers-1", ListManagementOptions=self.lmo("offers"))
        self.received("offers-1")
        time.sleep(1)
        self.assertFalse([m for _, m in self.sink.messages() if m.get("Subject") == "weekly-2"])
        self.assertEqual(len(self.wait_event(mid, "Subscription")), 1)

    def test_page_and_form(self):
        addr = "page@reader.test"
        self.send(addr, "weekly-page", ListManagementOptions=self.lmo("weekly"))
        url = self.unsubscribe_url(self.received("weekly-page"))
        status, headers, body = http("GET", url)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        page = body.decode()
        self.assertIn(addr, page)
        self.assertIn("The Weekly", page)
        self.assertIn('value="all"', page)
        # Neither one-click nor a choice: 400, nothing changes.
        status, _, _ = http("POST", url, b"hello=world",
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        contact = self.c.get_contact(ContactListName="readers", EmailAddress=addr)
        self.assertFalse(contact.get("UnsubscribeAll", False))
        # Everything, from the form.
        status, _, _ = http("POST", url, b"choice=all",
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        contact = self.c.get_contact(ContactListName="readers", EmailAddress=addr)
        self.assertTrue(contact["UnsubscribeAll"])
        # Forged: 404.
        status, _, _ = http("POST", url[:-4] + flip(url[-4:]), b"List-Unsubscribe=One-Click",
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 404)

    def test_list_management_errors(self):
        def error(**kw):
            try:
                self.send("x@reader.test", "never", **kw)
            except ClientError as e:
                return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
            raise AssertionError("accepted")

        self.assertEqual(error(ListManagementOptions={"ContactListName": "nolist"}),
                         ("NotFoundException", 404))
        self.assertEqual(error(ListManagementOptions=self.lmo("nosuchtopic")),
                         ("NotFoundException", 404))
        with self.assertRaises(ClientError) as cm:
            self.c.send_email(
                FromEmailAddress=SENDER,
                Destination={"ToAddresses": ["a@reader.test", "b@reader.test"]},
                Content={"Simple": {"Subject": {"Data": "two"}, "Body": {"Text": {"Data": "x"}}}},
                ListManagementOptions=self.lmo("weekly"))
        self.assertEqual(cm.exception.response["Error"]["Code"], "BadRequestException")


class Expiry(EngagementBase):
    MAX_AGE = 2

    def test_replayed_token_after_its_validity_is_refused(self):
        mid = self.send("late@reader.test", "expiring", ConfigurationSetName="news")
        html = html_part(self.received("expiring"))
        click = self.tokens(html, "c")[0]
        time.sleep(self.MAX_AGE + 1.5)
        status, _, _ = http("GET", "http://%s/t/c/%s" % (self.herald.http, click))
        self.assertEqual(status, 404)
        time.sleep(0.3)
        self.assertFalse([e for e in self.herald.events_for(mid) if e["eventType"] == "Click"])


if __name__ == "__main__":
    harness.main()
