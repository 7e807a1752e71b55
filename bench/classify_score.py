#!/usr/bin/python3
"""bench/classify_score.py: herald's bounce classifier against the labelled corpus, and
Sisimai on the same files. Normally run through bench/classify_corpus.sh.

What it does
  1. Runs `taskset -c 0 herald classify FILE...` once over every file of the corpus's
     manifest.tsv (one process for all files), RUNS times (default 3); the JSON of the
     first run is scored, the best wall time is reported.
  2. Unless --no-sisimai: runs `taskset -c 0 perl bench/sisimai_classify.pl FILE...` the
     same way, SISIMAI_RUNS times (default 1), and scores its output with the same rules.
  3. Prints one table (column, herald %, n, Sisimai %, n, the issue's bar) and the times,
     and writes it to bench/results/classify.txt (--out) when Sisimai ran.
  --misses COLUMN lists the files where herald (or --tool sisimai) disagrees in COLUMN, one
  line each: file, expected, got, format, first 100 characters of the diagnostic code;
  then the most frequent (expected, got) pairs.
  --json FILE also writes the figures as one JSON object (bench/run_all.sh reads it).
  --herald-json FILE scores a saved `herald classify` output instead of running herald
  (no timing); handy while iterating on the classifier.

Columns and scoring rules (n = the rows a column scores)
  kind        every row. herald's kind is mapped onto the manifest's expected_kind:
              bounce -> hard_bounce if any recipient is hard, else soft_bounce;
              undetermined -> undetermined; complaint -> complaint; auto_reply ->
              auto_reply; delivered, not_feedback -> not_a_bounce. A mixed manifest row
              ("hard_bounce;soft_bounce") expects hard_bounce: hard if any recipient is hard.
              Sisimai: no result -> not_a_bounce; any bounce result (a reason other than
              delivered/feedback/vacation/undefined/onhold) -> hard_bounce if one has
              softbounce 0, else soft_bounce; else undefined/onhold -> undetermined,
              feedback -> complaint, vacation -> auto_reply, delivered -> not_a_bounce.
  hard_soft   rows whose expected kind is hard_bounce or soft_bounce. Expected "hard" if
              any manifest recipient is hard. Got "hard"/"soft" (any recipient hard) when
              the tool saw a bounce (herald: bounce or undetermined); anything else (not a
              bounce, complaint, ...) is a miss.
  reason      rows with a sisimai_reason. herald's reasons are mapped onto Sisimai's names
              with REASON_MAP below (unknown matches undefined or onhold); complaint,
              auto_reply and delivered count as the pseudo-reasons feedback, vacation and
              delivered; an undetermined report without recipients as undefined; a mail
              herald does not see as feedback has no reason. Sisimai's names are compared
              as they are.
              Single-valued row (no ';'): the first recipient's reason must match (1 or 0),
              even when n_facts > 1 (upstream then expects the same reason for each).
              Multi-valued row (';'-separated, one per upstream result): 1 if the tool's
              list of reasons equals the manifest's, in order; otherwise the fraction
              matched: each expected reason consumes one equal reason of the tool's list
              (as multisets), divided by the longer of the two lists. So the same reasons
              in another order still score 1 (tools list recipients in different orders),
              and a missing or an extra recipient costs its share.
  status      informational; bounce rows whose manifest status is not a Sisimai
              pseudo-code (x.0.9xx, x.9.x: synthesised by Sisimai, not in the mail). Exact
              enhanced status, by the same single/multi-valued rule as reason; pseudo-codes
              inside a multi-valued row are dropped from the expected list (and the
              fraction is then over the expected codes left).
  reply_code  informational; bounce rows with a replycode, same rule, exact match.
  feedback_type informational; complaint rows with a feedback_type.

The bars are issue 4's: kind 97 %, hard_soft 95 %, reason 90 %, speed 20x Sisimai on one
core. Nothing here looks at file names to decide anything: the names only join the tools'
output to the manifest's rows.
"""

