// Writes by other programs: the stock sqlite3 shell, or psql, inserts, updates and deletes in
// every shipped table (BLOB and bytea columns included) while the server runs and after it
// stopped, and each write reaches a feed subscriber as one event with the right item. A migration
// run from outside (as `feedbase migrate` runs it) drops and renames columns of a served table
// while a subscriber is connected, and the feed carries on in the new shape.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging
import Testing

/// JSON with sorted keys, for comparing items whatever their key order.
func canonical(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
}

/// The shell's writes to every shipped table, each with the event it must give: collection,
/// op, id, and the item (every column given explicitly, so the oracle needs no server). psql
/// writes bytes and booleans in PostgreSQL's words, and moves an identity past a key it gives,
/// as a program writing there must (docs/POSTGRES-SCHEMA.md).
private func shellWrites(_ k: Int) -> [(sql: EngineSQL, event: (collection: String, op: String, id: String, item: [String: Any]))] {
    let project: [String: Any] = [
        "id": 100 + k, "name": "shell \(k)", "description": NSNull(), "archived": false, "created_at": "2026-01-02T03:04:05.000Z",
    ]
    var task: [String: Any] = [
        "id": 200 + k, "project_id": 100 + k, "title": "from the shell", "done": false, "priority": 3, "estimate": 1.5,
        "due": NSNull(), "tags": ["a", 1], "attachment": "AP8Q", "created_at": "2026-01-02T03:04:05.000Z",
    ]
    var comment: [String: Any] = ["id": "c-\(k)", "task_id": 200 + k, "body": "hi", "posted_on": "2026-01-02", "remind_at": "08:30:00"]
    let moveIdentity = { (table: String) in " SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT max(id) FROM \(table)));" }
    let projectInsert = "INSERT INTO projects (id, name, created_at) VALUES (\(100 + k), 'shell \(k)', '2026-01-02T03:04:05.000Z');"
    let taskInsert = "INSERT INTO tasks (id, project_id, title, priority, estimate, tags, attachment, created_at) VALUES "
        + "(\(200 + k), \(100 + k), 'from the shell', 3, 1.5, '[\"a\",1]', BYTES, '2026-01-02T03:04:05.000Z');"
    var writes: [(EngineSQL, (String, String, String, [String: Any]))] = [
        (EngineSQL(sqlite: projectInsert, postgres: projectInsert + moveIdentity("projects")),
         ("projects", "create", "\(100 + k)", project)),
        (EngineSQL(
            sqlite: taskInsert.replacingOccurrences(of: "BYTES", with: "x'00FF10'"),
            postgres: taskInsert.replacingOccurrences(of: "BYTES", with: #"'\x00FF10'::bytea"#) + moveIdentity("tasks")),
         ("tasks", "create", "\(200 + k)", task)),
        (EngineSQL("INSERT INTO comments (id, task_id, body, posted_on, remind_at) VALUES ('c-\(k)', \(200 + k), 'hi', '2026-01-02', '08:30:00')"),
         ("comments", "create", "c-\(k)", comment)),
    ]
    task["attachment"] = "3q2+7w=="
    task["done"] = true
    writes.append((EngineSQL(
        sqlite: "UPDATE tasks SET attachment = x'DEADBEEF', done = 1 WHERE id = \(200 + k)",
        postgres: #"UPDATE tasks SET attachment = '\xDEADBEEF'::bytea, done = true WHERE id = "# + "\(200 + k)"),
        ("tasks", "update", "\(200 + k)", task)))
    var updatedProject = project
    updatedProject["description"] = "set by the shell"
    writes.append((EngineSQL("UPDATE projects SET description = 'set by the shell' WHERE id = \(100 + k)"),
        ("projects", "update", "\(100 + k)", updatedProject)))
    comment["body"] = "edited"
    writes.append((EngineSQL("UPDATE comments SET body = 'edited' WHERE id = 'c-\(k)'"), ("comments", "update", "c-\(k)", comment)))
    writes.append((EngineSQL("DELETE FROM comments WHERE id = 'c-\(k)'"), ("comments", "delete", "c-\(k)", comment)))
    writes.append((EngineSQL("DELETE FROM tasks WHERE id = \(200 + k)"), ("tasks", "delete", "\(200 + k)", task)))
    writes.append((EngineSQL("DELETE FROM projects WHERE id = \(100 + k)"), ("projects", "delete", "\(100 + k)", updatedProject)))
    return writes.map { (sql: $0.0, event: (collection: $0.1.0, op: $0.1.1, id: $0.1.2, item: $0.1.3)) }
}

/// The next change event on a WebSocket feed, skipping control messages and pings.
private func nextEvent(_ connection: HTTPConnection) async throws -> [String: Any] {
    for _ in 0..<100 {
        let frame = try await connection.nextFrame()
        // The server's pings (every 30 s) come whenever a slow run lasts that long.
        if frame.opcode == 9 || frame.opcode == 10 { continue }
        guard frame.opcode == 1 else { throw HTTPTestClientError(message: "frame \(frame.opcode) \(frame.text)") }
        guard let message = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] else { continue }
        if message["type"] == nil { return message }
    }
    throw HTTPTestClientError(message: "no event")
}

@Suite struct ForeignWriteTests {
    @Test(arguments: Engine.available) func sqlite3ShellWritesReachTheFeedWhileServingAndAfterAStop(engine: Engine) async throws {
        let first = try await TestServer.start(engine: engine)
        var lastSeq = 0
        do {
            let subscriber = try await HTTPConnection(port: first.port)
            #expect(try await subscriber.upgradeToWebSocket("/_feed?since=0").status == 101)
            for write in shellWrites(1) {
                try await first.foreignWrite(write.sql)
                // Nothing pokes the server: its poll for other processes' writes finds the event.
                let event = try await nextEvent(subscriber)
                #expect(event["collection"] as? String == write.event.collection && event["op"] as? String == write.event.op)
                #expect(event["id"] as? String == write.event.id)
                #expect(try canonical(event["item"] ?? NSNull()) == canonical(write.event.item), "\(write.sql.text(for: engine))")
                if write.event.op != "delete" {
                    // And the event's item is what REST serves.
                    let rest = try await first.request("GET", "/\(write.event.collection)/\(write.event.id)")
                    #expect(try canonical(object(rest)) == canonical(write.event.item))
                }
                let seq = event["seq"] as? Int ?? 0
                #expect(seq == lastSeq + 1)
                lastSeq = seq
            }
            subscriber.close()
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(removingFiles: false)

        // The server is gone: the shell writes again, and a new server's subscriber resumes.
        for write in shellWrites(2) { try await first.foreignWrite(write.sql) }
        let second = try await TestServer.restart(first)
        do {
            let subscriber = try await HTTPConnection(port: second.port)
            #expect(try await subscriber.upgradeToWebSocket("/_feed?since=\(lastSeq)").status == 101)
            for write in shellWrites(2) {
                let event = try await nextEvent(subscriber)
                #expect(event["seq"] as? Int == lastSeq + 1)
                lastSeq += 1
                #expect(event["collection"] as? String == write.event.collection && event["op"] as? String == write.event.op)
                #expect(event["id"] as? String == write.event.id)
                #expect(try canonical(event["item"] ?? NSNull()) == canonical(write.event.item), "\(write.sql.text(for: engine))")
            }
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    @Test(arguments: Engine.available) func aMigrationDropsAndRenamesColumnsOfAServedTableWhileSubscribersListen(engine: Engine) async throws {
        let server = try await TestServer.start(engine: engine, schema: EngineSQL(
            sqlite: "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, draft BOOLEAN);",
            postgres: #"CREATE TABLE notes (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, title text COLLATE "C" NOT NULL, body text COLLATE "C", draft boolean);"#))
        do {
            _ = try await server.request("POST", "/notes", json: #"{"title":"before","body":"b","draft":true}"#)
            let subscriber = try await HTTPConnection(port: server.port)
            #expect(try await subscriber.upgradeToWebSocket("/_feed?since=0").status == 101)
            let first = try await nextEvent(subscriber)
            #expect(try canonical(first["item"] ?? NSNull()) == canonical(["id": 1, "title": "before", "body": "b", "draft": true]))

            // The next migration, applied from outside while the server runs (`feedbase migrate`),
            // the same two statements in both dialects.
            #expect(try await server.migrateFromOutside("0002_reshape.sql", """
                ALTER TABLE notes DROP COLUMN draft;
                ALTER TABLE notes RENAME COLUMN body TO text;
                """) == ["0002_reshape.sql"])

            // Writes after it, by another program, reach the connected subscriber in the new shape.
            try await server.foreignWrite("UPDATE notes SET text = 'after' WHERE id = 1; INSERT INTO notes (title) VALUES ('new')")
            let update = try await nextEvent(subscriber)
            #expect(update["op"] as? String == "update")
            #expect(try canonical(update["item"] ?? NSNull()) == canonical(["id": 1, "title": "before", "text": "after"]))
            let create = try await nextEvent(subscriber)
            #expect(try canonical(create["item"] ?? NSNull()) == canonical(["id": 2, "title": "new", "text": NSNull()]))
            subscriber.close()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop(removingFiles: false)
        // A restart serves the new shape over REST too, and its feed goes on from the same log.
        let restarted = try await TestServer.restart(server)
        do {
            let created = try await restarted.request("POST", "/notes", json: #"{"title":"third","text":"t"}"#)
            #expect(created.status == 201)
            #expect(try await restarted.request("POST", "/notes", json: #"{"title":"x","draft":true}"#).status == 400)  // no such field now
            let events = try await changes(restarted, since: 3, count: 1)
            #expect(events.map(\.description) == ["4 create notes/3"])
            #expect(events.first?.item["text"] as? String == "t")
        } catch {
            await restarted.stop()
            throw error
        }
        await restarted.stop()
    }
}

extension TestServer {
    /// Adds migration `name` (`sql` in the engine's dialect) to the server's directory and
    /// applies it from outside the running server, as `feedbase migrate` does: SQLite's migrator
    /// on the file, or PostgreSQL's engine opened on the database (which migrates it) and closed.
    /// Returns the names applied.
    func migrateFromOutside(_ name: String, _ sql: EngineSQL) async throws -> [String] {
        switch engine {
        case .sqlite:
            try sql.sqlite.write(toFile: migrations + "/" + name, atomically: true, encoding: .utf8)
            return try SQLiteStore.migrate(path: database, migrationsDirectory: migrations)
        case .postgres:
            guard let postgres else { throw HTTPTestClientError(message: "no PostgreSQL database") }
            try sql.postgres.write(toFile: migrations + "/postgres/" + name, atomically: true, encoding: .utf8)
            var logger = Logger(label: "feedbase-test")
            logger.logLevel = .error
            let store = try await PostgresStore.open(try PostgresURL.endpoint(postgres.url), migrationsDirectory: migrations + "/postgres", logger: logger)
            await store.close()
            return store.appliedMigrations
        }
    }
}
