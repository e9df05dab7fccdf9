#!/usr/bin/env python3
# Writes the seed corpora of the fuzz targets (corpus/<target>/seed-NN): realistic inputs from
# docs/API.md and the shipped migrations. Run it after changing a seed; inputs a fuzz run found
# worth keeping (a regression) are added beside them under other names.
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
def write(target, items):
    d = os.path.join(root, target); os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        if isinstance(data, str): data = data.encode()
        open(os.path.join(d, "seed-%02d" % i), "wb").write(data)

queries = [
 "done=eq.false", "done=eq.false&order=priority.desc&limit=20", "project_id=eq.3&done=is.false&select=id,title",
 "priority=gte.3", "due=lt.2026-12-01T00:00:00Z", "title=like.Paint*", "title=ilike.*fence*", "priority=in.(1,2)",
 'title=in.("a,b",c)', "due=is.null", "done=is.true", "priority=not.in.(1,2)", "due=not.is.null",
 "priority=gte.2&priority=lte.4", "due=gt.2026-01-01T00:00:00%2B02:00", "my+col=eq.a+b", "title=eq.%CC%81x",
 "order=priority.desc,title.asc", "select=id,title", "limit=1000&offset=5", "estimate=lt.1.5e0&order=estimate.desc",
 "tags=eq.%7B%22a%22%3A1%7D", "tags=like.*docs*", "attachment=eq.aGVsbG8%3D", 'title=in.("say \\"hi\\"",x,"")',
 "project_id=neq.1&done=not.eq.true", "order=due.asc,id.desc&limit=2&after=eyJ2IjpbXX0", "body=ilike.LOOKS*&order=posted_on.desc",
 "posted_on=gte.2026-11-01&remind_at=lt.10:00:00", "remind_at=is.null&select=id,body,task_id", "id=eq.fixed-id", "task_id=in.()",
 "priority=eq.abc", "limit=-1", "order=.desc", "select=", "done=eq.", "title=not.like.*", "created_at=gte.2026-01-01T00:00:00.123456789Z",
 "estimate=gt.-0.0&estimate=lt.1e308", "priority=eq.9223372036854775808", "title=eq.%FF", "%E2%98%83=eq.1", "a=b=c&&&=&x",
 "or=(priority.gte.4,due.is.null)", "done=is.false&not.or=(project_id.eq.1,title.like.*a*)",
 'or=(project_id.eq.2,and(priority.gte.4,not.or(done.is.true,due.is.null)),title.in.("a,b",c))',
 'and=(title.eq."Paint, then sand",tags.not.is.null)&not.and=(estimate.lt.1,estimate.gt.0)',
 "select=id,title,project(name)&project.archived=is.false", "select=*,comments(body,task(title))&comments.order=posted_on.desc&comments.limit=2",
 "select=id,comments(id)&comments.or=(body.like.*x*,remind_at.is.null)&or=(done.is.true)",
]
write("FuzzQuery", queries)

bodies = [
 '{"project_id":1,"title":"Write docs"}',
 '{"project_id":1,"title":"Ship it","done":true,"priority":5,"estimate":0.25,"due":"2026-12-01T09:00:00+02:00","tags":["a","b"],"attachment":"aGVsbG8="}',
 '[{"project_id":1,"title":"one"},{"project_id":2,"title":"two","priority":3}]',
 '{"name":"Launch","description":null,"archived":false}',
 '{"name":"Übung ☃","created_at":"2026-11-25T09:30:00.5Z"}',
 '{"task_id":1,"body":"looks good","posted_on":"2026-11-30","remind_at":"09:30:00.250"}',
 '{"id":"c-1","task_id":2,"body":"text with \\u00e9 and \\ud83d\\ude00"}',
 '{"id":null,"task_id":2,"body":"x"}',
 '{"title":"a\\u0000b","project_id":1}',
 '{"tags":{"deep":[1,2,{"x":[null,true,false,1e999]}]},"project_id":1,"title":"t"}',
 '{"priority":5.0,"estimate":1e308,"project_id":9223372036854775807,"title":"big"}',
 '{"priority":5.5,"project_id":18446744073709551616,"title":"big"}',
 '{"due":"2026-02-30T00:00:00Z","title":"bad date","project_id":1}',
 '{"attachment":"not base64!","title":"x","project_id":1}',
 '{"title":"dup","title":"dup2","project_id":1}',
 '{"unknown":1}', '{"a\\/b~c":1}', '[1,"two",null,{}]', '[]', '{}', 'null', '"just a string"', '{"x":', '[[[[[[[[[[]]]]]]]]]]',
 '{"\\u0000":"\\u0000"}', '{"title":"\\ud800","project_id":1}', b'{"title":"\xff\xfe","project_id":1}',
 '  {"done" : true , "project_id" : 1 , "title" : "spaces" }  ',
 '{"remind_at":"24:00:00","posted_on":"2026-13-01","task_id":1,"body":"b"}',
]
write("FuzzBody", bodies)

