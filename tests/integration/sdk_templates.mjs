// Templates with @aws-sdk/client-sesv2: create, get, render, send by name and one bulk send.
// Prints {"got", "rendered", "MessageId", "bulk": [statuses]} or {"error": ...} as JSON.
// Input: one JSON argument {endpoint, accessKeyId, secretAccessKey, region, from, to}.
import {
  SESv2Client, CreateEmailTemplateCommand, GetEmailTemplateCommand,
  TestRenderEmailTemplateCommand, SendEmailCommand, SendBulkEmailCommand,
} from "@aws-sdk/client-sesv2";

const p = JSON.parse(process.argv[2]);
const client = new SESv2Client({
  endpoint: p.endpoint,
  region: p.region,
  credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
  maxAttempts: 1,
});
try {
  const name = "node-tmpl";
  await client.send(new CreateEmailTemplateCommand({
    TemplateName: name,
    TemplateContent: { Subject: "Node {{who}}", Text: "Hello {{who}}" },
    Tags: [{ Key: "team", Value: "node" }],
  }));
  const got = await client.send(new GetEmailTemplateCommand({ TemplateName: name }));
  const rendered = await client.send(new TestRenderEmailTemplateCommand({
    TemplateName: name, TemplateData: JSON.stringify({ who: "SDK" }),
  }));
  const sent = await client.send(new SendEmailCommand({
    FromEmailAddress: p.from,
    Destination: { ToAddresses: p.to },
    Content: { Template: { TemplateName: name, TemplateData: JSON.stringify({ who: "SDK" }) } },
  }));
  const bulk = await client.send(new SendBulkEmailCommand({
    FromEmailAddress: p.from,
    DefaultContent: { Template: { TemplateName: name, TemplateData: "{\"who\":\"bulk\"}" } },
    BulkEmailEntries: [{ Destination: { ToAddresses: p.to } }],
  }));
  console.log(JSON.stringify({
    got: { TemplateName: got.TemplateName, TemplateContent: got.TemplateContent, Tags: got.Tags },
    rendered: rendered.RenderedTemplate,
    MessageId: sent.MessageId,
    bulk: bulk.BulkEmailEntryResults.map((r) => r.Status),
  }));
} catch (e) {
  console.log(JSON.stringify({
    error: { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message },
  }));
  process.exitCode = 1;
}
