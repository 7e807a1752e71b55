"""Templates through boto3 and @aws-sdk/client-sesv2: CreateEmailTemplate, GetEmailTemplate,
UpdateEmailTemplate, ListEmailTemplates (paginated), DeleteEmailTemplate,
TestRenderEmailTemplate, SendEmail with TemplateName and TemplateArn, a template that does
not render (accepted, one Rendering Failure event), and SendBulkEmail with per-entry data,
tags and headers and mixed per-entry results.
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

from botocore.exceptions import ClientError

import harness
from harness import SENDER, SIM

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node")
SUCCESS = "success@" + SIM


def client_error(call):
    """{"Code", "Message"} of the ClientError call() raises (it must raise one)."""
    try:
        call()
    except ClientError as e:
        return e.response["Error"]
    raise AssertionError("the call succeeded; an error was expected")


class Templates(harness.HeraldCase):
    def setUp(self):
        self.c = self.herald.boto(self.creds)

    def events_of(self, mid, count, timeout=20):
        return harness.wait_until(
            lambda: (lambda evs: evs if len(evs) >= count else None)(self.herald.events_for(mid)),
            timeout, "%d events of %s" % (count, mid))

    def test_crud_and_listing(self):
        c = self.c
        content = {"Subject": "Hi {{name}}", "Text": "Hello {{name}}",
                   "Html": "<p>Hello {{name}}</p>"}
        # Debian's botocore predates the Tags member: send it as extra body.
        with harness.ExtraBody(c, "CreateEmailTemplate",
                               {"Tags": [{"Key": "team", "Value": "growth"}]}):
            c.create_email_template(TemplateName="crud-a", TemplateContent=content)
        err = client_error(lambda: c.create_email_template(TemplateName="crud-a",
                                                           TemplateContent=content))
        self.assertEqual(err["Code"], "AlreadyExistsException")
        err = client_error(lambda: c.create_email_template(TemplateName="bad name",
                                                           TemplateContent=content))
        self.assertEqual(err["Code"], "BadRequestException")
        err = client_error(lambda: c.create_email_template(TemplateName="empty",
                                                           TemplateContent={}))
        self.assertEqual(err["Code"], "BadRequestException")

        got = c.get_email_template(TemplateName="crud-a")
        self.assertEqual(got["TemplateName"], "crud-a")
        self.assertEqual(got["TemplateContent"], content)

        c.update_email_template(TemplateName="crud-a",
                                TemplateContent={"Subject": "New {{name}}", "Text": "t"})
        got = c.get_email_template(TemplateName="crud-a")
        self.assertEqual(got["TemplateContent"], {"Subject": "New {{name}}", "Text": "t"})
        err = client_error(lambda: c.update_email_template(TemplateName="nope",
                                                           TemplateContent=content))
        self.assertEqual(err["Code"], "NotFoundException")
        self.assertEqual(err["Message"], "Template nope does not exist.")

        for n in ("crud-b", "crud-c", "crud-d"):
            c.create_email_template(TemplateName=n, TemplateContent={"Text": n})
        names, token = [], None
        while True:
            kw = {"PageSize": 2}
            if token:
                kw["NextToken"] = token
            page = c.list_email_templates(**kw)
            self.assertLessEqual(len(page["TemplatesMetadata"]), 2)
            for m in page["TemplatesMetadata"]:
                names.append(m["TemplateName"])
                self.assertIn("CreatedTimestamp", m)
            token = page.get("NextToken")
            if not token:
                break
        crud = [n for n in names if n.startswith("crud-")]
        self.assertEqual(crud, ["crud-a", "crud-b", "crud-c", "crud-d"])
        err = client_error(lambda: c.list_email_templates(PageSize=101))
        self.assertEqual(err["Code"], "BadRequestException")

        c.delete_email_template(TemplateName="crud-b")
        err = client_error(lambda: c.get_email_template(TemplateName="crud-b"))
        self.assertEqual(err["Code"], "NotFoundException")
        err = client_error(lambda: c.delete_email_template(TemplateName="crud-b"))
        self.assertEqual(err["Code"], "NotFoundException")

        # Another account does not see them.
        other = self.herald.boto(self.herald.create_account("tmpl-other"))
        err = client_error(lambda: other.get_email_template(TemplateName="crud-a"))
        self.assertEqual(err["Code"], "NotFoundException")

    def test_render(self):
        self.c.create_email_template(
            TemplateName="render-me",
            TemplateContent={"Subject": "Order {{order.id}}",
                             "Text": "{{#each items}}- {{this.name}} x{{qty}}\n{{/each}}"
                                     "{{#if gift}}Gift wrapped{{else}}Plain{{/if}}",
                             "Html": "<b>{{order.id}}</b> <i>{{note}}</i>"})
        data = {"order": {"id": "A-17"}, "items": [{"name": "pen", "qty": 2},
                                                   {"name": "ink", "qty": 1}],
                "gift": False, "note": "<raw & unescaped>"}
        r = self.c.test_render_email_template(TemplateName="render-me",
                                              TemplateData=json.dumps(data))
        mime = r["RenderedTemplate"]
        self.assertIn("Subject: Order A-17", mime)
        self.assertIn("- pen x2", mime)
        self.assertIn("- ink x1", mime)
        self.assertIn("Plain", mime)
        self.assertNotIn("Gift wrapped", mime)
        self.assertIn("<raw & unescaped>", mime)  # no HTML escaping, as SES
        err = client_error(lambda: self.c.test_render_email_template(
            TemplateName="render-me", TemplateData=json.dumps({"items": []})))
        self.assertEqual(err["Code"], "BadRequestException")
        self.assertIn("Attribute 'order.id' is not present in the rendering data.",
                      err["Message"])
        err = client_error(lambda: self.c.test_render_email_template(
            TemplateName="render-me", TemplateData="not json"))
        self.assertEqual(err["Code"], "BadRequestException")
        err = client_error(lambda: self.c.test_render_email_template(
            TemplateName="absent", TemplateData="{}"))
        self.assertEqual(err["Code"], "NotFoundException")

    def test_send_by_name_and_arn(self):
        self.c.create_email_template(
            TemplateName="welcome",
            TemplateContent={"Subject": "Welcome {{name}}", "Text": "Hi {{name}}"})
        r = self.c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [SUCCESS]},
                              Content={"Template": {"TemplateName": "welcome",
                                                    "TemplateData": '{"name":"Ada"}'}})
        evs = self.events_of(r["MessageId"], 2)
        self.assertEqual(sorted(e["eventType"] for e in evs), ["Delivery", "Send"])
        self.assertEqual(evs[0]["mail"]["commonHeaders"]["subject"], "Welcome Ada")
        arn = "arn:aws:ses:us-east-1:%s:template/welcome" % evs[0]["mail"]["sendingAccountId"]
        r = self.c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [SUCCESS]},
                              Content={"Template": {"TemplateArn": arn,
                                                    "TemplateData": '{"name":"Bo"}'}})
        evs = self.events_of(r["MessageId"], 2)
        self.assertEqual(evs[0]["mail"]["commonHeaders"]["subject"], "Welcome Bo")
        err = client_error(lambda: self.c.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": [SUCCESS]},
            Content={"Template": {"TemplateName": "absent", "TemplateData": "{}"}}))
        self.assertEqual(err["Code"], "NotFoundException")
        self.assertEqual(err["Message"], "Template absent does not exist.")

    def test_rendering_failure_is_an_event(self):
        self.c.create_email_template(TemplateName="needs-name",
                                     TemplateContent={"Subject": "Hi {{name}}", "Text": "x"})
        r = self.c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [SUCCESS]},
                              Content={"Template": {"TemplateName": "needs-name",
                                                    "TemplateData": "{}"}})
        evs = self.events_of(r["MessageId"], 1)
        self.assertEqual([e["eventType"] for e in evs], ["Rendering Failure"])
        self.assertEqual(evs[0]["failure"], {
            "templateName": "needs-name",
            "errorMessage": "Attribute 'name' is not present in the rendering data."})
        self.assertEqual(evs[0]["mail"]["destination"], [SUCCESS])

    def test_bulk_with_mixed_results(self):
        self.c.create_email_template(
            TemplateName="bulk",
            TemplateContent={"Subject": "For {{name}} ({{tier}})", "Text": "Hi {{name}}"})
        entries = [
            {"Destination": {"ToAddresses": [SUCCESS]},
             "ReplacementEmailContent": {"ReplacementTemplate": {
                 "ReplacementTemplateData": '{"name":"Ana"}'}},
             "ReplacementTags": [{"Name": "campaign", "Value": "ana"}]},
            {"Destination": {"ToAddresses": ["bounce@" + SIM]}},
            {"Destination": {"ToAddresses": ["not an address"]}},
            {"Destination": {"ToAddresses": ["stranger@unverified.example"]}},
            {"Destination": {"ToAddresses": [SUCCESS]},
             "ReplacementEmailContent": {"ReplacementTemplate": {
                 "ReplacementTemplateData": "[1,2]"}}},
        ]
        # Debian's botocore predates Headers and ReplacementHeaders: sent as extra body.
        extra = {"DefaultContent": {"Template": {
                     "Headers": [{"Name": "X-Bulk", "Value": "default"}]}},
                 "BulkEmailEntries": [
                     dict(entries[0], ReplacementHeaders=[{"Name": "X-Entry", "Value": "one"}])]
                 + entries[1:]}
        with harness.ExtraBody(self.c, "SendBulkEmail", extra):
            r = self.c.send_bulk_email(
                FromEmailAddress=SENDER,
                DefaultContent={"Template": {"TemplateName": "bulk",
                                             "TemplateData": '{"name":"friend","tier":"basic"}'}},
                DefaultEmailTags=[{"Name": "campaign", "Value": "default"}],
                BulkEmailEntries=entries)
        res = r["BulkEmailEntryResults"]
        self.assertEqual([x["Status"] for x in res],
                         ["SUCCESS", "SUCCESS", "INVALID_PARAMETER", "MESSAGE_REJECTED",
                          "INVALID_PARAMETER"])
        self.assertIn("not verified", res[3]["Error"])
        first = self.events_of(res[0]["MessageId"], 2)
        mail = first[0]["mail"]
        self.assertEqual(mail["commonHeaders"]["subject"], "For Ana (basic)")
        self.assertEqual(mail["tags"]["campaign"], ["ana"])
        self.assertEqual(mail["tags"]["ses:operation"], ["SendBulkEmail"])
        names = [h["name"] for h in mail["headers"]]
        self.assertIn("X-Bulk", names)
        self.assertIn("X-Entry", names)
        second = self.events_of(res[1]["MessageId"], 2)
        self.assertEqual(second[0]["mail"]["commonHeaders"]["subject"], "For friend (basic)")
        self.assertEqual(second[0]["mail"]["tags"]["campaign"], ["default"])
        self.assertIn("Bounce", [e["eventType"] for e in second])

        err = client_error(lambda: self.c.send_bulk_email(
            FromEmailAddress=SENDER,
            DefaultContent={"Template": {"TemplateName": "bulk", "TemplateData": "{}"}},
            BulkEmailEntries=[{"Destination": {"ToAddresses": [SUCCESS]}}] * 51))
        self.assertEqual(err["Code"], "BadRequestException")
        r = self.c.send_bulk_email(
            FromEmailAddress=SENDER,
            DefaultContent={"Template": {"TemplateName": "missing", "TemplateData": "{}"}},
            BulkEmailEntries=[{"Destination": {"ToAddresses": [SUCCESS]}}])
        self.assertEqual(r["BulkEmailEntryResults"][0]["Status"], "TEMPLATE_NOT_FOUND")

    @unittest.skipIf(NODE is None, "node is not installed")
    def test_aws_sdk_for_javascript(self):
        params = {"endpoint": self.herald.endpoint, "accessKeyId": self.creds["access_key_id"],
                  "secretAccessKey": self.creds["secret_access_key"], "region": "us-east-1",
                  "from": SENDER, "to": [SUCCESS]}
        r = subprocess.run([NODE, os.path.join(HERE, "sdk_templates.mjs"), json.dumps(params)],
                           cwd=HERE, capture_output=True, text=True, timeout=120)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        self.assertTrue(lines, r.stdout + r.stderr)
        out = json.loads(lines[-1])
        self.assertNotIn("error", out)
        self.assertEqual(out["got"]["TemplateContent"]["Subject"], "Node {{who}}")
        self.assertEqual(out["got"]["Tags"], [{"Key": "team", "Value": "node"}])
        self.assertIn("Subject: Node SDK", out["rendered"])
        self.assertEqual(out["bulk"], ["SUCCESS"])
        evs = self.events_of(out["MessageId"], 2)
        self.assertEqual(evs[0]["mail"]["commonHeaders"]["subject"], "Node SDK")


if __name__ == "__main__":
    harness.main()
