"""The change feed as a client written by others sees it: Python's `websockets` package
subscribes to the real `feedbase` binary, is dropped at random points while writers keep
writing, resumes with `since`, and must see every event exactly once, in order.

Run by .ci/run after `swift test`:  python3 Tests/clients/feed_websocket.py .build/debug/feedbase

The client is opened with max_queue=None: with websockets' default flow control (16 queued
messages) a client that closes while unread messages are queued stops reading, so it never sees
the server's close frame and waits out its close_timeout (10 s) on every session, although the
server has answered the close and shut its side (seen with ss: server FIN-WAIT-2, client
CLOSE-WAIT with unread bytes).
"""

import asyncio
import json
import os
import random
import sys
import urllib.request

import websockets

import served

WRITES = int(os.environ.get("WRITES", "600"))


def post(port, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/projects", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201, response.status
        return int(response.headers["X-Change-Seq"])


async def writer(port, count):
    for index in range(count):
        await asyncio.to_thread(post, port, {"name": f"w{index}"})


async def subscriber(port, total):
    seen, since, sessions, readies = [], 0, 0, 0
    rng = random.Random(7)
    while len(seen) < total and sessions < 500:
        sessions += 1
        take = rng.randint(1, 60)
        url = f"ws://127.0.0.1:{port}/_feed?since={since}&collections=projects"
        async with websockets.connect(url, max_queue=None) as ws:
            while take > 0 and len(seen) < total:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message.get("type") == "ready":
                    readies += 1
                    continue
                assert message["collection"] == "projects" and message["op"] == "create", message
                assert isinstance(message["id"], str) and message["item"]["name"], message
                seen.append(message["seq"])
                if os.environ.get("DEBUG"): print("got", message["seq"], "session", sessions, flush=True)
                since = message["seq"]
                take -= 1
    return seen, sessions, readies


async def main(binary):
    with served.serve(binary) as port:
        head = post(port, [{"name": f"seed{i}"} for i in range(100)])
        assert head == 100, head
        seen, sessions, readies = (await asyncio.gather(writer(port, WRITES), subscriber(port, 100 + WRITES)))[1]
        assert seen == list(range(1, 100 + WRITES + 1)), f"gap or duplicate: {len(seen)} events"
        # An unknown collection is refused before the upgrade.
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/_feed?collections=nope"):
                raise AssertionError("an unknown collection was accepted")
        except websockets.exceptions.InvalidStatus as refused:
            assert refused.response.status_code == 404, refused.response.status_code
        print(f"feed_websocket: {len(seen)} events in order over {sessions} sessions ({readies} ready messages)")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 300))
