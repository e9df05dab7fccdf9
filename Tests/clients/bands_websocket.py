"""Bands as a client written by others sees them: Python's `websockets` package holds three
bands on one `/_feed?mode=bands` socket (one subscribe message sent in fragments), keeps a copy
of each from a REST snapshot plus the band's messages while a writer creates, moves and deletes
tasks over REST, and must end with each copy equal to what the listing returns.

Run by .ci/run after `swift test`:  python3 Tests/clients/bands_websocket.py .build/debug/feedbase
"""

import asyncio
import json
import random
import sys

import websockets

import served

BANDS = {
    "p1-open": "/tasks?project_id=eq.1&done=is.false&select=id,title,done",
    "urgent": "/tasks?priority=gte.4",
    "p2-or-p3": "/tasks?project_id=in.(2,3)&select=id,project_id",
}


async def main(binary):
    with served.serve(binary) as port:
        served.request(port, "POST", "/projects", [{"name": f"p{i}"} for i in range(3)])
        rng = random.Random(11)
        served.request(port, "POST", "/tasks", [{"project_id": rng.randint(1, 3), "title": f"t{i}", "priority": rng.randint(1, 5)} for i in range(20)])
        copies, names = {}, {}
        async with websockets.connect(f"ws://127.0.0.1:{port}/_feed?mode=bands", max_queue=None) as socket:
            for id, url in BANDS.items():
                seq, items = served.request(port, "GET", url + ("&" if "?" in url else "?") + "limit=1000")
                copies[id] = {str(item["id"]): item for item in items}
                message = json.dumps({"type": "subscribe", "id": id, "url": url, "since": seq})
                await socket.send([message[:10], message[10:25], message[25:]])  # fragments
            last = 0
            for step in range(150):
                ids = [str(task["id"]) for task in served.request(port, "GET", "/tasks?select=id&limit=1000")[1]]
                choice = rng.randrange(10)
                if choice < 3 or not ids:
                    last, _ = served.request(port, "POST", "/tasks", {"project_id": rng.randint(1, 3), "title": f"n{step}", "priority": rng.randint(1, 5)})
                elif choice < 9:
                    change = rng.choice([{"done": rng.random() < 0.5}, {"project_id": rng.randint(1, 3)}, {"priority": rng.randint(1, 5)}, {"title": f"u{step}"}])
                    last, _ = served.request(port, "PATCH", f"/tasks/{rng.choice(ids)}", change)
                else:
                    last, _ = served.request(port, "DELETE", f"/tasks/{rng.choice(ids)}")
            # Every band has reached `last` once each has had a message or progress at or past it.
            reached = {id: 0 for id in BANDS}
            while min(reached.values()) < last:
                message = json.loads(await asyncio.wait_for(socket.recv(), 20))
                if message.get("type") == "subscribed":  # before any message of its band
                    names[message["band"]] = message["id"]
                    continue
                if message.get("type") in ("ready", "progress"):
                    reached[message["id"]] = max(reached[message["id"]], message["seq"])
                    continue
                assert "type" not in message, message
                id = names[message["band"]]
                assert message["seq"] > reached[id], f"{id}: {message['seq']} after {reached[id]}"
                reached[id] = message["seq"]
                if message["op"] in ("create", "enter", "update"):
                    copies[id][message["id"]] = message["item"]
                else:
                    copies[id].pop(message["id"], None)
            for id, url in BANDS.items():
                _, items = served.request(port, "GET", url + ("&" if "?" in url else "?") + "limit=1000")
                assert copies[id] == {str(item["id"]): item for item in items}, f"{id}: the copy differs from the listing"
        print(f"bands_websocket: {len(BANDS)} bands on one socket, copies equal to the listings after 150 writes ({last} seqs)")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 300))
