// `/metrics` end to end: scraped over a socket from a server as `serve` wires it, its counters
// must agree with the requests this test sent (each app has a registry of its own, so the
// other servers of this process add nothing to it), the routes are labelled by their pattern,
// and the scrape is for whoever may read everything when rules are on.

import FeedbaseApp
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct MetricsTests {
    @Test func countersAgreeWithTheRequestsSent() async throws {
        try await withServer { server in
            #expect(try await server.request("POST", "/projects", json: #"{"id":1,"name":"metrics"}"#).status == 201)
            for id in 1...5 {
                #expect(try await server.request("POST", "/tasks", json: #"{"id":\#(id),"project_id":1,"title":"t\#(id)"}"#).status == 201)
            }
            for id in [1, 2, 3, 4, 5, 1, 2] { #expect(try await server.request("GET", "/tasks/\(id)").status == 200) }
            for id in [404, 405, 406] { #expect(try await server.request("GET", "/tasks/\(id)").status == 404) }
            for _ in 0..<2 { #expect(try await server.request("GET", "/nowhere/at/all").status == 404) }
            #expect(try await server.request("DELETE", "/tasks").status == 405)
            // The writes reach the feed: its counter is read once the hub has them.
            let scraped = try await scrape(server, until: { $0["feedbase_feed_events_total"] == 6 })

            #expect(scraped[#"feedbase_http_requests_total{method="POST",route="/projects",status="201"}"#] == 1)
            #expect(scraped[#"feedbase_http_requests_total{method="POST",route="/tasks",status="201"}"#] == 5)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="/tasks/:id",status="200"}"#] == 7)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="/tasks/:id",status="404"}"#] == 3)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="(unmatched)",status="404"}"#] == 2)
            #expect(scraped[#"feedbase_http_requests_total{method="DELETE",route="(unmatched)",status="405"}"#] == 1)
            // One histogram per route, whatever the status: 10 reads of an item.
            #expect(scraped[#"feedbase_http_request_duration_seconds_count{method="GET",route="/tasks/:id"}"#] == 10)
            #expect(scraped[#"feedbase_http_request_duration_seconds_bucket{method="GET",route="/tasks/:id",le="+Inf"}"#] == 10)
            // Six writes, in as many groups as the writer made of them.
            #expect(scraped["feedbase_sqlite_write_group_size_sum"] == 6)
            #expect((1...6).contains(scraped["feedbase_sqlite_write_group_size_count"] ?? 0))
            #expect(scraped["feedbase_sqlite_write_queue_depth"] == 0)
            #expect(scraped[#"feedbase_feed_subscribers{kind="firehose"}"#] == 0)
            #expect(scraped["feedbase_feed_bands"] == 0)
            #expect(scraped[#"feedbase_auth_failures_total{reason="invalid"}"#] == 0)
            #expect(scraped["feedbase_rate_limited_total"] == 0)
            // Never a raw path, so never an id, in a label.
            #expect(!scraped.keys.contains { $0.contains("/tasks/1") || $0.contains("nowhere") })

            // The scrapes answered before this one are counted like any request.
            let again = try await scrape(server)
            #expect((again[#"feedbase_http_requests_total{method="GET",route="/metrics",status="200"}"#] ?? 0) >= 1)
        }
    }

    @Test func subscribersDeliveriesAndCheckpointsAreCounted() async throws {
        try await withServer { server in
            let stream = try await HTTPConnection(port: server.port)
            defer { stream.close() }
            try await stream.write("GET", "/_feed", headers: [("Accept", "text/event-stream")])
            #expect(try await stream.readHead().status == 200)
            let socket = try await HTTPConnection(port: server.port)
            defer { socket.close() }
            #expect(try await socket.upgradeToWebSocket("/_feed").status == 101)
            // A live query: a listing asked for as a stream.
            let band = try await HTTPConnection(port: server.port)
            defer { band.close() }
            try await band.write("GET", "/projects?order=id", headers: [("Accept", "text/event-stream")])
            #expect(try await band.readHead().status == 200)
            let subscribed = try await scrape(server, until: {
                $0[#"feedbase_feed_subscribers{kind="firehose"}"#] == 2 && $0[#"feedbase_feed_subscribers{kind="band"}"#] == 1
            })
            #expect(subscribed["feedbase_feed_bands"] == 1)
            // The upgrade is answered by the pipeline, not a route: counted all the same.
            #expect(subscribed[#"feedbase_http_requests_total{method="GET",route="/_feed",status="101"}"#] == 1)
            #expect(subscribed[#"feedbase_http_requests_total{method="GET",route="/_feed",status="200"}"#] == 1)
            #expect(try await server.request("POST", "/projects", json: #"{"id":1,"name":"followed"}"#).status == 201)
            #expect(try await server.request("POST", "/projects", json: #"{"id":2,"name":"followed too"}"#).status == 201)
            // Two events, each due to all three subscribers (to the band as its two creates).
            let delivered = try await scrape(server, until: { $0["feedbase_feed_deliveries_total"] == 6 })
            #expect(delivered["feedbase_feed_events_total"] == 2)
            #expect(delivered["feedbase_feed_slow_consumers_total"] == 0)
            stream.close()
            socket.close()
            band.close()
            _ = try await scrape(server, until: {
                $0[#"feedbase_feed_subscribers{kind="firehose"}"#] == 0 && $0[#"feedbase_feed_subscribers{kind="band"}"#] == 0 && $0["feedbase_feed_bands"] == 0
            })

            // A checkpoint on the checkpointer's thread, once the WAL passes its threshold.
            let before = try await scrape(server)[#"feedbase_sqlite_wal_checkpoints_total{by="checkpointer"}"#] ?? 0
            let padding = String(repeating: "x", count: 190)
            for id in 10..<800 {
                _ = try await server.request("POST", "/projects", json: #"{"id":\#(id),"name":"\#(id)\#(padding)","description":"\#(padding)\#(padding)\#(padding)"}"#)
            }
            _ = try await scrape(server, until: { ($0[#"feedbase_sqlite_wal_checkpoints_total{by="checkpointer"}"#] ?? 0) > before })
        }
    }

    @Test func requestsInFlightAreTheOnesNotYetAnswered() async throws {
        try await withServer { server in
            // Open streams are answered (their head is sent): only the scrape itself is in flight.
            let stream = try await HTTPConnection(port: server.port)
            defer { stream.close() }
            try await stream.write("GET", "/_feed", headers: [("Accept", "text/event-stream")])
            #expect(try await stream.readHead().status == 200)
            #expect(try await scrape(server)["feedbase_http_requests_in_flight"] == 1)
            // A long-poll waits unanswered until a change comes.
            let poll = try await HTTPConnection(port: server.port)
            defer { poll.close() }
            try await poll.write("GET", "/_changes?since=0&wait=30")
            _ = try await scrape(server, until: { $0["feedbase_http_requests_in_flight"] == 2 })
            #expect(try await server.request("POST", "/projects", json: #"{"name":"wakes it"}"#).status == 201)
            #expect(try await poll.readResponse().status == 200)
            _ = try await scrape(server, until: { $0["feedbase_http_requests_in_flight"] == 1 })
        }
    }

    @Test func withRulesTheMetricsAreForWhoeverReadsEverythingAndFailuresAreCounted() async throws {
        let rules = try AccessRules.parse("""
            allow * on * to admin
            allow read on tasks to user
            """, file: "rules.conf")
        try await withServer(configure: { $0.rules = rules; $0.rateLimit = (rate: 0.001, burst: 2) }) { server in
            // One request per 1,000 s after the burst: no refill during the test, however loaded
            // the machine (one per 20 s refilled once in CI's first pass).
            let admin = try await server.bearer(role: "admin")
            let user = try await server.bearer(role: "user")
            #expect(try await server.request("GET", "/metrics").status == 401)
            #expect(try await server.request("GET", "/metrics", headers: user).status == 403)
            #expect(try await server.request("GET", "/tasks", headers: [("Authorization", "Bearer fbk_nosuchkey")]).status == 401)
            #expect(try await server.request("GET", "/tasks", headers: [("Authorization", "Bearer not.a.jwt")]).status == 401)
            #expect(try await server.request("GET", "/tasks", headers: [("Authorization", "Basic dXNlcjpwYXNz")]).status == 401)
            // The user's bucket (2): the 403 above took one, this takes the other, then 429.
            #expect(try await server.request("GET", "/tasks", headers: user).status == 200)
            #expect(try await server.request("GET", "/tasks", headers: user).status == 429)
            let scraped = try await scrape(server, headers: admin)
            #expect(scraped[#"feedbase_auth_failures_total{reason="invalid"}"#] == 2)
            #expect(scraped[#"feedbase_auth_failures_total{reason="malformed"}"#] == 1)
            #expect(scraped["feedbase_rate_limited_total"] == 1)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="/tasks",status="401"}"#] == 3)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="/tasks",status="429"}"#] == 1)
            #expect(scraped[#"feedbase_http_requests_total{method="GET",route="/metrics",status="403"}"#] == 1)
        }
    }

    @Test func withoutMetricsThereIsNoRoute() async throws {
        let configure: (inout AppConfiguration) -> Void = { configuration in configuration.metrics = false }
        try await withServer(configure: configure) { server in
            let metrics = try await server.request("GET", "/metrics")
            #expect(metrics.status == 404)
            #expect(try await server.request("GET", "/_metrics").status == 404)
            #expect(try await server.request("GET", "/tasks").status == 200)
        }
    }

    /// The samples of one scrape, by series (`name{labels}` exactly as served).
    private func scrape(_ server: TestServer, headers: [(String, String)] = []) async throws -> [String: Double] {
        let response = try await server.request("GET", "/metrics", headers: headers)
        try #require(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// Scrapes until `condition` holds (the hub and the checkpointer work after the answer), for
    /// at most 20 s.
    private func scrape(_ server: TestServer, until condition: ([String: Double]) -> Bool) async throws -> [String: Double] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let samples = try await scrape(server)
            if condition(samples) { return samples }
            guard ContinuousClock.now < deadline else {
                Issue.record("the condition never held; last scrape: \(samples.filter { $0.key.hasPrefix("feedbase_feed") || $0.key.hasPrefix("feedbase_sqlite") })")
                return samples
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
