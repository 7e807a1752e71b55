"""Contact lists and contacts through boto3 and the AWS CLI: CreateContactList with topics and
tags, GetContactList, UpdateContactList, ListContactLists, DeleteContactList; CreateContact
with topic preferences, GetContact (any case), UpdateContact, ListContacts with filters and
pages, DeleteContact; and the errors (NotFound, AlreadyExists, LimitExceeded, BadRequest).
Each test uses an account of its own: an account has at most one contact list.
"""

import datetime
import json
import os
import urllib.parse

from botocore.exceptions import ClientError

import harness

TOPICS = [
    {"TopicName": "news", "DisplayName": "Weekly news", "Description": "What happened",
     "DefaultSubscriptionStatus": "OPT_IN"},
    {"TopicName": "offers", "DisplayName": "Special offers",
     "DefaultSubscriptionStatus": "OPT_OUT"},
]


def client_error(call):
    """{"Code", "Message"} and the HTTP status of the ClientError call() raises."""
    try:
        call()
    except ClientError as e:
        err = dict(e.response["Error"])
        err["Status"] = e.response["ResponseMetadata"]["HTTPStatusCode"]
        return err
    raise AssertionError("the call succeeded; an error was expected")


class CurrentListContacts:
    """Context manager: send ListContacts as the current SESv2 model does (POST
    .../contacts/list, PageSize and NextToken in the JSON body). Debian's botocore (1.29)
    models it as GET .../contacts with a JSON body ("{}" at least), which herald's HTTP
    server does not read, so the signature fails: see docs/api-compatibility.md."""

    EVENT = "before-sign.sesv2.ListContacts"

    def __init__(self, client):
        self.client = client

    @staticmethod
    def _hook(request, **_kw):
        if request.method != "GET":
            return  # already the current model
        parts = urllib.parse.urlsplit(request.url)
        body = json.loads(request.data or b"{}")
        for k, v in urllib.parse.parse_qsl(parts.query):
            body[k] = int(v) if k == "PageSize" else v
        request.url = urllib.parse.urlunsplit(parts._replace(path=parts.path + "/list",
                                                             query=""))
        request.method = "POST"
        request.data = json.dumps(body).encode()
        for h in list(request.headers.keys()):
            if h.lower() in ("content-length", "content-type"):
                del request.headers[h]
        request.headers["Content-Type"] = "application/json"

    def __enter__(self):
        self.client.meta.events.register(self.EVENT, self._hook, unique_id="herald-lc")
        return self

    def __exit__(self, *exc):
        self.client.meta.events.unregister(self.EVENT, unique_id="herald-lc")


