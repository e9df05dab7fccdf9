// The self-descriptions a running server serves: /openapi.json, /openapi.yaml, /asyncapi.json,
// linked from the index and naming the server they were fetched from.

import Foundation
import Testing

@Suite struct DocumentRoutesTests {
    @Test func theDocumentsAreServedAndLinkedFromTheIndex() async throws {
        try await withServer { server in
            let index = try object(try await server.request("GET", "/"))
            #expect(index["openapi"] as? String == "/openapi.json" && index["asyncapi"] as? String == "/asyncapi.json")

            let json = try await server.request("GET", "/openapi.json")
            #expect(json.status == 200 && json.header("Content-Type") == "application/json; charset=utf-8")
            let document = try object(json)
            #expect(document["openapi"] as? String == "3.1.0")
            // The test client sends `Host: 127.0.0.1`.
            #expect(((document["servers"] as? [[String: Any]])?.first?["url"] as? String) == "http://127.0.0.1")
            let paths = try #require(document["paths"] as? [String: Any])
            #expect(Set(paths.keys).isSuperset(of: ["/", "/_health", "/_ready", "/_changes", "/_feed", "/tasks", "/tasks/{id}", "/openapi.json", "/openapi.yaml", "/asyncapi.json"]))

            let yaml = try await server.request("GET", "/openapi.yaml")
            #expect(yaml.status == 200 && yaml.header("Content-Type") == "application/yaml; charset=utf-8")
            #expect(yaml.text.hasPrefix("openapi: \"3.1.0\"\n") && yaml.text.contains("\n  - url: \"http://127.0.0.1\"\n"))
            #expect(try await server.request("HEAD", "/openapi.yaml").header("Content-Length") == String(yaml.body.count))

            let asyncAPI = try object(try await server.request("GET", "/asyncapi.json"))
            #expect(asyncAPI["asyncapi"] as? String == "3.0.0")
            #expect(try await server.request("POST", "/openapi.json", json: "{}").status == 405)
        }
    }

    @Test func withoutTheFeedTheDocumentsLeaveItOut() async throws {
        try await withServer(feed: false) { server in
            let index = try object(try await server.request("GET", "/"))
            #expect(index["openapi"] as? String == "/openapi.json" && index["asyncapi"] == nil)
            let paths = try #require(try object(try await server.request("GET", "/openapi.json"))["paths"] as? [String: Any])
            #expect(paths["/_changes"] == nil && paths["/_feed"] == nil && paths["/asyncapi.json"] == nil && paths["/tasks"] != nil)
            #expect(try await server.request("GET", "/asyncapi.json").status == 404)
        }
    }
}
