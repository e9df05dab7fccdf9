"""Sets up PocketBase for bench/run.sh: a superuser, `projects` and `tasks` collections with the
same fields and index as Feedbase's example schema, public rules (wrk sends no auth), request
logging off, the batch API on, and 10,000 seeded tasks. Prints nothing but errors; writes the
task ids (one per line) and the project id to files. Standard library only."""

import json
import random
import subprocess
import sys
import urllib.request

base, binary, data_dir, ids_file, project_file = sys.argv[1:6]
email, password = "bench@example.com", "bench-password-123"


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data, timeout=60) as response:
        return json.loads(response.read() or b"null")


subprocess.run([binary, "superuser", "upsert", email, password, "--dir", data_dir], check=True, capture_output=True)
token = call("POST", "/api/collections/_superusers/auth-with-password", {"identity": email, "password": password})["token"]
call("PATCH", "/api/settings", {"logs": {"maxDays": 0},
                                "batch": {"enabled": True, "maxRequests": 1000, "timeout": 60, "maxBodySize": 0}}, token)
public = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}
projects = call("POST", "/api/collections", {"name": "projects", "type": "base", **public, "fields": [
    {"name": "name", "type": "text", "required": True},
    {"name": "description", "type": "text"},
    {"name": "archived", "type": "bool"},
    {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
]}, token)
call("POST", "/api/collections", {"name": "tasks", "type": "base", **public, "fields": [
    {"name": "project", "type": "relation", "collectionId": projects["id"], "maxSelect": 1, "required": True,
     "cascadeDelete": True},
    {"name": "title", "type": "text", "required": True, "max": 200},
    {"name": "done", "type": "bool"},
    {"name": "priority", "type": "number", "onlyInt": True, "min": 1, "max": 5},
    {"name": "estimate", "type": "number"},
    {"name": "due", "type": "date"},
    {"name": "tags", "type": "json"},
    {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
], "indexes": ["CREATE INDEX idx_tasks_done_priority ON tasks (done, priority)"]}, token)
project = call("POST", "/api/collections/projects/records", {"name": "bench"}, token)["id"]

random.seed(1)
ids = []
for start in range(0, 10_000, 1000):
    requests = [{"method": "POST", "url": "/api/collections/tasks/records",
                 "body": {"project": project, "title": f"task {i}", "done": random.random() < 0.5,
                          "priority": random.randint(1, 5)}}
                for i in range(start, start + 1000)]
    results = call("POST", "/api/batch", {"requests": requests}, token)
    ids += [result["body"]["id"] for result in results]
with open(ids_file, "w") as out:
    out.write("\n".join(ids) + "\n")
with open(project_file, "w") as out:
    out.write(project)
