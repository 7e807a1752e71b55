"""Crash test: every acknowledged message survives a SIGKILL.

A production account; concurrent senders over SMTP (STARTTLS + AUTH, several messages
per connection) and over the API (boto3 SendEmail), all to non-simulator recipients so
the messages stay queued. herald is SIGKILLed mid-load, restarted (it must come up and
recover), stopped with SIGTERM (exit 0), and `herald spool list --json` (offline) must
contain every MessageId that a client saw acknowledged (250 Ok <id> / 200), with its
recipients.
"""

import sys
import threading
import time

import harness
from harness import SENDER

SMTP_THREADS = 4
API_THREADS = 4
KILL_AFTER_ACKS = 400  # SIGKILL once this many messages were acknowledged...
KILL_AFTER_SECONDS = 8  # ...or after this long, whichever comes first


class Crash(harness.HeraldCase):
    PRODUCTION = True
    # Real recipients stay queued; no DNS ever leaves the box (nothing listens there).
    EXTRA_CONFIG = '\n[dns]\nserver = "127.0.0.1:9"\n'
    DELIVERY_ENABLED = True

    def test_acknowledged_messages_survive_sigkill(self):
        acked = {}  # message id -> recipients
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def smtp_sender(n):
            seq = 0
            while not stop.is_set():
                try:
                    s = self.smtp()
                    s.login(self.creds)
                except (OSError, AssertionError, ConnectionError):
                    return
                try:
                    while not stop.is_set():
                        seq += 1
                        rcpts = ["user-s%d-%d@example.com" % (n, seq),
                                 "other-s%d-%d@example.net" % (n, seq)]
                        msg = harness.rfc5322(SENDER, rcpts, "crash smtp %d/%d" % (n, seq))
                        reply = s.send_mail(SENDER, rcpts, msg)
                        if reply.startswith("250 Ok "):
                            with lock:
                                acked[harness.smtp_message_id(reply)] = rcpts
                        elif not reply.startswith(("4", "5")):
                            errors.append(reply)
                except (OSError, ConnectionError, ValueError):
                    return  # herald died mid-transaction: nothing acknowledged
                finally:
                    s.close()

        def api_sender(n):
            from botocore.exceptions import BotoCoreError, ClientError
            c = self.herald.boto(self.creds)
            seq = 0
            while not stop.is_set():
                seq += 1
                rcpt = "user-a%d-%d@example.org" % (n, seq)
                try:
                    r = c.send_email(FromEmailAddress=SENDER,
                                     Destination={"ToAddresses": [rcpt]},
                                     Content={"Simple": {
                                         "Subject": {"Data": "crash api %d/%d" % (n, seq)},
                                         "Body": {"Text": {"Data": "x" * 2000}}}})
                except (BotoCoreError, ClientError):
                    return
                with lock:
                    acked[r["MessageId"]] = [rcpt]

        threads = ([threading.Thread(target=smtp_sender, args=(i,)) for i in range(SMTP_THREADS)]
                   + [threading.Thread(target=api_sender, args=(i,)) for i in range(API_THREADS)])
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + KILL_AFTER_SECONDS
            harness.wait_until(lambda: len(acked) >= KILL_AFTER_ACKS or time.monotonic() > deadline,
                               KILL_AFTER_SECONDS + 5, "load")
            self.herald.kill()
            with lock:
                snapshot = dict(acked)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        # Anything acknowledged after our snapshot was still answered before the kill.
        snapshot.update(acked)
        self.assertFalse(errors, errors)
        self.assertGreater(len(snapshot), 10, "too little load before the kill")

        self.herald.start()
        rc = self.herald.stop()
        self.assertEqual(rc, 0, self.herald.log_tail())

        spool = self.herald.spool_list()
        sys.stderr.write("\n%d messages acknowledged before SIGKILL, %d in the spool\n"
                         % (len(snapshot), len(spool)))
        self.assertIsInstance(spool, list)
        by_id = {}
        for entry in spool:
            self.assertIsInstance(entry.get("id"), str, entry)
            by_id[entry["id"]] = entry
        missing = sorted(set(snapshot) - set(by_id))
        self.assertFalse(missing, "%d of %d acknowledged messages lost, e.g. %s"
                         % (len(missing), len(snapshot), missing[:5]))
        for mid, rcpts in snapshot.items():
            entry = by_id[mid]
            self.assertEqual(sorted(entry.get("recipients", [])), sorted(rcpts), entry)
            self.assertEqual(sorted(entry.get("pending", [])), sorted(rcpts), entry)
        # Start herald again so tearDownClass can stop it and check the exit status.
        self.herald.start()


if __name__ == "__main__":
    harness.main()
