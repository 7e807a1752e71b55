// Sends one SESv2 SendEmail with @aws-sdk/client-sesv2 and prints {"MessageId"} or
// {"error": {name, status, message}} as JSON. Input: one JSON argument
// {endpoint, accessKeyId, secretAccessKey, region, from, to, subject, text, headers?}.
import { SESv2Client, SendEmailCommand, GetAccountCommand } from "@aws-sdk/client-sesv2";

const p = JSON.parse(process.argv[2]);
const client = new SESv2Client({
  endpoint: p.endpoint,
  region: p.region,
  credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
  maxAttempts: 1,
});
try {
  const out = {};
  const sent = await client.send(new SendEmailCommand({
    FromEmailAddress: p.from,
    Destination: { ToAddresses: p.to },
    Content: {
      Simple: {
        Subject: { Data: p.subject },
        Body: { Text: { Data: p.text }, Html: { Data: `<p>${p.text}</p>` } },
        Headers: p.headers ?? [],
      },
    },
  }));
  out.MessageId = sent.MessageId;
  const account = await client.send(new GetAccountCommand({}));
  out.ProductionAccessEnabled = account.ProductionAccessEnabled;
  out.SendQuota = account.SendQuota;
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({
    error: { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message },
  }));
  process.exitCode = 1;
}
