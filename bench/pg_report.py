"""The tables and ratios of bench/pg.sh, from its results file. Standard library only.

Usage: pg_report.py RESULTS.tsv CORES SECONDS SUBSCRIBERS
RESULTS.tsv rows (tab-separated), by their first field:
  load LABEL LOADAVG | version NAME TEXT | rss ENGINE KB | pgmem LABEL PSS-KB | connections N COUNT
  rest|nodes LABEL CASE ROUND WRK-OUTPUT FEEDBASE-TICKS POSTGRES-TICKS "BUSY TOTAL" "BUSY TOTAL" T0 T1 WAITS
  feed|nodefeed LABEL RATE ROUND FANOUT-OUTPUT
"""

import os
import re
import sys
from collections import Counter, defaultdict

results_file, cores, seconds, subscribers = sys.argv[1:5]
TICK = os.sysconf("SC_CLK_TCK")
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
CASES = {"get-id": "GET by id", "page": "filtered page of 20", "page-embed": "page + project", "post": "POST",
         "patch": "PATCH", "page-ix": "page, index in its order (PG) / page"}
problems = []


def to_ms(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text or "")
    return float(match.group(1)) * UNITS_MS[match.group(2)] if match else None


def parse_wrk(path):
    """As report.py reads wrk's output (run.sh)."""
    text = open(path).read()
    out = {"failed": "WRK FAILED" in text}
    if m := re.search(r"Requests/sec:\s+([0-9.]+)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", text):
        out["requests"] = int(m.group(1))
    for pct in ("50", "99"):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M):
            out["p" + pct] = to_ms(m.group(1))
    if m := re.search(r"^NON2XX (\d+)", text, re.M):
        out["non2xx"] = int(m.group(1))
    out["socket_errors"] = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        out["socket_errors"] = sum(int(g) for g in m.groups())
    return out


def parse_fanout(path):
    text = open(path).read()
    out = {"failed": "FANOUT FAILED" in text}
    if m := re.search(r"^writes: (\d+) in ([0-9.]+) s \((\d+)/s\)", text, re.M):
        out["writes"], out["write_rate"] = int(m.group(1)), int(m.group(3))
    if m := re.search(r"^events received: (\d+) of (\d+) expected; out of order or gaps: (\d+); subscribers closed early: (\d+)", text, re.M):
        out["events"], out["expected"], out["gaps"], out["closed"] = map(int, m.groups())
    if m := re.search(r"^subscribers short of the last event after 30 s: (\d+)", text, re.M):
        out["short"] = int(m.group(1))
    if m := re.search(r"^commit→delivery latency .*: p50 (\d+), p99 (\d+), max (\d+)", text, re.M):
        out["p50"], out["p99"], out["max"] = map(int, m.groups())
    if m := re.search(r"^commit→delivery to the last .*: p50 (\d+), p99 (\d+), max (\d+)", text, re.M):
        out["last_p50"], out["last_p99"] = int(m.group(1)), int(m.group(2))
    return out


def waits(path):
    """The wait events of active backends: mean number of backends in each per sample."""
    samples, counts = 0, Counter()
    for line in open(path):
        line = line.strip()
        if line == "--":
            samples += 1
        elif line:
            event, _, count = line.rpartition(" ")
            counts[event] += int(count)
    if not samples:
        return "?"
    top = counts.most_common(3)
    return ", ".join(f"{event} {count / samples:.1f}" for event, count in top) or "none active"


def us(value):
    return f"{value:,.0f}" if value is not None else "?"


def ms(value):
    return f"{value:.2f} ms" if value is not None else "?"


rest, nodes, feed, nodefeed = {}, {}, defaultdict(list), defaultdict(list)
loads, versions, rss, pgmem, connections = [], {}, {}, {}, {}
for line in open(results_file):
    f = line.rstrip("\n").split("\t")
    kind = f[0]
    if kind == "load":
        loads.append((f[1], f[2]))
    elif kind == "version":
        versions[f[1]] = f[2]
    elif kind == "rss":
        rss[f[1]] = int(f[2]) if f[2].isdigit() else None
    elif kind == "pgmem":
        pgmem[f[1]] = int(f[2])
    elif kind == "connections":
        connections[f[1]] = f[2]
    elif kind in ("rest", "nodes"):
        label, case, rnd, out, fb, pg, m0, m1, t0, t1, wait = f[1:12]
        r = parse_wrk(out)
        wall = float(t1) - float(t0)
        (b0, all0), (b1, all1) = map(int, m0.split()), map(int, m1.split())
        r.update(fb=int(fb) / TICK / wall, pg=int(pg) / TICK / wall, busy=(b1 - b0) / max(1, all1 - all0),
                 waits=waits(wait))
        # CPU per request (µs): less at the mercy of the neighbours' load than req/s.
        r["cpu"] = (int(fb) + int(pg)) / TICK / r["requests"] * 1e6 if r.get("requests") else None
        r["pg_cpu"] = int(pg) / TICK / r["requests"] * 1e6 if r.get("requests") else None
        (rest if kind == "rest" else nodes)[(label, case, int(rnd))] = r
        name = f"{'node count ' if kind == 'nodes' else ''}{label} {case} round {rnd}"
        if r["failed"] or "rps" not in r:
            problems.append(f"{name}: wrk failed or printed no rate")
        if r.get("non2xx"):
            problems.append(f"{name}: {r['non2xx']} non-2xx answers")
        if r["socket_errors"]:
            problems.append(f"{name}: {r['socket_errors']} socket errors")
    elif kind in ("feed", "nodefeed"):
        r = parse_fanout(f[4])
        r["rate"], r["round"] = int(f[2]), int(f[3])
        (feed if kind == "feed" else nodefeed)[f[1]].append(r)
        name = f"feed {f[1]} at {f[2]}/s round {f[3]}"
        if r["failed"] or "events" not in r:
            problems.append(f"{name}: Fanout failed or printed no count")
        elif r["events"] < r["expected"] or r["gaps"] or r.get("short"):
            problems.append(f"{name}: {r['events']} of {r['expected']} events, {r['gaps']} gaps, "
                            f"{r.get('short', '?')} subscribers short of the last event")

