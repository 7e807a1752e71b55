"""The AWS CLI against herald: /usr/bin/aws (v2, Debian) and the `aws` on PATH (v1).

`sesv2 send-email` to every simulator address (events checked field by field) and
`sesv2 get-account`, with the credentials in the environment and --endpoint-url.
"""

import json
import os
import subprocess

import harness
from harness import SENDER, SENDER_DOMAIN, SIM_ADDRS, SIM_LABELED

API_OPS = {"SendEmail", "SendRawEmail", "SendTemplatedEmail"}


def path_aws():
    """The `aws` on PATH if it is not Debian's /usr/bin/aws."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "aws")
        if os.access(p, os.X_OK) and os.path.realpath(p) != os.path.realpath("/usr/bin/aws"):
            return p
    return None


class AwsCli(harness.HeraldCase):
    def run_aws(self, aws, *args, creds=None):
        return self.herald.aws(creds or self.creds, *args, aws_bin=aws)

    def send_and_check(self, aws, label):
        subject = "awscli %s" % label
        dest = SIM_ADDRS + [SIM_LABELED[2]]
        content = json.dumps({"Simple": {"Subject": {"Data": subject},
                                         "Body": {"Text": {"Data": "sent by " + aws}}}})
        r = self.run_aws(aws, "sesv2", "send-email", "--from-email-address", SENDER,
                         "--destination", json.dumps({"ToAddresses": dest}),
                         "--content", content)
        self.assertEqual(r.returncode, 0, r.stderr)
        mid = json.loads(r.stdout)["MessageId"]
        self.check_message_events(self.herald, mid, source=SENDER, destination=dest,
                                  from_domain=SENDER_DOMAIN, operations=API_OPS,
                                  subject=subject, from_header=SENDER, to_header=dest)

        r = self.run_aws(aws, "sesv2", "get-account")
        self.assertEqual(r.returncode, 0, r.stderr)
        acct = json.loads(r.stdout)
        self.assertIs(acct["ProductionAccessEnabled"], False)
        self.assertEqual(acct["SendQuota"]["MaxSendRate"], 1000.0)
        self.assertEqual(acct["SendQuota"]["Max24HourSend"], 100000.0)
        # Simulator recipients count against the rate, not the daily quota.
        self.assertEqual(acct["SendQuota"]["SentLast24Hours"], 0.0)

        # An error reaches the CLI as SES's code and message, exit status 254 (v2) / 255 (v1).
        r = self.run_aws(aws, "sesv2", "send-email", "--from-email-address",
                         "nobody@unverified.example",
                         "--destination", json.dumps({"ToAddresses": [SIM_ADDRS[0]]}),
                         "--content", content)
        self.assertIn(r.returncode, (254, 255), r.stderr)
        self.assertIn("(MessageRejected)", r.stderr)
        self.assertIn("Email address is not verified. The following identities failed the "
                      "check in region US-EAST-1: nobody@unverified.example", r.stderr)

    def test_debian_aws_v2(self):
        if not os.access("/usr/bin/aws", os.X_OK):
            self.skipTest("/usr/bin/aws (Debian awscli) is not installed")
        self.send_and_check("/usr/bin/aws", "v2")

    def test_path_aws(self):
        aws = path_aws()
        if aws is None:
            self.skipTest("no aws other than /usr/bin/aws on PATH (pyenv awscli v1 not "
                          "installed)")
        self.send_and_check(aws, "path")


if __name__ == "__main__":
    harness.main()
