// Sends one message with nodemailer over SMTP (STARTTLS, AUTH, self-signed certificate
// accepted) and prints {"response", "messageId", "accepted", "rejected"} or {"error"} as
// JSON. Input: one JSON argument {host, port, user, pass, authMethod, from, to, subject,
// text, attachment?}.
import nodemailer from "nodemailer";

const p = JSON.parse(process.argv[2]);
const transport = nodemailer.createTransport({
  host: p.host,
  port: p.port,
  secure: false,
  requireTLS: true,
  auth: { user: p.user, pass: p.pass },
  authMethod: p.authMethod ?? "PLAIN",
  tls: { rejectUnauthorized: false },
  name: "nodemailer.client.test",
  connectionTimeout: 10000,
  greetingTimeout: 10000,
  socketTimeout: 30000,
});
try {
  const info = await transport.sendMail({
    from: p.from,
    to: p.to,
    subject: p.subject,
    text: p.text,
    html: `<p>${p.text}</p>`,
    headers: { "X-Nodemailer-Test": "yes" },
    attachments: p.attachment ? [{ filename: "note.txt", content: p.attachment }] : [],
  });
  console.log(JSON.stringify({
    response: info.response, messageId: info.messageId,
    accepted: info.accepted, rejected: info.rejected,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: { message: e.message, response: e.response,
                                        responseCode: e.responseCode, code: e.code } }));
  process.exitCode = 1;
} finally {
  transport.close();
}