def req(lines, body=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
heads = [
 req(["GET / HTTP/1.1", "Host: localhost:8080"]),
 req(["GET /tasks?done=eq.false&order=priority.desc&limit=20 HTTP/1.1", "Host: localhost", "Prefer: count=exact"]),
 req(["GET /tasks/1 HTTP/1.1", "Host: localhost", 'If-None-Match: "abc", W/"def"']),
 req(["HEAD /projects HTTP/1.1", "Host: x"]),
 req(["POST /tasks HTTP/1.1", "Host: x", "Content-Type: application/json", "Content-Length: 36"], b'{"project_id":1,"title":"from http"}'),
 req(["PATCH /tasks/1 HTTP/1.1", "Host: x", "Content-Type: application/merge-patch+json", "If-Match: *", "Content-Length: 13"], b'{"done":true}'),
 req(["PUT /comments/c1 HTTP/1.1", "Host: x", "Content-Type: application/json", "Transfer-Encoding: chunked"], b"10\r\n{\"task_id\":1,\"bo\r\n9\r\ndy\":\"hi\"}\r\n0\r\n\r\n"),
 req(["DELETE /comments/nope HTTP/1.1", "Host: x"]),
 req(["GET /_health HTTP/1.0"]),
 req(["GET /openapi.json HTTP/1.1", "Host: localhost:8080"]),
 req(["GET /_changes?since=0&limit=5 HTTP/1.1", "Host: x"]),
 req(["GET /_changes/tasks?done=is.false&since=0&wait=0 HTTP/1.1", "Host: x"]),
 req(["GET /_feed?since=0 HTTP/1.1", "Host: localhost", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]),
 req(["GET /_feed?mode=bands HTTP/1.1", "Host: localhost", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]),
 req(["OPTIONS /tasks HTTP/1.1", "Host: x", "Origin: https://app.example", "Access-Control-Request-Method: POST"]),
 req(["GET /tasks?access_token=abc&done=eq.true HTTP/1.1", "Host: x", "Authorization: Bearer not-a-token"]),
 req(["GET /tasks/a%2Fb HTTP/1.1", "Host: x", "X-Request-Id: my-id-123"]),
 req(["GET /tasks HTTP/1.1", "Host: x"]) + req(["GET /projects/1 HTTP/1.1", "Host: x"]) + req(["GET /nothing HTTP/1.1", "Host: x"]),
 req(["POST /tasks HTTP/1.1", "Host: x", "Content-Type: application/json", "Content-Length: 5000"]),
 req(["GET /tasks HTTP/1.1", "Host: x", "Bad\x01Header: v"]),
 req(["GET /%E2%98%83?%FF=1 HTTP/1.1", "Host: x"]),
 req(["BREW /tasks HTTP/1.1", "Host: x"]),
 req(["GET /tasks HTTP/1.1", "Host: x", "Accept: application/json", "Connection: close"]),
 req(["POST /projects HTTP/1.1", "Host: x", "Content-Type: text/plain", "Content-Length: 2"], b"hi"),
]
# A band socket with its first frames: a masked text frame holding a subscribe message.
def frame(opcode, payload, mask=b"\x01\x02\x03\x04"):
    n = len(payload); hdr = bytes([0x80 | opcode])
    if n < 126: hdr += bytes([0x80 | n])
    else: hdr += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
upgrade = req(["GET /_feed?mode=bands HTTP/1.1", "Host: localhost", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"])
heads.append(upgrade + frame(1, b'{"type":"subscribe","id":"open","url":"/tasks?done=is.false&select=id,title","since":0}'))
heads.append(upgrade + frame(1, b'{"type":"unsubscribe","id":"nope"}') + frame(9, b"ping") + frame(8, b"\x03\xe8"))
write("FuzzRequestHead", heads)

messages = [
 '{"type":"subscribe","id":"open-tasks","url":"/tasks?project_id=eq.3&done=is.false&select=id,title","since":120}',
 '{"type":"unsubscribe","id":"open-tasks"}',
 '{"type":"subscribe","id":"mine","url":"tasks?done=eq.false&since=0"}',
 '{"type":"subscribe","id":"c","url":"/comments?task_id=in.(1,2)&body=ilike.*good*"}',
 '{"type":"subscribe","id":"p","url":"/projects?archived=is.true&select=id,name"}',
 '{"type":"subscribe","id":"x","url":"/nothing?a=eq.1"}',
 '{"type":"subscribe","id":"x","url":"/tasks/1"}',
 '{"type":"subscribe","id":"x","url":"/tasks?priority=eq.abc"}',
 '{"type":"subscribe","id":"x","url":"/tasks?since=1","since":2}',
 '{"type":"subscribe","id":"x","url":"/tasks?title=in.(\\"a,b\\",c)&tags=eq.%7B%7D"}',
 '{"type":"subscribe","id":"\\u00e9\\ud83d\\ude00","url":"/t%61sks"}',
 '{"type":"subscribe","id":"","url":"/tasks"}',
 '{"type":"subscribe","url":"/tasks"}',
 '{"type":"resubscribe","id":"a"}',
 '{"type":"subscribe","id":"a","url":"/tasks","extra":1}',
 '{"type":"subscribe","id":"a","url":"/tasks","since":-1}',
 '{"type":"subscribe","id":"a","url":"/tasks","since":1e3}',
 '{"type":"subscribe","id":"a","url":42}',
 '  { "id" : "s" , "type" : "subscribe" , "url" : "/tasks?order=due.desc&limit=5" }  ',
 '[]', 'null', '{', '{"type":"subscribe","id":"a","url":"/tasks?due=gt.2026-01-01T00:00:00%2B02:00&estimate=lt.2.5"}',
 '{"type":"subscribe","id":"a","url":"/comments?posted_on=gte.2026-11-01&remind_at=not.is.null&id=like.fix*"}',
]
write("FuzzBandMessage", messages)
