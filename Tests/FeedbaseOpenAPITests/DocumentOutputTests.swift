// The documents as output: every reference resolves, generation is deterministic, JSON and YAML
// read back as the same value, YAML quotes what a resolver could misread. With
// FEEDBASE_WRITE_DOCS=/some/dir the shipped schema's documents are written there for the external
// validators.

import Foundation
import Testing

@testable import FeedbaseOpenAPI

@Suite struct DocumentOutputTests: DocumentTesting {
    @Test func everyReferenceOfEveryDocumentResolves() async throws {
        let schema = try await Self.schema()
        let documents = [
            OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil), OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil),
            OpenAPIDocument.asyncAPI(for: schema, serverURL: nil),
        ]
        for document in documents {
            var references: [String] = []
            func collect(_ value: DocumentValue) {
                switch value {
                case .object(let members):
                    for member in members {
                        if member.key == "$ref", let target = member.value.stringValue { references.append(target) } else { collect(member.value) }
                    }
                case .array(let elements): elements.forEach(collect)
                default: break
                }
            }
            collect(document)
            #expect(references.count > 10)
            for reference in Set(references) {
                #expect(reference.hasPrefix("#/"), "\(reference)")
                var node: DocumentValue? = document
                for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
                    node = node?[String(token).replacing("~1", with: "/").replacing("~0", with: "~")]
                }
                #expect(node != nil, "\(reference) resolves to nothing")
            }
        }
    }

    @Test func generationIsDeterministic() async throws {
        let schema = try await Self.schema()
        #expect(OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil).json()
            == OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil).json())
        #expect(OpenAPIDocument.asyncAPI(for: schema, serverURL: nil).yaml() == OpenAPIDocument.asyncAPI(for: schema, serverURL: nil).yaml())
    }

    @Test func jsonAndYAMLReadBackAsTheSameValue() async throws {
        let schema = try await Self.schema()
        for document in [
            OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil), OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil),
            OpenAPIDocument.asyncAPI(for: schema, serverURL: nil),
        ] {
            var json = DocumentReader(String(decoding: document.json(), as: UTF8.self))
            #expect(try json.readJSON() == document)
            #expect(try DocumentReader.readYAML(document.yaml()) == document)
        }
        let awkward: DocumentValue = [
            "yes": "no", "null": "~", "1.0": "1e5", "a: b": "#x", "-x": "", "On": "2026-01-01", "0x1F": "1_000", "tab": "a\tb\n",
            "quote": "say \"hi\" \\ ok", "unicode": "café ✓ \u{2028}\u{85}\u{7F}", "empty": [], "object": [:],
            "nested": [[1, 2], ["k": [true, false, nil]], -3, 1.5, 2e20],
        ]
        var json = DocumentReader(String(decoding: awkward.json(), as: UTF8.self))
        #expect(try json.readJSON() == awkward)
        #expect(try DocumentReader.readYAML(awkward.yaml()) == awkward)
        #expect(awkward.json().last == UInt8(ascii: "\n"))
    }

    @Test func yamlQuotesEveryStringAResolverCouldMisread() {
        for text in ["yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False", "1.0", "1", "-1", ".5", "1e5", "0x1F", "0o7",
            "1_000", "12:30", "2026-01-01", ".inf", ".NaN", "a: b", "a #b", "#x", "-x", "- x", "?x", "&a", "*a", "!t", "|", ">", "%d", "@x",
            "`x", "'x'", "\"x\"", "[a]", "{a}", "", " a", "a ", "a\nb", "<<", "=", "x: ", "café"]
        {
            #expect(!DocumentValue.isPlainYAMLSafe(text), "\(text)")
        }
        for text in ["Feedbase", "application/json", "/tasks", "get", "A string (SQL type `TEXT`).".replacing("`", with: ""), "seq"] {
            #expect(DocumentValue.isPlainYAMLSafe(text), "\(text)")
        }
        #expect(DocumentValue.object(ordered: [("a", 1), ("b", 2), ("a", 3)]) == ["a": 3, "b": 2])
    }

    /// Writes the documents of the shipped schema for openapi-spec-validator and friends.
    @Test func writeDocumentsWhenAsked() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["FEEDBASE_WRITE_DOCS"], !directory.isEmpty else { return }
        let schema = try await Self.schema()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openAPI = OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)
        try Data(openAPI.json()).write(to: URL(fileURLWithPath: directory + "/openapi.json"))
        try openAPI.yaml().write(toFile: directory + "/openapi.yaml", atomically: true, encoding: .utf8)
        let noFeed = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        try Data(noFeed.json()).write(to: URL(fileURLWithPath: directory + "/openapi-nofeed.json"))
        try noFeed.yaml().write(toFile: directory + "/openapi-nofeed.yaml", atomically: true, encoding: .utf8)
        let asyncAPI = OpenAPIDocument.asyncAPI(for: schema, serverURL: nil)
        try Data(asyncAPI.json()).write(to: URL(fileURLWithPath: directory + "/asyncapi.json"))
        try asyncAPI.yaml().write(toFile: directory + "/asyncapi.yaml", atomically: true, encoding: .utf8)
    }
}
