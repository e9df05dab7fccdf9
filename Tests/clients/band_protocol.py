"""The band protocol held to the documents the server serves, by clients written by others:
Python's `websockets` opens `/_feed?mode=bands`, subscribes to two bands (one narrowed by
`select`), makes writes that create, update, move a task out of a band and back in, and delete,
sends messages the server must refuse, and unsubscribes. Every message the server sends must be
valid (`jsonschema`) against the payload of the message its `/asyncapi.json` names for it, among
those the document says the server sends; every message the client sends that the server takes
must be valid against the client's message. The same band read over `/_changes/tasks` must be
valid against the page schema of `/openapi.json` and hold the same messages, without `band`.

Run by .ci/run:  python3 Tests/clients/band_protocol.py .build/debug/feedbase
"""

import asyncio
import json
import sys

import jsonschema
import websockets
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

import served

OPEN = "/tasks?project_id=eq.1&done=is.false&select=id,title"


def request(port, method, path, body=None):
    return served.request(port, method, path, body)[1]


def validator(document, pointer, specification):
    """A validator of the schema at `pointer` in `document`, its `$ref`s resolved in the document."""
    registry = Registry().with_resource("urn:document", Resource.from_contents(document, default_specification=specification))
    schema = {"$ref": "urn:document#" + pointer}
    cls = jsonschema.Draft7Validator if specification is DRAFT7 else jsonschema.Draft202012Validator
    return cls(schema, registry=registry)


class AsyncAPI:
    """The messages of the feed channel, by who sends them, with a validator for each payload."""

    def __init__(self, document):
        def names(references):
            return [reference["$ref"].rsplit("/", 1)[1] for reference in references]

        self.server, self.client = set(), set()
        for operation in document["operations"].values():
            side = self.server if operation["action"] == "receive" else self.client
            side.update(names(operation["messages"]))
            self.server.update(names(operation.get("reply", {}).get("messages", [])))
        self.payloads = {}
        for name, message in document["components"]["messages"].items():
            self.payloads[name] = validator(document, message["payload"]["$ref"][1:], DRAFT7)

    def check(self, name, message, side):
        assert name in side, f"{name} is not a message the document gives this side"
        errors = [error.message for error in self.payloads[name].iter_errors(message)]
        assert not errors, f"{name} {message}: {errors}"


# What a server message is, by its `type` (a band's change has none).
SERVER_MESSAGES = {None: "bandChange", "subscribed": "subscribed", "ready": "bandReady", "progress": "bandProgress",
                   "reset": "bandReset", "unsubscribed": "unsubscribed", "error": "error", "authenticated": "authenticated",
                   "ended": "bandEnded"}


async def session(port, asyncapi):
    checked = {}
    async with websockets.connect(f"ws://127.0.0.1:{port}/_feed?mode=bands", max_queue=None) as ws:
        async def send(message, valid=True):
            if valid:
                asyncapi.check(message["type"], message, asyncapi.client)
            await ws.send(message if isinstance(message, str) else json.dumps(message))

        async def receive():
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            name = SERVER_MESSAGES[message.get("type")]
            asyncapi.check(name, message, asyncapi.server)
            checked[name] = checked.get(name, 0) + 1
            return message

        await send({"type": "subscribe", "id": "open", "url": OPEN})
        subscribed = await receive()
        assert subscribed["type"] == "subscribed" and subscribed["id"] == "open", subscribed
        assert (await receive())["type"] == "ready"
        await send({"type": "subscribe", "id": "all", "url": "/tasks", "since": 0})
        all_band = (await receive())["band"]
        backlog = []
        while (message := await receive()).get("type") != "ready":
            backlog.append(message["op"])
        assert backlog == ["create", "create"], backlog

        # Task 3 is created in the band, renamed, closed (leaves), reopened (enters), deleted.
        request(port, "POST", "/tasks", {"project_id": 1, "title": "new"})
        request(port, "PATCH", "/tasks/3", {"title": "renamed"})
        request(port, "PATCH", "/tasks/3", {"done": True})
        request(port, "PATCH", "/tasks/3", {"done": False})
        request(port, "DELETE", "/tasks/3")
        ops = {"open": [], "all": []}
        while len(ops["open"]) < 5 or len(ops["all"]) < 5:
            message = await receive()
            if "op" in message:
                ops["open" if message["band"] == subscribed["band"] else "all"].append(message["op"])
                assert message["band"] != subscribed["band"] or set(message["item"]) <= {"id", "title"}, message
        assert ops == {"open": ["create", "update", "leave", "enter", "delete"], "all": ["create"] + ["update"] * 3 + ["delete"]}, ops
        assert all_band != subscribed["band"]

        # Refusals: each an error message naming the id (null when there is none), the socket
        # open. The first two the document refuses too; the others only the server's state or
        # the url's content can refuse.
        assert not asyncapi.payloads["subscribe"].is_valid({"type": "subscribe", "id": "x"})
        for message, status, valid in [("not json", 400, False), ({"type": "subscribe", "id": "x"}, 400, False),
                                       ({"type": "subscribe", "id": "open", "url": "/tasks"}, 409, True),
                                       ({"type": "subscribe", "id": "y", "url": "/nothing"}, 404, True),
                                       ({"type": "subscribe", "id": "z", "url": "/tasks?priority=gt.high"}, 400, True),
                                       ({"type": "unsubscribe", "id": "nobody"}, 404, True),
                                       ({"type": "auth", "token": "fbk_not_a_key"}, 401, True)]:
            await send(message, valid=valid)
            error = await receive()
            assert error["type"] == "error" and error["problem"]["status"] == status, (message, error)
            assert error["id"] == (message.get("id") if isinstance(message, dict) else None), (message, error)
        await send({"type": "unsubscribe", "id": "open"})
        assert (await receive()) == {"type": "unsubscribed", "id": "open"}
    return checked, ops["open"]


async def main(binary):
    with served.serve(binary) as port:
        asyncapi = AsyncAPI(request(port, "GET", "/asyncapi.json"))
        openapi = request(port, "GET", "/openapi.json")
        request(port, "POST", "/projects", {"name": "p"})
        request(port, "POST", "/tasks", [{"project_id": 1, "title": "open"}, {"project_id": 1, "title": "done", "done": True}])
        checked, ops = await session(port, asyncapi)

        page = request(port, "GET", "/_changes" + OPEN + "&since=0")
        schema = openapi["paths"]["/_changes/tasks"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        errors = [error.message for error in validator(openapi, schema["$ref"][1:], DRAFT202012).iter_errors(page)]
        assert not errors, errors
        assert [change["op"] for change in page["changes"]] == ["create"] + ops, page
        print(f"band_protocol: {sum(checked.values())} messages valid against /asyncapi.json ({json.dumps(checked, sort_keys=True)}); "
              f"/_changes/tasks valid against /openapi.json")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 120))
