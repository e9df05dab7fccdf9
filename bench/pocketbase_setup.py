"""Sets up a running PocketBase for bench/run.sh: a superuser, `projects` and `tasks` collections
with the same fields and the same (done, priority) index as Feedbase's example schema, public API
rules (wrk sends no auth), request logging off, the batch API on, and TASKS seeded tasks. Writes
the task ids (one a line) and the project id to files. Standard library only.

Usage: pocketbase_setup.py BASE-URL POCKETBASE-BINARY PB_DATA-DIR IDS-FILE PROJECT-FILE [TASKS]
"""

import json
import random
import subprocess
import sys
import urllib.error
import urllib.request

base, binary, data_dir, ids_file, project_file = sys.argv[1:6]
task_count = int(sys.argv[6]) if len(sys.argv) > 6 else 10_000
email, password = "bench@example.com", "bench-password-123"
BATCH = 1000


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", token)
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data, timeout=120) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')[:500]}")


# The superuser is written straight into pb_data (the server need not be restarted).
subprocess.run([binary, "superuser", "upsert", email, password, "--dir", data_dir],
               check=True, capture_output=True, timeout=60)
token = call("POST", "/api/collections/_superusers/auth-with-password",
             {"identity": email, "password": password})["token"]

# Request logs off (maxDays 0 stores none), the batch API on with room for one batch of BATCH.
call("PATCH", "/api/settings", {
    "logs": {"maxDays": 0},
    "batch": {"enabled": True, "maxRequests": BATCH, "timeout": 60, "maxBodySize": 0},
}, token)
settings = call("GET", "/api/settings", token=token)
if settings["logs"]["maxDays"] != 0 or not settings["batch"]["enabled"]:
    sys.exit(f"settings not applied: logs={settings['logs']} batch={settings['batch']}")

public = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}
projects = call("POST", "/api/collections", {"name": "projects", "type": "base", **public, "fields": [
    {"name": "name", "type": "text", "required": True},
    {"name": "description", "type": "text"},
    {"name": "archived", "type": "bool"},
    {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
]}, token)
call("POST", "/api/collections", {"name": "tasks", "type": "base", **public, "fields": [
    {"name": "project", "type": "relation", "collectionId": projects["id"], "maxSelect": 1,
     "required": True, "cascadeDelete": True},
    {"name": "title", "type": "text", "required": True, "min": 1, "max": 200},
    {"name": "done", "type": "bool"},
    {"name": "priority", "type": "number", "onlyInt": True, "min": 1, "max": 5},
    {"name": "estimate", "type": "number"},
    {"name": "due", "type": "date"},
    {"name": "tags", "type": "json"},
    {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
], "indexes": ["CREATE INDEX idx_tasks_done_priority ON tasks (done, priority)"]}, token)
# 50 projects, the tasks spread over them in turn (as bench/run.sh seeds Feedbase).
project_ids = [call("POST", "/api/collections/projects/records", {"name": f"project {i + 1}"}, token)["id"] for i in range(50)]
project = project_ids[0]

random.seed(1)
ids = []
for start in range(0, task_count, BATCH):
    requests = [{"method": "POST", "url": "/api/collections/tasks/records",
                 "body": {"project": project_ids[(i + 1) % 50], "title": f"task {i + 1}", "done": random.random() < 0.5,
                          "priority": random.randint(1, 5)}}
                for i in range(start, min(start + BATCH, task_count))]
    results = call("POST", "/api/batch", {"requests": requests}, token)
    for result in results:
        if result.get("status") != 200:
            sys.exit(f"batch create failed: {json.dumps(result)[:500]}")
        ids.append(result["body"]["id"])

check = call("GET", "/api/collections/tasks/records?perPage=1", token=token)
if check["totalItems"] != task_count or len(ids) != task_count:
    sys.exit(f"seeded {len(ids)} tasks, PocketBase counts {check['totalItems']}, wanted {task_count}")
with open(ids_file, "w") as out:
    out.write("\n".join(ids) + "\n")
with open(project_file, "w") as out:
    out.write(project)
print(f"seeded {task_count} tasks in 50 projects")
