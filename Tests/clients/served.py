"""What the Python clients share: the real `feedbase` binary served on a free port of 127.0.0.1
in a scratch directory with the shipped migrations, and one JSON request to it."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def serve(binary):
    """Runs `feedbase serve --port 0` and yields its port; stops it and removes its files after."""
    workdir = tempfile.mkdtemp(prefix="feedbase-py-")
    shutil.copytree(os.path.join(ROOT, "migrations"), os.path.join(workdir, "migrations"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBASE_")}
    server = subprocess.Popen([os.path.abspath(binary), "serve", "--port", "0", "--log-level", "notice"], cwd=workdir, env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(200):
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", server.stderr.readline())
            if match:
                port = int(match.group(1))
                break
        assert port, "the server did not say where it listens"
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


def request(port, method, path, body=None):
    """One request with an optional JSON body: (X-Change-Seq or -1, the JSON answer or None)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    call = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(call, timeout=10) as response:
        text = response.read()
        return int(response.headers.get("X-Change-Seq") or -1), (json.loads(text) if text else None)