print()
print(f"bench/pg.sh: {cores} cores, {seconds} s per wrk case; " + ", ".join(f"{k} {v}" for k, v in versions.items()))
print("load average (1, 5, 15 min): " + "; ".join(f"{label}: {value}" for label, value in loads))

if rest:
    print()
    print("One node, SQLite against PostgreSQL (wrk -t2 -c50); cores: CPU seconds per second of the PG case")
    print()
    print("| case | round | SQLite req/s | p50 | p99 | PostgreSQL req/s | p50 | p99 | PG/SQLite | CPU µs/req SQLite | PG (of it postgres) | PG case: feedbase cores | postgres cores | busiest waits |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for (label, case, rnd), p in rest.items():
        if label != "postgres":
            continue
        # page-ix runs on PostgreSQL alone: it is read against SQLite's page.
        r = rest.get(("sqlite", "page" if case == "page-ix" else case, rnd), {})
        ratio = f"{p['rps'] / r['rps']:.2f}" if p.get("rps") and r.get("rps") else "n/a"
        print(f"| {CASES.get(case, case)} | {rnd} | {r.get('rps', 0):,.0f} | {ms(r.get('p50'))} | {ms(r.get('p99'))} | "
              f"{p.get('rps', 0):,.0f} | {ms(p.get('p50'))} | {ms(p.get('p99'))} | {ratio} | {us(r.get('cpu'))} | "
              f"{us(p.get('cpu'))} ({us(p.get('pg_cpu'))}) | {p.get('fb', 0):.2f} | {p.get('pg', 0):.2f} | {p.get('waits', '?')} |")
    print()
    for engine, kb in rss.items():
        print(f"peak RSS of feedbase on {engine}: " + (f"{kb / 1024:.1f} MiB" if kb else "?"))
    for label, kb in pgmem.items():
        print(f"postgres, all its processes (Pss, after the {label} cases): {kb / 1024:.1f} MiB")

if feed:
    print()
    print(f"Feed: {subscribers} WebSocket subscribers on /_feed of the writer's node, commit → delivery (ms, from the event's at)")
    print()
    print("| engine | rate asked | round | writes/s | events / expected | gaps | short | p50 | p99 | max | to the last p50 / p99 |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for engine, runs in feed.items():
        for r in runs:
            print(f"| {engine} | {r['rate']:,} | {r['round']} | {r.get('write_rate', '?'):,} | {r.get('events', '?')} / {r.get('expected', '?')} | "
                  f"{r.get('gaps', '?')} | {r.get('short', '?')} | {r.get('p50', '?')} | {r.get('p99', '?')} | {r.get('max', '?')} | "
                  f"{r.get('last_p50', '?')} / {r.get('last_p99', '?')} |")

if nodes:
    print()
    print("N nodes over one PostgreSQL (one wrk -t6, its connections spread over the nodes); cores: CPU s per s")
    print()
    print("| nodes | case | round | req/s | × 1 node | p50 | p99 | errors | CPU µs/req (of it postgres) | feedbase cores | postgres cores | machine busy | waits (mean active backends) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for (n, case, rnd), r in sorted(nodes.items(), key=lambda item: (item[0][1], item[0][2], int(item[0][0]))):
        one = nodes.get(("1", case, rnd), {}).get("rps")
        scale = f"{r['rps'] / one:.2f}" if one and r.get("rps") else "n/a"
        errors = (r.get("non2xx") or 0) + r["socket_errors"]
        print(f"| {n} | {CASES.get(case, case)} | {rnd} | {r.get('rps', 0):,.0f} | {scale} | {ms(r.get('p50'))} | {ms(r.get('p99'))} | "
              f"{errors} | {us(r.get('cpu'))} ({us(r.get('pg_cpu'))}) | {r['fb']:.2f} | {r['pg']:.2f} | {r['busy']:.0%} | {r['waits']} |")
    if connections:
        print()
        print("postgres connections of the nodes' database (end of each N): "
              + ", ".join(f"{n} nodes: {count}" for n, count in connections.items()))

if nodefeed:
    print()
    print(f"Cross-node feed: writer on node 1, {subscribers} subscribers on node N (ms)")
    print()
    print("| nodes | rate | round | writes/s | events / expected | gaps | short | p50 | p99 | max |")
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for n, runs in nodefeed.items():
        for r in runs:
            print(f"| {n} | {r['rate']} | {r['round']} | {r.get('write_rate', '?')} | {r.get('events', '?')} / {r.get('expected', '?')} | "
                  f"{r.get('gaps', '?')} | {r.get('short', '?')} | {r.get('p50', '?')} | {r.get('p99', '?')} | {r.get('max', '?')} |")

if problems:
    print()
    print("WARNING, these figures include failures:")
    for problem in problems:
        print("  " + problem)
