"""The table and ratios of bench/run.sh, from wrk's saved outputs. Standard library only.

Usage: report.py RESULTS.tsv SKIPS.tsv CORES SECONDS POCKETBASE-VERSION
RESULTS.tsv rows: SERVER CASE WRK-OUTPUT-FILE, or SERVER "rss" KILOBYTES.
"""

import re
import sys

results_file, skips_file, cores, seconds, pb_version = sys.argv[1:6]

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
CASES = {"get": "GET (fixed body)", "get-id": "GET by id", "page": "filtered page of 20", "page-embed": "page + project", "projects-tasks": "20 projects + 5 tasks",
         "post": "POST", "patch": "PATCH"}


def to_ms(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text or "")
    return float(match.group(1)) * UNITS_MS[match.group(2)] if match else None


def parse(path):
    text = open(path).read()
    out = {"failed": "WRK FAILED" in text}
    if m := re.search(r"Requests/sec:\s+([0-9.]+)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in [0-9.]+\w+, ([0-9.]+)(B|KB|MB|GB) read", text):
        out["requests"] = int(m.group(1))
        size = float(m.group(2)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(3)]
        out["bytes_per_response"] = size / int(m.group(1)) if int(m.group(1)) else None
    for pct in ("50", "99"):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M):
            out["p" + pct] = to_ms(m.group(1))
    if m := re.search(r"^NON2XX (\d+)", text, re.M):
        out["non2xx"] = int(m.group(1))
    # wrk's own count (it counts 3xx as bad too); a cross-check of the Lua count.
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        out["wrk_non2xx3xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        out["socket_errors"] = sum(int(g) for g in m.groups())
    return out


rows, rss = {}, {}
for line in open(results_file):
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 3:
        continue
    server, case, value = parts
    if case == "rss":
        rss[server] = int(value) if value.isdigit() else None
    else:
        rows[(server, case)] = parse(value)
skips = [line.rstrip("\n").split("\t", 1) for line in open(skips_file) if line.strip()]


def fmt_ms(value):
    return f"{value:.2f} ms" if value is not None else "?"


print()
print(f"Feedbase bench: {cores} cores, wrk -t2 -c50 --latency, {seconds} s per case"
      + (f", {pb_version}" if pb_version else ""))
print()
print(f"| {'server':<12} | {'case':<20} | {'req/s':>9} | {'p50':>9} | {'p99':>9} | {'non-2xx':>7} | {'sock err':>8} | {'B/resp':>6} |")
print(f"| {'-' * 12} | {'-' * 20} | {'-' * 8}: | {'-' * 8}: | {'-' * 8}: | {'-' * 6}: | {'-' * 7}: | {'-' * 5}: |")
problems = []
for (server, case), r in rows.items():
    rps = f"{r['rps']:,.0f}" if "rps" in r else "?"
    bad = r.get("non2xx")
    errors = r.get("socket_errors", 0)
    size = f"{r['bytes_per_response']:.0f}" if r.get("bytes_per_response") else "?"
    print(f"| {server:<12} | {CASES.get(case, case):<20} | {rps:>9} | {fmt_ms(r.get('p50')):>9} | "
          f"{fmt_ms(r.get('p99')):>9} | {('?' if bad is None else bad):>7} | {errors:>8} | {size:>6} |")
    if r["failed"] or "rps" not in r:
        problems.append(f"{server} {case}: wrk failed or printed no rate")
    if bad is None:
        problems.append(f"{server} {case}: the Lua script printed no non-2xx count")
    elif bad:
        share = bad / r["requests"] if r.get("requests") else 0
        problems.append(f"{server} {case}: {bad} non-2xx answers ({share:.1%} of requests)")
    if errors:
        problems.append(f"{server} {case}: {errors} socket errors")
print("(B/resp: bytes wrk read per response, headers included)")
print()
for server, kb in rss.items():
    print(f"peak RSS {server}: " + (f"{kb / 1024:.1f} MiB" if kb else "?"))
for server, reason in skips:
    print(f"skipped {server}: {reason}")


def ratio(a, b):
    ra, rb = rows.get(a, {}).get("rps"), rows.get(b, {}).get("rps")
    return f"{ra / rb:.2f}" if ra and rb else "n/a"


print()
print("ratios (requests/s; RSS in bytes):")
lines = [("feedbase GET by id / ceiling", ratio(("feedbase", "get-id"), ("ceiling", "get")))]
for case in ("get-id", "page", "page-embed", "post", "patch"):
    lines.append((f"feedbase / pocketbase, {CASES[case]}", ratio(("feedbase", case), ("pocketbase", case))))
lines.append(("feedbase page + project / page (issue #14: >= 0.67)", ratio(("feedbase", "page-embed"), ("feedbase", "page"))))
for case in ("get-id", "page", "post", "patch"):
    lines.append((f"feedbase-jwt / feedbase, {CASES[case]}", ratio(("feedbase-jwt", case), ("feedbase", case))))
fb, pb = rss.get("feedbase"), rss.get("pocketbase")
lines.append(("peak RSS feedbase / pocketbase", f"{fb / pb:.2f}" if fb and pb else "n/a"))
for label, value in lines:
    print(f"  {label:<42} {value:>6}")
if problems:
    print()
    print("WARNING, these figures include failures:")
    for problem in problems:
        print("  " + problem)
