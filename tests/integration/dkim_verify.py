#!/usr/bin/python3
"""Checks the DKIM signatures of one message with an independent verifier (dkimpy, Debian's
python3-dkim), without DNS: the key record is given on the command line.

    dkim_verify.py MESSAGE_FILE TXT_VALUE [--selector S --domain D]

MESSAGE_FILE holds the message as transmitted (CRLF line ends, DKIM-Signature on top);
TXT_VALUE is what herald asks to publish at <selector>._domainkey.<domain>
("v=DKIM1; k=rsa; p=..."). The value is served for any name, or only for
<S>._domainkey.<D> when --selector and --domain are given. Every DKIM-Signature field of
the message must verify. Exit status: 0 all verify, 1 one does not (or there is none),
2 usage or I/O error. Prints one line per signature to stdout."""

import argparse
import sys

try:
    import dkim
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("dkim_verify: python3-dkim is not installed\n")
    sys.exit(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message_file")
    parser.add_argument("txt_value")
    parser.add_argument("--selector")
    parser.add_argument("--domain")
    args = parser.parse_args()
    try:
        with open(args.message_file, "rb") as f:
            message = f.read()
    except OSError as e:
        sys.stderr.write(f"dkim_verify: {e}\n")
        return 2

    want = None
    if args.selector and args.domain:
        want = f"{args.selector}._domainkey.{args.domain}.".lower().encode()
    lookups = []

    def dnsfunc(name, timeout=5):
        lookups.append(name)
        if want is not None and name.lower() != want:
            return None
        return args.txt_value.encode()

    d = dkim.DKIM(message)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    if count == 0:
        print("no DKIM-Signature field")
        return 1
    ok = True
    for idx in range(count):
        try:
            result = d.verify(idx=idx, dnsfunc=dnsfunc)
        except Exception as e:  # dkimpy raises more than DKIMException on bad keys
            result = False
            print(f"signature {idx}: error: {e}")
        print(f"signature {idx}: {'pass' if result else 'FAIL'}")
        ok = ok and bool(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