import argparse
import collections
import csv
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# herald reason -> Sisimai reason names it agrees with.
REASON_MAP = {
    "unknown": ("undefined", "onhold"),
    "user_unknown": ("userunknown",),
    "mailbox_full": ("mailboxfull",),
    "mailbox_disabled": ("suspend",),
    "host_unknown": ("hostunknown",),
    "message_too_large": ("mesgtoobig",),
    "exceeds_limit": ("exceedlimit",),
    "spam": ("spamdetected",),
    "virus": ("virusdetected",),
    "blocked": ("blocked",),
    "bad_reputation": ("badreputation",),
    "rate_limited": ("speeding",),
    "too_many_connections": ("toomanyconn",),
    "policy": ("policyviolation",),
    "auth_failure": ("authfailure",),
    "require_ptr": ("requireptr",),
    "syntax_error": ("syntaxerror",),
    "network_error": ("networkerror",),
    "system_error": ("systemerror",),
    "system_full": ("systemfull",),
    "expired": ("expired",),
    "suppressed": ("suppressed",),
    "filtered": ("filtered",),
    "sender_rejected": ("rejected",),
    "relay_denied": ("norelaying",),
    "not_accepting": ("notaccept",),
    "mailbox_moved": ("hasmoved",),
    "content_error": ("contenterror",),
    "not_rfc_compliant": ("notcompliantrfc",),
    "mailer_error": ("mailererror",),
    "security_error": ("securityerror",),
    "tls_required": ("failedstarttls",),
    # herald kinds that are not bounces, as Sisimai names them.
    "feedback": ("feedback",),
    "vacation": ("vacation",),
    "delivered": ("delivered",),
}
KIND_PSEUDO_REASON = {"complaint": "feedback", "auto_reply": "vacation", "delivered": "delivered"}
SISIMAI_NOT_BOUNCE = {"delivered", "feedback", "vacation"}
SISIMAI_UNDETERMINED = {"undefined", "onhold"}
PSEUDO_STATUS = re.compile(r"^[45]\.(0\.9\d\d|9\.\d{1,3})$")

COLUMNS = ("kind", "hard_soft", "reason", "status", "reply_code", "feedback_type")
BARS = {"kind": 97.0, "hard_soft": 95.0, "reason": 90.0}
SPEED_BAR = 20.0


# ----------------------------------------------------------------------------- reading

