"""/metrics scraped with prometheus-client's own parser while a known load runs against the real
binary: every scrape parses, counters never go back, and once the load is done the counters
agree with it exactly (requests by route pattern and status, latency counts, group-commit
sizes, feed events and deliveries to a live subscriber). Usage: metrics_scrape.py BINARY"""

import http.client
import sys
import threading
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from served import request, serve

WRITERS, WRITES = 4, 25  # POST /tasks: 100 creates
READERS, READS = 4, 50  # GET /tasks/{id}: 200 reads of items that exist
MISSES = 30  # GET /tasks/{id} of ids that do not


def scrape(port):
    """{(sample name, sorted labels): value} of one scrape, parsed by prometheus-client."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def status_of(port, method, path):
    try:
        request(port, method, path)
        return 200
    except urllib.error.HTTPError as error:
        return error.code


def follow_feed(port, ready, seen, stop):
    """A live SSE subscriber of /_feed: counts the events it is sent."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/_feed", headers={"Accept": "text/event-stream"})
    response = connection.getresponse()
    assert response.status == 200
    ready.set()
    while not stop.is_set():
        line = response.fp.readline()
        if not line:
            break
        if line.startswith(b"id:"):
            seen.append(line)
    connection.close()


def main(binary):
    with serve(binary) as port:
        # Subscribed before any write: it is due every event.
        ready, stop, seen = threading.Event(), threading.Event(), []
        follower = threading.Thread(target=follow_feed, args=(port, ready, seen, stop), daemon=True)
        follower.start()
        assert ready.wait(10), "the feed subscriber never connected"
        request(port, "POST", "/projects", {"id": 1, "name": "load"})
        for task in range(1, 11):
            request(port, "POST", "/tasks", {"id": task, "project_id": 1, "title": f"seed {task}"})

        errors = []

        def write(worker):
            try:
                for n in range(WRITES):
                    task = 1000 + worker * WRITES + n
                    request(port, "POST", "/tasks", {"id": task, "project_id": 1, "title": f"load {task}"})
            except Exception as error:  # reported below: a thread's exception is otherwise lost
                errors.append(error)

        def read(worker):
            try:
                for n in range(READS):
                    request(port, "GET", f"/tasks/{1 + (worker + n) % 10}")
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        threads += [threading.Thread(target=read, args=(r,)) for r in range(READERS)]
        for thread in threads:
            thread.start()
        # Scrapes while the load runs: each parses, and no counter goes back.
        previous, scrapes = {}, 0
        while any(thread.is_alive() for thread in threads) or scrapes < 3:
            samples = scrape(port)
            scrapes += 1
            for key, number in previous.items():
                if key[0].endswith("_total") or key[0].endswith("_count"):
                    assert samples.get(key, 0) >= number, f"{key} went back from {number} to {samples.get(key)}"
            previous = samples
        for thread in threads:
            thread.join()
        assert not errors, errors
        for task in range(MISSES):
            assert status_of(port, "GET", f"/tasks/{900000 + task}") == 404

        writes = 1 + 10 + WRITERS * WRITES
        # The hub reads the log after the answers: wait (bounded) for the last events.
        for _ in range(500):
            samples = scrape(port)
            if value(samples, "feedbase_feed_events_total") >= writes and len(seen) >= writes:
                break
            threading.Event().wait(0.02)
        stop.set()

        expected = [
            ("feedbase_http_requests_total", dict(method="POST", route="/projects", status="201"), 1),
            ("feedbase_http_requests_total", dict(method="POST", route="/tasks", status="201"), 10 + WRITERS * WRITES),
            ("feedbase_http_requests_total", dict(method="GET", route="/tasks/:id", status="200"), READERS * READS),
            ("feedbase_http_requests_total", dict(method="GET", route="/tasks/:id", status="404"), MISSES),
            ("feedbase_http_request_duration_seconds_count", dict(method="GET", route="/tasks/:id"), READERS * READS + MISSES),
            ("feedbase_http_request_duration_seconds_count", dict(method="POST", route="/tasks"), 10 + WRITERS * WRITES),
            ("feedbase_sqlite_write_group_size_sum", {}, writes),
            ("feedbase_feed_events_total", {}, writes),
            ("feedbase_feed_deliveries_total", {}, writes),
            ("feedbase_feed_subscribers", dict(kind="firehose"), 1),
            ("feedbase_feed_slow_consumers_total", {}, 0),
            ("feedbase_sqlite_write_queue_depth", {}, 0),
        ]
        for name, labels, number in expected:
            got = value(samples, name, **labels)
            assert got == number, f"{name}{labels}: {got}, expected {number}"
        groups = value(samples, "feedbase_sqlite_write_group_size_count")
        assert 1 <= groups <= writes, groups
        # The latency histogram is cumulative and ends at the count.
        buckets = sorted((float(dict(key[1])["le"]), number) for key, number in samples.items()
                         if key[0] == "feedbase_http_request_duration_seconds_bucket"
                         and ("route", "/tasks/:id") in key[1] and ("method", "GET") in key[1])
        assert [n for _, n in buckets] == sorted(n for _, n in buckets) and buckets[-1][1] == READERS * READS + MISSES, buckets
        # Labels name route patterns, never a path a client sent.
        assert not any(dict(key[1]).get("route", "").startswith("/tasks/9") for key in samples)
        print(f"metrics: {scrapes} scrapes during the load parsed; {len(expected) + 2} checks agree with the load "
              f"({writes} writes in {int(groups)} groups, {len(seen)} events delivered to the subscriber)")


if __name__ == "__main__":
    main(sys.argv[1])
