#!/usr/bin/env python3
"""Feedbase under attack, on 127.0.0.1: does one hostile client hurt the others?

For each attack a well-behaved client (one keep-alive connection, a page of 20 tasks at a steady
100 requests/s, in a process of its own) measures its latency first with the server quiet, then
while the attack runs (in another process). Printed per attack: the client's p50/p99/max before
and during, its errors, the server's RSS (VmRSS, and the peak VmHWM), and the connections it
holds. The attacks, each within the server's default limits (docs/API.md, "Limits"):

  slowloris   2,000 connections each sending one header byte every 2 s (reconnecting when cut)
  idle        10,000 connections that send nothing
  frames      20 clients sending 1 MiB WebSocket frames over the 64 KiB limit, reconnecting
  nonreader   200 feed subscribers that never read, while a writer creates 200 rows/s of 1 KiB
              (baseline: the same writer, no subscribers)
  readers     the control for nonreader: the same 200 subscribers, reading
  limit       past --max-connections 2,000: how fast the 2,001st connection is refused

Usage: python3 bench/attack.py FEEDBASE_BINARY [--seconds 20] [--only slowloris,idle,...]
Every loop is bounded in count and time; the server and every process end with the script.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


# ---------------------------------------------------------------- the server

class Server:
    def __init__(self, binary, extra=()):
        self.directory = tempfile.mkdtemp(prefix="feedbase-attack-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBASE_")}
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--db", os.path.join(self.directory, "attack.sqlite"),
             "--migrations", MIGRATIONS, "--log-level", "notice", *extra],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            line = self.process.stderr.readline()
            if not line:
                break
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
        if self.port is None:
            self.stop()
            raise SystemExit("the server did not start")
        # Drain its log so it never blocks on a full pipe.
        self.drain = mp.Process(target=_drain, args=(self.process.stderr.fileno(),), daemon=True)
        self.drain.start()

    def memory(self):
        fields = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0]) // 1024
        return fields.get("VmRSS", 0), fields.get("VmHWM", 0)

    def connections(self):
        count = 0
        for fd in os.listdir(f"/proc/{self.process.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.process.pid}/fd/{fd}").startswith("socket:"):
                    count += 1
            except OSError:
                pass
        return max(0, count - 1)  # less the listener

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _drain(fd):
    with os.fdopen(fd, "rb", closefd=False) as stream:
        while stream.read(65536):
            pass


def request(port, method, path, body=None, timeout=10):
    """One request on a fresh connection; returns (status, body bytes)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(payload)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        sock.sendall(head.encode() + b"\r\n" + payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def seed(port):
    status, body = request(port, "POST", "/projects", {"name": "attack"})
    project = json.loads(body)["id"]
    for start in range(0, 1000, 500):
        items = [{"project_id": project, "title": f"task {n}", "priority": n % 5 + 1} for n in range(start, start + 500)]
        assert request(port, "POST", "/tasks", items)[0] == 201
    return project


# ---------------------------------------------------------------- the well-behaved client

def probe(port, seconds, rate, results):
    """One keep-alive connection, a page of 20 tasks `rate` times a second; latencies in ms."""
    target = b"GET /tasks?order=id&limit=20 HTTP/1.1\r\nHost: x\r\n\r\n"
    latencies, errors = [], 0
    sock = None
    interval = 1.0 / rate
    start = time.perf_counter()
    next_at = start
    while time.perf_counter() - start < seconds:
        now = time.perf_counter()
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        try:
            if sock is None:
                sock = socket.create_connection((HOST, port), timeout=5)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sent = time.perf_counter()
            sock.sendall(target)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
            while len(rest) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                rest += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
            latencies.append((time.perf_counter() - sent) * 1000)
        except (OSError, ConnectionError, AttributeError):
            errors += 1
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()
    results.put((latencies, errors))


def measure(port, seconds, rate=100, sample=None):
    """The probe's figures; `sample` is called about once a second while it runs."""
    results = mp.Queue()
    process = mp.Process(target=probe, args=(port, seconds, rate, results))
    process.start()
    deadline = time.time() + seconds + 60
    while process.is_alive() and results.empty() and time.time() < deadline:
        if sample is not None:
            sample()
        time.sleep(1)
    latencies, errors = results.get(timeout=max(1, deadline - time.time()))
    process.join()
    latencies.sort()

    def pick(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"n": len(latencies), "p50": pick(0.50), "p99": pick(0.99), "max": latencies[-1] if latencies else float("nan"), "errors": errors}


# ---------------------------------------------------------------- the attacks (each a process)

def run_attack(kind, port, seconds, ready, stats):
    try:
        asyncio.run(asyncio.wait_for(ATTACKS[kind](port, ready, stats), timeout=seconds))
    except asyncio.TimeoutError:
        pass


async def open_many(port, count, batch=200):
    writers = []
    for start in range(0, count, batch):
        opened = await asyncio.gather(*(asyncio.open_connection(HOST, port) for _ in range(min(batch, count - start))),
                                      return_exceptions=True)
        writers += [w for r, w in (o for o in opened if not isinstance(o, BaseException))]
    return writers


async def slowloris(port, ready, stats, count=2000, interval=2.0):
    async def one(index):
        while True:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(b"GET /tasks HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                for byte in b"X-Slow-Header-" * 1000:
                    await asyncio.sleep(interval)
                    if reader.at_eof():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
            except OSError:
                pass
            stats["reconnects"] = stats.get("reconnects", 0) + 1
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    await asyncio.sleep(3)
    ready.set()
    await asyncio.gather(*tasks)


async def idle(port, ready, stats, count=10_000):
    writers = await open_many(port, count)
    stats["opened"] = len(writers)
    ready.set()
    await asyncio.sleep(3600)


async def frames(port, ready, stats, clients=20):
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    upgrade = (b"GET /_feed?mode=bands HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    size = 1 << 20
    frame = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big") + b"\x01\x02\x03\x04" + b"\x21" * size

    async def one():
        while True:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(upgrade)
                await writer.drain()
                await reader.readuntil(b"\r\n\r\n")
                writer.write(frame)
                await writer.drain()
                await asyncio.wait_for(reader.read(), timeout=5)
                writer.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                pass
            stats["frames"] = stats.get("frames", 0) + 1

    tasks = [asyncio.create_task(one()) for _ in range(clients)]
    await asyncio.sleep(2)
    ready.set()
    await asyncio.gather(*tasks)


async def nonreader(port, ready, stats, count=200):
    held = []
    for index in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((HOST, port))
        # From the head: what they cost is the buffer they never drain. (From since=0 each would
        # also read the whole log, a cost of catching up that a reading subscriber has too.)
        if index % 2:
            sock.sendall(b"GET /_feed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        else:
            sock.sendall(b"GET /_feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        held.append(sock)  # never read
    stats["subscribers"] = len(held)
    ready.set()
    await asyncio.sleep(3600)


async def readers(port, ready, stats, count=200):
    """The control for `nonreader`: the same subscribers, reading (and dropping) what comes."""
    async def one(index):
        reader, writer = await asyncio.open_connection(HOST, port)
        if index % 2:
            writer.write(b"GET /_feed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        else:
            writer.write(b"GET /_feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        await writer.drain()
        while await reader.read(1 << 16):
            stats["bytes"] = stats.get("bytes", 0) + 1
    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    await asyncio.sleep(1)
    stats["subscribers"] = count
    ready.set()
    await asyncio.gather(*tasks)


ATTACKS = {"slowloris": slowloris, "idle": idle, "frames": frames, "nonreader": nonreader, "readers": readers}


def writer_load(port, seconds, rate, project):
    """`rate` creates a second of 1 KiB tasks on one keep-alive connection."""
    deadline = time.time() + seconds
    body = json.dumps({"project_id": project, "title": "load", "tags": ["x" * 1000]}).encode()
    head = f"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    sock = socket.create_connection((HOST, port))
    next_at = time.time()
    while time.time() < deadline:
        if time.time() < next_at:
            time.sleep(next_at - time.time())
        next_at += 1.0 / rate
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head_part, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", head_part).group(1))
        while len(rest) < length:
            rest += sock.recv(65536)
    sock.close()


# ---------------------------------------------------------------- the run

def attack_row(binary, kind, seconds):
    server = Server(binary)
    try:
        project = seed(server.port)
        load = None
        if kind in ("nonreader", "readers"):
            load = mp.Process(target=writer_load, args=(server.port, 2 * seconds + 90, 200, project), daemon=True)
            load.start()
        before = measure(server.port, seconds)
        manager = mp.Manager()
        stats = manager.dict()
        ready = manager.Event()
        attacker = mp.Process(target=run_attack, args=(kind, server.port, seconds + 60, ready, stats), daemon=True)
        attacker.start()
        ready.wait(timeout=60)
        most = {"held": 0, "rss": 0}

        def sample():
            most["held"] = max(most["held"], server.connections())
            most["rss"] = max(most["rss"], server.memory()[0])

        during = measure(server.port, seconds, sample=sample)
        rss, peak = server.memory()
        held = most["held"]
        attacker.kill()
        attacker.join()
        if load is not None:
            load.kill()
        alive = server.process.poll() is None
        return {"attack": kind, "before": before, "during": during, "rss": rss, "peak": peak, "held": held,
                "stats": dict(stats), "alive": alive}
    finally:
        server.stop()


def limit_row(binary, limit=2000, probes=200):
    server = Server(binary, ["--max-connections", str(limit)])
    try:
        held = [socket.create_connection((HOST, server.port)) for _ in range(limit)]
        deadline = time.time() + 30
        while server.connections() < limit and time.time() < deadline:
            time.sleep(0.05)
        times, refused = [], 0
        for _ in range(probes):
            started = time.perf_counter()
            with socket.create_connection((HOST, server.port), timeout=10) as sock:
                data = sock.recv(4096)
                while data and not data.endswith(b"}"):
                    more = sock.recv(4096)
                    if not more:
                        break
                    data += more
            times.append((time.perf_counter() - started) * 1000)
            refused += data.startswith(b"HTTP/1.1 503")
        rss, peak = server.memory()
        for sock in held:
            sock.close()
        times.sort()
        return {"attack": "limit", "refused": refused, "probes": probes, "p50": times[len(times) // 2],
                "p99": times[int(0.99 * len(times))], "rss": rss, "peak": peak, "limit": limit}
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--only", default="slowloris,idle,frames,nonreader,limit")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {args.seconds} s per window, probe 100 req/s")
    print("| attack | p50 before → during (ms) | p99 before → during (ms) | max during (ms) | probe errors | RSS (peak) MiB | most connections held | attacker |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in args.only.split(","):
        if kind == "limit":
            row = limit_row(args.binary)
            print(f"| past --max-connections {row['limit']} | refusal p50 {row['p50']:.2f} | refusal p99 {row['p99']:.2f} | – | "
                  f"{row['probes'] - row['refused']} not 503 of {row['probes']} | {row['rss']} ({row['peak']}) | {row['limit']} | – |", flush=True)
            continue
        row = attack_row(args.binary, kind, args.seconds)
        b, d = row["before"], row["during"]
        print(f"| {kind} | {b['p50']:.2f} → {d['p50']:.2f} | {b['p99']:.2f} → {d['p99']:.2f} ({d['p99'] / b['p99']:.2f}×) | "
              f"{d['max']:.1f} | {b['errors']} / {d['errors']} | {row['rss']} ({row['peak']}) | {row['held']} | "
              f"{json.dumps(row['stats'])}{'' if row['alive'] else ' SERVER DIED'} |", flush=True)


if __name__ == "__main__":
    main()