def path_aws():
    """The `aws` on PATH if it is not Debian's /usr/bin/aws (the v1 CLI of the dev tools)."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "aws")
        if os.access(p, os.X_OK) and os.path.realpath(p) != os.path.realpath("/usr/bin/aws"):
            return p
    return None


class Contacts(harness.HeraldCase):
    def fresh_client(self, name):
        creds = self.herald.create_account(name)
        return self.herald.boto(creds), creds

    def test_boto3_lists(self):
        c, _ = self.fresh_client("contacts-lists")
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        c.create_contact_list(ContactListName="customers", Description="Our customers",
                              Topics=TOPICS, Tags=[{"Key": "team", "Value": "growth"}])
        got = c.get_contact_list(ContactListName="customers")
        self.assertEqual(got["ContactListName"], "customers")
        self.assertEqual(got["Description"], "Our customers")
        self.assertEqual(got["Topics"], TOPICS)
        self.assertEqual(got["Tags"], [{"Key": "team", "Value": "growth"}])
        self.assertIsInstance(got["CreatedTimestamp"], datetime.datetime)
        self.assertGreater(got["CreatedTimestamp"], before)
        self.assertEqual(got["LastUpdatedTimestamp"], got["CreatedTimestamp"])

        err = client_error(lambda: c.create_contact_list(ContactListName="customers"))
        self.assertEqual((err["Status"], err["Code"]), (400, "AlreadyExistsException"))
        err = client_error(lambda: c.create_contact_list(ContactListName="second"))
        self.assertEqual((err["Status"], err["Code"]), (400, "LimitExceededException"))
        err = client_error(lambda: c.create_contact_list(
            ContactListName="x", Topics=[{"TopicName": "bad topic", "DisplayName": "B",
                                          "DefaultSubscriptionStatus": "OPT_IN"}]))
        self.assertEqual((err["Status"], err["Code"]), (400, "BadRequestException"))
        self.assertIn("Topics[0].TopicName", err["Message"])
        err = client_error(lambda: c.get_contact_list(ContactListName="nope"))
        self.assertEqual((err["Status"], err["Code"]), (404, "NotFoundException"))
        self.assertEqual(err["Message"], "List with name nope does not exist.")

        lists = c.list_contact_lists(PageSize=10)
        self.assertEqual([l["ContactListName"] for l in lists["ContactLists"]], ["customers"])
        self.assertNotIn("NextToken", lists)

        c.update_contact_list(ContactListName="customers", Description="Renamed",
                              Topics=TOPICS[:1])
        got = c.get_contact_list(ContactListName="customers")
        self.assertEqual(got["Description"], "Renamed")
        self.assertEqual(got["Topics"], TOPICS[:1])
        self.assertGreaterEqual(got["LastUpdatedTimestamp"], got["CreatedTimestamp"])
        err = client_error(lambda: c.update_contact_list(ContactListName="nope", Topics=[]))
        self.assertEqual(err["Code"], "NotFoundException")

        # Another account sees none of it.
        other, _ = self.fresh_client("contacts-other")
        self.assertEqual(other.list_contact_lists()["ContactLists"], [])
        err = client_error(lambda: other.get_contact_list(ContactListName="customers"))
        self.assertEqual(err["Code"], "NotFoundException")

        c.delete_contact_list(ContactListName="customers")
        err = client_error(lambda: c.delete_contact_list(ContactListName="customers"))
        self.assertEqual(err["Code"], "NotFoundException")
        self.assertEqual(c.list_contact_lists()["ContactLists"], [])
        # The place is free again.
        c.create_contact_list(ContactListName="second")

    def test_boto3_contacts(self):
        c, _ = self.fresh_client("contacts-people")
        c.create_contact_list(ContactListName="customers", Topics=TOPICS)
        c.create_contact(ContactListName="customers", EmailAddress="Ana@Example.com",
                         TopicPreferences=[{"TopicName": "offers",
                                            "SubscriptionStatus": "OPT_IN"}],
                         AttributesData=json.dumps({"plan": "pro"}))
        c.create_contact(ContactListName="customers", EmailAddress="bea@example.com",
                         TopicPreferences=[{"TopicName": "news",
                                            "SubscriptionStatus": "OPT_OUT"}])
        c.create_contact(ContactListName="customers", EmailAddress="cy+tag@example.com")
        c.create_contact(ContactListName="customers", EmailAddress="dee@example.com",
                         UnsubscribeAll=True)

        got = c.get_contact(ContactListName="customers", EmailAddress="ana@EXAMPLE.com")
        self.assertEqual(got["EmailAddress"], "Ana@Example.com")
        self.assertEqual(got["ContactListName"], "customers")
        self.assertEqual(got["TopicPreferences"],
                         [{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}])
        self.assertEqual(got["TopicDefaultPreferences"],
                         [{"TopicName": "news", "SubscriptionStatus": "OPT_IN"},
                          {"TopicName": "offers", "SubscriptionStatus": "OPT_OUT"}])
        self.assertFalse(got["UnsubscribeAll"])
        self.assertEqual(json.loads(got["AttributesData"]), {"plan": "pro"})
        self.assertIsInstance(got["CreatedTimestamp"], datetime.datetime)
        got = c.get_contact(ContactListName="customers", EmailAddress="cy+tag@example.com")
        self.assertEqual(got["TopicPreferences"], [])

        err = client_error(lambda: c.create_contact(ContactListName="customers",
                                                    EmailAddress="ANA@example.com"))
        self.assertEqual((err["Status"], err["Code"]), (400, "AlreadyExistsException"))
        err = client_error(lambda: c.create_contact(ContactListName="nope",
                                                    EmailAddress="x@example.com"))
        self.assertEqual((err["Status"], err["Code"]), (404, "NotFoundException"))
        err = client_error(lambda: c.create_contact(
            ContactListName="customers", EmailAddress="x@example.com",
            TopicPreferences=[{"TopicName": "sports", "SubscriptionStatus": "OPT_IN"}]))
        self.assertEqual((err["Status"], err["Code"]), (400, "BadRequestException"))
        self.assertIn("has no topic sports", err["Message"])
        err = client_error(lambda: c.create_contact(ContactListName="customers",
                                                    EmailAddress="not an address"))
        self.assertEqual((err["Status"], err["Code"]), (400, "BadRequestException"))
        err = client_error(lambda: c.get_contact(ContactListName="customers",
                                                 EmailAddress="zed@example.com"))
        self.assertEqual((err["Status"], err["Code"]), (404, "NotFoundException"))

        def emails(**kw):
            """Every page of ListContacts, two at a time, in the current model's form."""
            out, token = [], None
            while True:
                args = dict(kw, ContactListName="customers", PageSize=2)
                if token:
                    args["NextToken"] = token
                with CurrentListContacts(c):
                    page = c.list_contacts(**args)
                self.assertLessEqual(len(page["Contacts"]), 2)
                out += [x["EmailAddress"] for x in page["Contacts"]]
                token = page.get("NextToken")
                if not token:
                    return out

        self.assertEqual(emails(), ["Ana@Example.com", "bea@example.com", "cy+tag@example.com",
                                    "dee@example.com"])
        with CurrentListContacts(c):
            page = c.list_contacts(ContactListName="customers", PageSize=1)
        first = page["Contacts"][0]
        self.assertEqual(set(first), {"EmailAddress", "TopicPreferences",
                                      "TopicDefaultPreferences", "UnsubscribeAll",
                                      "LastUpdatedTimestamp"})
        self.assertIn("NextToken", page)
        self.assertEqual(emails(Filter={"FilteredStatus": "OPT_OUT"}), ["dee@example.com"])
        news_in = {"FilteredStatus": "OPT_IN",
                   "TopicFilter": {"TopicName": "news", "UseDefaultIfPreferenceUnavailable": True}}
        self.assertEqual(emails(Filter=news_in), ["Ana@Example.com", "cy+tag@example.com"])
        self.assertEqual(emails(Filter={"FilteredStatus": "OPT_IN",
                                        "TopicFilter": {"TopicName": "offers"}}),
                         ["Ana@Example.com"])
        with CurrentListContacts(c):
            err = client_error(lambda: c.list_contacts(
                ContactListName="customers", Filter={"TopicFilter": {"TopicName": "sports"}}))
        self.assertEqual(err["Code"], "BadRequestException")
        with CurrentListContacts(c):
            err = client_error(lambda: c.list_contacts(ContactListName="nope"))
        self.assertEqual(err["Code"], "NotFoundException")

        # UpdateContact replaces the preferences; the address keeps its case.
        c.update_contact(ContactListName="customers", EmailAddress="ANA@example.com",
                         TopicPreferences=[{"TopicName": "news",
                                            "SubscriptionStatus": "OPT_OUT"}])
        got = c.get_contact(ContactListName="customers", EmailAddress="ana@example.com")
        self.assertEqual(got["EmailAddress"], "Ana@Example.com")
        self.assertEqual(got["TopicPreferences"],
                         [{"TopicName": "news", "SubscriptionStatus": "OPT_OUT"}])
        self.assertEqual(json.loads(got["AttributesData"]), {"plan": "pro"})
        self.assertGreaterEqual(got["LastUpdatedTimestamp"], got["CreatedTimestamp"])
        self.assertEqual(emails(Filter=news_in), ["cy+tag@example.com"])
        err = client_error(lambda: c.update_contact(ContactListName="customers",
                                                    EmailAddress="zed@example.com"))
        self.assertEqual(err["Code"], "NotFoundException")

        c.delete_contact(ContactListName="customers", EmailAddress="BEA@example.com")
        err = client_error(lambda: c.delete_contact(ContactListName="customers",
                                                    EmailAddress="bea@example.com"))
        self.assertEqual(err["Code"], "NotFoundException")
        self.assertEqual(len(emails()), 3)

        # Deleting the list deletes its contacts.
        c.delete_contact_list(ContactListName="customers")
        c.create_contact_list(ContactListName="customers", Topics=TOPICS)
        self.assertEqual(emails(), [])

    def test_aws_cli(self):
        clis = ["/usr/bin/aws"] + ([path_aws()] if path_aws() else [])
        for i, aws in enumerate(clis):
            with self.subTest(aws=aws):
                creds = self.herald.create_account("contacts-cli-%d" % i)
                self.cli_round(aws, creds)

    def cli_round(self, aws, creds):
        def run(*args):
            return self.herald.aws(creds, "sesv2", *args, aws_bin=aws)

        def ok(*args):
            r = run(*args)
            self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
            return json.loads(r.stdout) if r.stdout.strip() else {}

        def fails(code, *args):
            r = run(*args)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn(code, r.stderr)

        ok("create-contact-list", "--contact-list-name", "cli-list",
           "--description", "From the CLI", "--topics", json.dumps(TOPICS))
        got = ok("get-contact-list", "--contact-list-name", "cli-list")
        self.assertEqual(got["Topics"], TOPICS)
        self.assertEqual(got["Description"], "From the CLI")
        fails("AlreadyExistsException", "create-contact-list", "--contact-list-name", "cli-list")
        fails("LimitExceededException", "create-contact-list", "--contact-list-name", "other")
        fails("BadRequestException", "create-contact-list", "--contact-list-name", "bad name")
        fails("NotFoundException", "get-contact-list", "--contact-list-name", "nope")
        self.assertEqual([l["ContactListName"] for l in ok("list-contact-lists")["ContactLists"]],
                         ["cli-list"])

        ok("create-contact", "--contact-list-name", "cli-list", "--email-address",
           "Zoe@Example.com", "--topic-preferences",
           json.dumps([{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}]))
        ok("create-contact", "--contact-list-name", "cli-list", "--email-address",
           "yan@example.com", "--unsubscribe-all")
        fails("AlreadyExistsException", "create-contact", "--contact-list-name", "cli-list",
              "--email-address", "zoe@example.com")
        fails("NotFoundException", "create-contact", "--contact-list-name", "nope",
              "--email-address", "zoe@example.com")
        fails("BadRequestException", "create-contact", "--contact-list-name", "cli-list",
              "--email-address", "x@example.com", "--topic-preferences",
              json.dumps([{"TopicName": "sports", "SubscriptionStatus": "OPT_IN"}]))
        got = ok("get-contact", "--contact-list-name", "cli-list", "--email-address",
                 "zoe@example.com")
        self.assertEqual(got["EmailAddress"], "Zoe@Example.com")
        self.assertEqual(got["TopicPreferences"],
                         [{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}])
        if aws != "/usr/bin/aws":
            # Debian's CLI (2.9) sends ListContacts as a GET with a body, which herald's
            # HTTP server does not read (docs/api-compatibility.md); a current model's CLI
            # sends POST .../contacts/list.
            listed = ok("list-contacts", "--contact-list-name", "cli-list")
            self.assertEqual([x["EmailAddress"] for x in listed["Contacts"]],
                             ["yan@example.com", "Zoe@Example.com"])
            # No paginator in the model: pages by hand.
            listed = ok("list-contacts", "--contact-list-name", "cli-list", "--page-size", "1")
            self.assertEqual([x["EmailAddress"] for x in listed["Contacts"]],
                             ["yan@example.com"])
            listed = ok("list-contacts", "--contact-list-name", "cli-list", "--page-size", "1",
                        "--next-token", listed["NextToken"])
            self.assertEqual([x["EmailAddress"] for x in listed["Contacts"]],
                             ["Zoe@Example.com"])
            self.assertNotIn("NextToken", listed)
            listed = ok("list-contacts", "--contact-list-name", "cli-list", "--filter",
                        json.dumps({"FilteredStatus": "OPT_OUT"}))
            self.assertEqual([x["EmailAddress"] for x in listed["Contacts"]],
                             ["yan@example.com"])

        ok("update-contact", "--contact-list-name", "cli-list", "--email-address",
           "ZOE@example.com", "--unsubscribe-all")
        got = ok("get-contact", "--contact-list-name", "cli-list", "--email-address",
                 "zoe@example.com")
        self.assertTrue(got["UnsubscribeAll"])
        self.assertEqual(got["TopicPreferences"], [])
        ok("update-contact-list", "--contact-list-name", "cli-list", "--topics",
           json.dumps(TOPICS[1:]))
        self.assertEqual(ok("get-contact-list", "--contact-list-name", "cli-list")["Topics"],
                         TOPICS[1:])
        ok("delete-contact", "--contact-list-name", "cli-list", "--email-address",
           "zoe@example.com")
        fails("NotFoundException", "get-contact", "--contact-list-name", "cli-list",
              "--email-address", "zoe@example.com")
        ok("delete-contact-list", "--contact-list-name", "cli-list")
        fails("NotFoundException", "delete-contact-list", "--contact-list-name", "cli-list")


if __name__ == "__main__":
    harness.main()
