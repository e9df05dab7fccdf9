// What foreign keys answer, end to end on a schema whose key columns do not end in `_id` and
// that references tables it does not serve: a reference to a hidden item is refused exactly as
// one to an absent item; every problem of a body comes in one answer; a delete of an item others
// still refer to, or a change of the value they refer to it by, is a 409 naming them; relations are named as the error says; and no document or
// error names an unserved (`_`) table.

import FeedbaseApp
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct ForeignKeyAnswerTests {
    static let sql = """
        CREATE TABLE _private (id INTEGER PRIMARY KEY, secret TEXT);
        CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL DEFAULT 'anyone');
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY, project INTEGER REFERENCES projects(id), title TEXT NOT NULL,
            priority INTEGER CHECK (priority BETWEEN 1 AND 5), vault INTEGER REFERENCES _private(id));
        CREATE INDEX tasks_project ON tasks (project);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, task INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE, body TEXT);
        CREATE INDEX notes_task ON notes (task);
        CREATE TABLE _audit (id INTEGER PRIMARY KEY, project INTEGER REFERENCES projects(id));
        INSERT INTO _private (id, secret) VALUES (1, 'x');
        INSERT INTO projects (id, name, owner) VALUES (1, 'open', 'anyone'), (2, 'hidden', 'bob'), (3, 'audited', 'anyone');
        INSERT INTO _audit (project) VALUES (3);
        """

    /// The problem's `errors` as "pointer: detail" lines.
    static func errors(_ response: HTTPResponse) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return (object?["errors"] as? [[String: Any]] ?? []).map { "\($0["pointer"] as? String ?? "-"): \($0["detail"] as? String ?? "")" }
    }

    /// The body without its request id, and with the item `value` it names written as `X`.
    static func normalized(_ response: HTTPResponse, _ value: String) -> String {
        var text = response.text.replacingOccurrences(of: "no item \(value) in", with: "no item X in")
        if let range = text.range(of: #""requestId":"[^"]*""#, options: .regularExpression) { text.replaceSubrange(range, with: "") }
        return text
    }

    @Test func aReferenceToAnItemTheCallerCannotReadIsRefusedAsOneToAnAbsentItem() async throws {
        let rules = try AccessRules.parse("""
            allow read on projects to anon where owner=eq.anyone
            allow read, create, update on tasks to anon
            """, file: "rules.conf")
        try await withServer(sql: Self.sql, configure: { $0.rules = rules }) { server in
            #expect(try await server.request("GET", "/projects/2").status == 404)
            let hidden = try await server.request("POST", "/tasks", json: #"{"title":"t","project":2}"#)
            let absent = try await server.request("POST", "/tasks", json: #"{"title":"t","project":7}"#)
            #expect(hidden.status == 422 && absent.status == 422)
            #expect(Self.normalized(hidden, "2") == Self.normalized(absent, "7"))
            #expect(try Self.errors(absent) == ["/project: no item 7 in projects"])
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"t","project":1}"#).status == 201)
            // A change, and an operation of a batch, alike.
            let patchHidden = try await server.request("PATCH", "/tasks/1", json: #"{"project":2}"#)
            let patchAbsent = try await server.request("PATCH", "/tasks/1", json: #"{"project":7}"#)
            #expect(patchHidden.status == 422 && Self.normalized(patchHidden, "2") == Self.normalized(patchAbsent, "7"))
            let batch = #"[{"op":"create","collection":"tasks","body":{"title":"b","project":N}}]"#
            let batchHidden = try await server.request("POST", "/_batch", json: batch.replacingOccurrences(of: "N", with: "2"))
            let batchAbsent = try await server.request("POST", "/_batch", json: batch.replacingOccurrences(of: "N", with: "7"))
            #expect(batchHidden.status == 422 && Self.normalized(batchHidden, "2") == Self.normalized(batchAbsent, "7"))
            #expect(try Self.errors(batchAbsent) == ["/0/body/project: no item 7 in projects"])
            // Nothing of the refused writes was kept.
            #expect(try await server.request("GET", "/tasks?select=id,project").text == #"[{"id":1,"project":1}]"#)
        }
    }

    @Test func everyProblemOfABodyComesInOneAnswer() async throws {
        try await withServer(sql: Self.sql) { server in
            // A bad reference and a CHECK the row breaks.
            let both = try await server.request("POST", "/tasks", json: #"{"title":"t","project":999,"priority":9}"#)
            #expect(both.status == 422)
            #expect(try Self.errors(both) == ["/project: no item 999 in projects", "/priority: violates a constraint of the table"])
            // With values of the wrong type: those and the reference.
            let typed = try await server.request("POST", "/tasks", json: #"{"project":999,"priority":"high"}"#)
            #expect(try Self.errors(typed) == [
                "/project: no item 999 in projects", "/title: required", "/priority: expected an integer, got a string",
            ])
            // Every item of a bulk create.
            let bulk = try await server.request("POST", "/tasks", json: #"[{"title":"a","project":999},{"title":"b","priority":9},{"title":"c"}]"#)
            #expect(bulk.status == 422)
            #expect(try Self.errors(bulk) == ["/0/project: no item 999 in projects", "/1/priority: violates a constraint of the table"])
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"t"}"#).status == 201)
            let patch = try await server.request("PATCH", "/tasks/1", json: #"{"project":999,"priority":9}"#)
            #expect(try Self.errors(patch) == ["/project: no item 999 in projects", "/priority: violates a constraint of the table"])
            // A reference that resolves is written.
            let chained = try await server.request("POST", "/notes", json: #"{"task":1,"body":"n"}"#)
            #expect(chained.status == 201)
            #expect(try await server.request("GET", "/tasks?select=id").text == #"[{"id":1}]"#)
        }
    }

    @Test func deletingAnItemOthersStillReferToIsAConflictNamingThem() async throws {
        try await withServer(sql: Self.sql) { server in
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"t","project":1}"#).status == 201)
            let delete = try await server.request("DELETE", "/projects/1")
            #expect(delete.status == 409)
            #expect(delete.text.contains("items of tasks still refer to this item"), "\(delete.text)")
            let batch = try await server.request("POST", "/_batch", json: #"[{"op":"delete","collection":"projects","id":1}]"#)
            #expect(batch.status == 409)
            #expect(try Self.errors(batch) == ["/0/id: items of tasks still refer to this item; delete them or change their reference first"])
            // Referred to only from a table that is not served: a conflict that names nothing.
            let audited = try await server.request("DELETE", "/projects/3")
            #expect(audited.status == 409)
            #expect(audited.text.contains("other items still refer") && !audited.text.contains("_audit"), "\(audited.text)")
            // ON DELETE CASCADE still deletes.
            #expect(try await server.request("POST", "/notes", json: #"{"task":1,"body":"n"}"#).status == 201)
            #expect(try await server.request("DELETE", "/tasks/1").status == 204)
            #expect(try await server.request("DELETE", "/projects/1").status == 204)
            // The document declares the 409.
            let document = try await server.request("GET", "/openapi.json")
            let paths = try JSONSerialization.jsonObject(with: Data(document.body)) as? [String: Any]
            let item = (paths?["paths"] as? [String: Any])?["/projects/{id}"] as? [String: Any]
            let responses = (item?["delete"] as? [String: Any])?["responses"] as? [String: Any]
            #expect(responses?["409"] != nil && responses?["422"] == nil)
        }
    }

    static let teams = """
        CREATE TABLE teams (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT);
        CREATE TABLE members (id INTEGER PRIMARY KEY, team TEXT REFERENCES teams(code), name TEXT);
        CREATE INDEX members_team ON members (team);
        CREATE TABLE _badges (id INTEGER PRIMARY KEY, team TEXT REFERENCES teams(code));
        INSERT INTO teams (id, code, name) VALUES (1, 'red', 'Red'), (2, 'blue', 'Blue'), (3, 'green', 'Green');
        INSERT INTO members (team, name) VALUES ('red', 'ann');
        INSERT INTO _badges (team) VALUES ('green');
        """

    @Test func changingAValueOthersReferToIsAConflictNamingThem() async throws {
        try await withServer(sql: Self.teams) { server in
            let detail = "items of members still refer to this item by its code; change their reference first, or keep the value"
            for (method, body) in [("PATCH", #"{"code":"crimson"}"#), ("PUT", #"{"code":"crimson","name":"Red"}"#)] {
                let changed = try await server.request(method, "/teams/1", json: body)
                #expect(changed.status == 409, "\(method): \(changed.text)")
                #expect(try Self.errors(changed) == ["/code: " + detail], "\(method): \(changed.text)")
            }
            let batch = try await server.request("POST", "/_batch", json: #"[{"op":"patch","collection":"teams","id":1,"body":{"code":"crimson"}}]"#)
            #expect(batch.status == 409)
            #expect(try Self.errors(batch) == ["/0/body/code: " + detail], "\(batch.text)")
            // Referred to only from a table that is not served: a conflict that names nothing.
            let badged = try await server.request("PATCH", "/teams/3", json: #"{"code":"lime"}"#)
            #expect(badged.status == 409)
            #expect(badged.text.contains("other items still refer to this item by its code") && !badged.text.contains("_badges"), "\(badged.text)")
            // Nothing was changed; a change that keeps the value, or of an item nobody refers to, is made.
            #expect(try await server.request("GET", "/teams?select=code&order=id").text == #"[{"code":"red"},{"code":"blue"},{"code":"green"}]"#)
            #expect(try await server.request("PATCH", "/teams/1", json: #"{"name":"Rouge"}"#).status == 200)
            #expect(try await server.request("PUT", "/teams/1", json: #"{"code":"red","name":"R"}"#).status == 200)
            #expect(try await server.request("PATCH", "/teams/2", json: #"{"code":"navy"}"#).status == 200)
            // Once nothing refers to it, the value may change.
            #expect(try await server.request("DELETE", "/members/1").status == 204)
            #expect(try await server.request("PATCH", "/teams/1", json: #"{"code":"crimson"}"#).status == 200)
        }
    }

    @Test func aKeyColumnWithoutIdIsEmbeddedByTheCollectionItRefersTo() async throws {
        try await withServer(sql: Self.sql) { server in
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"t","project":1}"#).status == 201)
            let embedded = try await server.request("GET", "/tasks?select=id,project,projects(name)")
            #expect(embedded.text == #"[{"id":1,"project":1,"projects":{"name":"open"}}]"#)
            // The column's own name, where the column is selected too, says exactly what to write.
            let clash = try await server.request("GET", "/tasks?select=*,project(*)")
            #expect(clash.status == 400)
            #expect(clash.text.contains("embed it as projects(...), or under another key (project_item:project(...))"), "\(clash.text)")
            #expect(try await server.request("GET", "/tasks?select=id,project_item:project(name)").text == #"[{"id":1,"project_item":{"name":"open"}}]"#)
            let unknown = try await server.request("GET", "/tasks?select=*,nope(*)")
            #expect(unknown.text.contains("its relations: projects, notes"), "\(unknown.text)")
            // The list item documents the relation under that name.
            let document = try await server.request("GET", "/openapi.json")
            let root = try JSONSerialization.jsonObject(with: Data(document.body)) as? [String: Any]
            let schemas = (root?["components"] as? [String: Any])?["schemas"] as? [String: Any]
            let properties = (schemas?["TaskListItem"] as? [String: Any])?["properties"] as? [String: Any]
            #expect(properties?["projects"] != nil && properties?["notes"] != nil)
        }
    }

    @Test func noDocumentOrErrorNamesATableThatIsNotServed() async throws {
        try await withServer(sql: Self.sql) { server in
            for path in ["/openapi.json", "/openapi.yaml", "/asyncapi.json", "/"] {
                let document = try await server.request("GET", path)
                #expect(document.status == 200)
                #expect(!document.text.contains("_private") && !document.text.contains("_audit"), "\(path)")
            }
            let vault = try await server.request("POST", "/tasks", json: #"{"title":"t","vault":9}"#)
            #expect(vault.status == 422)
            #expect(try Self.errors(vault) == ["/vault: the referenced item does not exist"])
            #expect(!vault.text.contains("_private"))
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"t","vault":1}"#).status == 201)
        }
    }
}
