"""herald's process contract: ready.json, SIGTERM exit 0, configuration errors stop
start-up with a message naming the key, `herald events tail`, `herald spool list`."""

import json
import os
import subprocess
import unittest

import harness
from harness import SENDER, SIM_ADDRS


def run_serve(config_text, timeout=30):
    h = harness.Herald(config_text=config_text)
    try:
        r = subprocess.run(
            [h.binary, "serve", "--config", h.config_path, "--data-dir", h.data_dir,
             "--http", "127.0.0.1:0", "--smtp", "127.0.0.1:0"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return r, os.path.exists(os.path.join(h.data_dir, "ready.json"))
    finally:
        h.cleanup()


class ConfigErrors(unittest.TestCase):
    def expect_refused(self, config_text, *needles):
        r, ready = run_serve(config_text)
        self.assertNotEqual(r.returncode, 0, "herald started with a bad config")
        self.assertFalse(ready, "ready.json written despite a bad config")
        for n in needles:
            self.assertIn(n, r.stderr + r.stdout)

    def test_unknown_top_level_key(self):
        self.expect_refused('region = "us-east-1"\nhostnmae = "typo.test"\n', "hostnmae")

    def test_unknown_key_in_table(self):
        self.expect_refused('region = "us-east-1"\n[smtp]\nallow_insecure_auth = true\n',
                            "allow_insecure_auth")

    def test_unknown_table(self):
        self.expect_refused('region = "us-east-1"\n[smpt]\nlisten = "127.0.0.1:0"\n', "smpt")

    def test_wrong_type(self):
        self.expect_refused('[sending]\nsandbox_max_send_rate = "fast"\n',
                            "sandbox_max_send_rate")

    def test_out_of_bounds(self):
        self.expect_refused('[sending]\nmax_recipients = 500\n', "max_recipients")

    def test_not_toml(self):
        self.expect_refused('region = "us-east-1\n', "herald.toml")

    def test_missing_config_file(self):
        h = harness.Herald()
        try:
            r = subprocess.run(
                [h.binary, "serve", "--config", h.config_path + ".missing", "--data-dir",
                 h.data_dir, "--http", "127.0.0.1:0", "--smtp", "127.0.0.1:0"],
                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("herald.toml.missing", r.stderr + r.stdout)
        finally:
            h.cleanup()


class Lifecycle(harness.HeraldCase):
    def test_ready_json(self):
        with open(os.path.join(self.herald.data_dir, "ready.json")) as f:
            info = json.load(f)
        self.assertEqual(sorted(info), ["http", "pid", "smtp"])
        self.assertEqual(info["pid"], self.herald.proc.pid)
        self.assertNotEqual(info["http"], info["smtp"])
        harness.wait_port(*self.herald.smtp_addr, timeout=1)

    def test_logs_are_json_lines(self):
        with open(self.herald.log_path, "rb") as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        self.assertTrue(lines, "herald logged nothing on stderr")
        for l in lines:
            obj = json.loads(l)
            self.assertIsInstance(obj, dict)

    def test_events_tail(self):
        c = self.herald.boto(self.creds)
        mid = c.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [SIM_ADDRS[0]]},
                           Content={"Simple": {"Subject": {"Data": "tail"},
                                               "Body": {"Text": {"Data": "t"}}}})["MessageId"]
        self.wait_message_events(self.herald, mid, [SIM_ADDRS[0]])
        r = self.herald.cli("events", "tail", "-n", "2")
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertEqual([json.loads(l) for l in lines], self.herald.events()[-2:])

    def test_restart_keeps_accounts_and_spool(self):
        h = harness.Herald(extra_config='\n[dns]\nserver = "127.0.0.1:9"\n')
        try:
            h.start()
            acct = h.create_account("persist")
            h.verify("persist", SENDER)
            h.production("persist")
            c = h.boto(acct)
            mid = c.send_email(FromEmailAddress=SENDER,
                               Destination={"ToAddresses": ["real@example.com"]},
                               Content={"Simple": {"Subject": {"Data": "queued"},
                                                   "Body": {"Text": {"Data": "t"}}}})["MessageId"]
            # Events are published just after the reply: wait for them. The DNS server is a
            # closed port, so delivery can only be delayed (DeliveryDelay), never finished.
            harness.wait_until(
                lambda: "Send" in [e["eventType"] for e in h.events_for(mid)], 10,
                "the Send event")
            types = {e["eventType"] for e in h.events_for(mid)}
            self.assertLessEqual(types, {"Send", "DeliveryDelay"},
                                 "a recipient whose domain cannot be looked up stays queued")
            self.assertEqual(h.stop(), 0, h.log_tail())
            spool = {e["id"]: e for e in h.spool_list()}
            self.assertIn(mid, spool)
            self.assertEqual(spool[mid]["recipients"], ["real@example.com"])
            self.assertEqual(spool[mid]["pending"], ["real@example.com"])
            h.start()
            self.assertIs(h.boto(acct).get_account()["ProductionAccessEnabled"], True)
            self.assertEqual(h.stop(), 0, h.log_tail())
        finally:
            h.cleanup()


if __name__ == "__main__":
    harness.main()