def read_manifest(corpus):
    with open(os.path.join(corpus, "manifest.tsv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def split(value):
    return [v.strip() for v in value.split(";")] if value.strip() else []


def timed_runs(cmd, runs):
    """Runs cmd `runs` times; returns (stdout of the first run, best wall seconds, rc)."""
    first, best, rc = None, None, 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if first is None:
            first, rc = p.stdout, p.returncode
            if p.stderr:
                sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        best = dt if best is None else min(best, dt)
    return first, best, rc


def parse_lines(out, key="file"):
    objs = {}
    for line in out.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        o = json.loads(line)
        objs[o[key]] = o
    return objs


# -------------------------------------------------------------- what each tool said

class Answer:
    """One tool's reading of one file, in the terms the columns compare."""

    def __init__(self, kind, hard, reasons, statuses, reply_codes, feedback_type, fmt, diags):
        self.kind = kind                  # manifest vocabulary
        self.hard = hard                  # "hard" / "soft" / a non-bounce kind
        self.reasons = reasons            # list, tool vocabulary
        self.statuses = statuses          # list
        self.reply_codes = reply_codes    # list of strings ("" when none)
        self.feedback_type = feedback_type
        self.format = fmt
        self.diags = diags                # list, one per recipient


MISSING = Answer("(missing)", "(missing)", [], [], [], "", "", [])


def herald_answer(o):
    if o is None:
        return MISSING
    kind = o.get("kind", "")
    rs = o.get("recipients", [])
    any_hard = any(r.get("hard") for r in rs)
    if kind == "bounce":
        mk = "hard_bounce" if any_hard else "soft_bounce"
    elif kind in ("undetermined", "complaint", "auto_reply"):
        mk = kind
    else:  # delivered, not_feedback
        mk = "not_a_bounce"
    hard = ("hard" if any_hard else "soft") if kind in ("bounce", "undetermined") else mk
    if kind in ("bounce", "undetermined"):
        reasons = [r.get("reason", "") for r in rs] or (["unknown"] if kind == "undetermined"
                                                        else [])
    elif kind in KIND_PSEUDO_REASON:
        reasons = [KIND_PSEUDO_REASON[kind]]
    else:
        reasons = []
    return Answer(mk, hard, reasons, [r.get("status", "") for r in rs],
                  [str(r["reply_code"]) if r.get("reply_code") else "" for r in rs],
                  (o.get("complaint") or {}).get("feedback_type", ""), o.get("format", ""),
                  [r.get("diagnostic_code", "") for r in rs])


def sisimai_answer(o):
    if o is None:
        return MISSING
    facts = o.get("facts", [])
    if o.get("error"):
        return Answer("(error)", "(error)", [], [], [], "", "error", [o["error"]])
    reasons = [f.get("reason", "") for f in facts]
    bounces = [f for f in facts if f.get("reason") not in SISIMAI_NOT_BOUNCE]
    known = [f for f in bounces if f.get("reason") not in SISIMAI_UNDETERMINED]
    any_hard = any(f.get("softbounce") == 0 for f in bounces)
    if known:
        mk = "hard_bounce" if any_hard else "soft_bounce"
    elif bounces:
        mk = "undetermined"
    elif "feedback" in reasons:
        mk = "complaint"
    elif "vacation" in reasons:
        mk = "auto_reply"
    else:
        mk = "not_a_bounce"
    hard = ("hard" if any_hard else "soft") if bounces else mk
    fmt = facts[0].get("smtpagent", "") if facts else ""
    fb = next((f.get("feedbacktype", "") for f in facts if f.get("reason") == "feedback"), "")
    return Answer(mk, hard, reasons, [f.get("deliverystatus", "") for f in facts],
                  [str(f.get("replycode", "")) for f in facts], fb, fmt,
                  [f.get("diagnosticcode", "") for f in facts])


# -------------------------------------------------------------------------- scoring

def herald_reason_eq(expected, got):
    return expected in REASON_MAP.get(got, (got,))


def exact_eq(expected, got):
    return expected == got


def score_list(expected, got, eq, penalise_extra=True):
    """1.0 / 0.0 for a single expected value (against the first of `got`); for several,
    1.0 when `got` equals them in order, else the multiset fraction matched."""
    if not expected:
        return None
    if len(expected) == 1:
        return 1.0 if got and eq(expected[0], got[0]) else 0.0
    if len(got) == len(expected) and all(eq(e, g) for e, g in zip(expected, got)):
        return 1.0
    used = [False] * len(got)
    matched = 0
    for e in expected:
        for i, g in enumerate(got):
            if not used[i] and eq(e, g):
                used[i] = True
                matched += 1
                break
    denom = max(len(expected), len(got)) if penalise_extra else len(expected)
    return matched / denom


def score_row(row, ans, tool):
    """Returns {column: (score or None when not scored, expected text, got text)}."""
    out = {}
    exp_kinds = split(row["expected_kind"])
    exp_kind = "hard_bounce" if "hard_bounce" in exp_kinds else (exp_kinds[0] if exp_kinds
                                                                 else "")
    out["kind"] = (1.0 if ans.kind == exp_kind else 0.0, exp_kind, ans.kind)

    is_bounce = exp_kind in ("hard_bounce", "soft_bounce")
    if is_bounce:
        exp_hs = "hard" if exp_kind == "hard_bounce" else "soft"
        out["hard_soft"] = (1.0 if ans.hard == exp_hs else 0.0, exp_hs, ans.hard)

    reason_eq = herald_reason_eq if tool == "herald" else exact_eq
    exp_reasons = split(row["sisimai_reason"])
    if exp_reasons:
        out["reason"] = (score_list(exp_reasons, ans.reasons, reason_eq),
                         ";".join(exp_reasons), ";".join(ans.reasons) or "(none)")

    if is_bounce:
        exp_status = split(row["status"])
        multi = len(exp_status) > 1
        kept = [s for s in exp_status if not PSEUDO_STATUS.match(s)]
        if kept:
            if multi and len(kept) == 1:
                # One real code among pseudo-codes: it must be somewhere in the list.
                sc = 1.0 if kept[0] in ans.statuses else 0.0
            else:
                sc = score_list(kept, ans.statuses, exact_eq,
                                penalise_extra=len(kept) == len(exp_status))
            out["status"] = (sc, ";".join(exp_status), ";".join(ans.statuses) or "(none)")
        exp_codes = [c for c in split(row["replycode"]) if c]
        if exp_codes and len(exp_codes) == len(split(row["replycode"])):
            out["reply_code"] = (score_list(exp_codes, ans.reply_codes, exact_eq),
                                 ";".join(exp_codes), ";".join(ans.reply_codes) or "(none)")

    if exp_kind == "complaint" and row.get("feedback_type"):
        out["feedback_type"] = (1.0 if ans.feedback_type == row["feedback_type"] else 0.0,
                                row["feedback_type"], ans.feedback_type or "(none)")
    return out


def score_all(rows, answers, tool):
    totals = {c: [0.0, 0] for c in COLUMNS}
    per_row = []
    for row in rows:
        ans = answers.get(row["file"], MISSING)
        s = score_row(row, ans, tool)
        per_row.append((row, ans, s))
        for col, (sc, _e, _g) in s.items():
            if sc is None:
                continue
            totals[col][0] += sc
            totals[col][1] += 1
    pct = {c: (100.0 * t[0] / t[1] if t[1] else None, t[1]) for c, t in totals.items()}
    return pct, per_row


# ------------------------------------------------------------------------ reporting

def fmt_pct(p):
    return "  -   " if p is None else "%6.2f" % p


def table(herald_pct, sisimai_pct):
    lines = ["%-14s %9s %5s %10s %5s %6s" % ("column", "herald %", "n", "Sisimai %", "n", "bar")]
    for c in COLUMNS:
        hp, hn = herald_pct[c]
        sp, sn = sisimai_pct[c] if sisimai_pct else (None, 0)
        bar = ">= %g" % BARS[c] if c in BARS else "info"
        mark = ""
        if c in BARS and hp is not None:
            mark = "  ok" if hp >= BARS[c] else "  BELOW BAR"
        lines.append("%-14s %9s %5d %10s %5s %6s%s" % (c, fmt_pct(hp), hn, fmt_pct(sp),
                                                       sn if sisimai_pct else "-", bar, mark))
    return lines


def print_misses(per_row, column, limit_diag=100):
    misses = [(row, ans, s[column]) for row, ans, s in per_row
              if column in s and s[column][0] is not None and s[column][0] < 1.0]
    pairs = collections.Counter()
    for row, ans, (sc, exp, got) in misses:
        diag = ""
        if ans.diags:
            diag = next((d for d in ans.diags if d), "")
        diag = " ".join(diag.split())[:limit_diag]
        partial = "" if sc == 0.0 else " (%.2f)" % sc
        print("%-46s %-24s %-24s %-14s %s" % (row["file"].split("/", 1)[-1], exp,
                                                got + partial, ans.format or "-", diag))
        pairs[(exp, got)] += 1
    print("\n%d of %d scored rows miss on %s. Most frequent (expected -> got):" % (
        len(misses), sum(1 for _r, _a, s in per_row if column in s and s[column][0] is not None),
        column))
    for (exp, got), n in pairs.most_common(15):
        print("  %3d  %s -> %s" % (n, exp, got))


def machine_lines():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    sis = subprocess.run(["perl", "-MSisimai", "-e", "print Sisimai->version"],
                         capture_output=True, text=True).stdout.strip() or "?"
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return ["date (UTC): %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
            "machine: %d cores, %s, kernel %s, load %s" % (os.cpu_count(), cpu,
                                                            platform.release(), load),
            "herald: git %s%s; Sisimai %s (libsisimai-perl)" % (rev, "+changes" if dirty else "",
                                                               sis)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--herald", default=os.path.join(REPO, "build", "herald"))
    ap.add_argument("--corpus", default=os.path.join(REPO, "..", "shared", "corpus"))
    ap.add_argument("--runs", type=int, default=3, help="timed herald runs (best is kept)")
    ap.add_argument("--sisimai-runs", type=int, default=1, help="timed Sisimai runs (1-10)")
    ap.add_argument("--no-sisimai", action="store_true", help="score herald only")
    ap.add_argument("--herald-json", help="score this saved `herald classify` output")
    ap.add_argument("--misses", choices=COLUMNS, help="list the files that disagree")
    ap.add_argument("--tool", choices=("herald", "sisimai"), default="herald",
                    help="whose misses --misses lists")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "classify.txt"),
                    help="results file (written only when Sisimai ran); '' for none")
    ap.add_argument("--no-taskset", action="store_true", help="do not pin to CPU 0")
    ap.add_argument("--json", help="also write the figures as one JSON object to this file")
    args = ap.parse_args()

    corpus = os.path.abspath(args.corpus)
    rows = read_manifest(corpus)
    paths = [os.path.join(corpus, r["file"]) for r in rows]
    pin = [] if args.no_taskset else ["taskset", "-c", "0"]

    def rel(objs):
        return {os.path.relpath(k, corpus) if os.path.isabs(k) else k: v
                for k, v in objs.items()}

    herald_time = None
    if args.herald_json:
        with open(args.herald_json, "rb") as f:
            herald_objs = rel(parse_lines(f.read()))
    else:
        out, herald_time, rc = timed_runs(pin + [args.herald, "classify"] + paths,
                                          max(1, args.runs))
        if rc != 0:
            sys.stderr.write("herald classify exited %d\n" % rc)
        herald_objs = rel(parse_lines(out))
    herald = {k: herald_answer(v) for k, v in herald_objs.items()}

    # Start-up alone (the interpreter or the dynamic loader and the binary's own set-up),
    # measured on one empty message, so the per-message cost can be told apart.
    empty = os.path.join(tempfile.mkdtemp(prefix="classify-bench-"), "empty.eml")
    with open(empty, "w") as f:
        f.write("\n")
    herald_start = None
    if herald_time is not None:
        _, herald_start, _ = timed_runs(pin + [args.herald, "classify", empty], 10)

    run_sisimai = not args.no_sisimai and (args.misses is None or args.tool == "sisimai")
    sisimai = None
    sisimai_time = None
    sisimai_start = None
    if run_sisimai:
        out, sisimai_time, rc = timed_runs(
            pin + ["perl", os.path.join(REPO, "bench", "sisimai_classify.pl")] + paths,
            max(1, min(10, args.sisimai_runs)))
        if rc != 0:
            sys.stderr.write("sisimai_classify.pl exited %d\n" % rc)
        sisimai = {k: sisimai_answer(v) for k, v in rel(parse_lines(out)).items()}
        _, sisimai_start, _ = timed_runs(
            pin + ["perl", os.path.join(REPO, "bench", "sisimai_classify.pl"), empty], 10)

    herald_pct, herald_rows = score_all(rows, herald, "herald")
    sisimai_pct, sisimai_rows = score_all(rows, sisimai, "sisimai") if sisimai else (None, None)

    if args.misses:
        per_row = sisimai_rows if args.tool == "sisimai" else herald_rows
        if per_row is None:
            sys.exit("--tool sisimai needs Sisimai (drop --no-sisimai)")
        print_misses(per_row, args.misses)
        return

    lines = ["herald classify vs Sisimai on %d emails of %s" % (len(rows), corpus)]
    lines += machine_lines()
    lines.append("")
    lines += table(herald_pct, sisimai_pct)
    lines.append("")
    if herald_time is not None:
        lines.append("herald:  %8.1f ms wall, best of %d, one process for all %d files, "
                     "taskset -c 0 (%.0f files/s)" % (herald_time * 1e3, args.runs, len(rows),
                                                      len(rows) / herald_time))
    if sisimai_time is not None:
        lines.append("Sisimai: %8.1f ms wall, best of %d, one perl process for all files "
                     "(%.0f files/s)" % (sisimai_time * 1e3, max(1, min(10, args.sisimai_runs)),
                                         len(rows) / sisimai_time))
    per_message_ratio = None
    if herald_time and sisimai_time:
        ratio = sisimai_time / herald_time
        lines.append("speed, whole command: herald is %.1fx Sisimai (bar >= %gx)%s" % (
            ratio, SPEED_BAR, "  ok" if ratio >= SPEED_BAR else "  BELOW BAR"))
        h_work = herald_time - herald_start
        s_work = sisimai_time - sisimai_start
        if h_work > 0 and s_work > 0:
            per_message_ratio = s_work / h_work
            lines.append(
                "speed, per message (start-up on one empty message subtracted: herald %.1f ms, "
                "Sisimai %.1f ms): %.1f vs %.1f us/message, herald is %.1fx Sisimai%s" % (
                    herald_start * 1e3, sisimai_start * 1e3, s_work * 1e6 / len(rows),
                    h_work * 1e6 / len(rows), per_message_ratio,
                    "  ok" if per_message_ratio >= SPEED_BAR else "  BELOW BAR"))
    lines.append("Sisimai 4.25 predates some of the manifest's reason names (go-sisimai 5): "
                 "its figures are raw agreement.")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.json:
        ratio = sisimai_time / herald_time if herald_time and sisimai_time else None
        figures = {
            "emails": len(rows),
            "herald": {c: {"percent": p, "n": n} for c, (p, n) in herald_pct.items()},
            "sisimai": ({c: {"percent": p, "n": n} for c, (p, n) in sisimai_pct.items()}
                        if sisimai_pct else None),
            "herald_ms": herald_time * 1e3 if herald_time else None,
            "sisimai_ms": sisimai_time * 1e3 if sisimai_time else None,
            "speed_ratio": ratio,
            "speed_ratio_per_message": per_message_ratio,
            "herald_startup_ms": herald_start * 1e3 if herald_start else None,
            "sisimai_startup_ms": sisimai_start * 1e3 if sisimai_start else None,
        }
        with open(args.json, "w") as f:
            json.dump(figures, f)
            f.write("\n")
    if sisimai is not None and args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
        print("written to %s" % args.out)


if __name__ == "__main__":
    main()
