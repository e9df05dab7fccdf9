// The two engines held equal on writes: the same seeded sequence of writes (DifferentialWrites)
// applied to a SQLiteStore and a PostgresStore must give the same answer each time (the items,
// whether created, the seq; or the same error kind, violations and failing batch operation),
// and afterwards the same listings and the same change log (seq, op, collection, id, item).
// Items are compared as JSON values where docs/SCHEMA.md says their bytes differ (a double's
// text, jsonb's key order). Every seed is printed with its failure.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import Logging
import Testing

@Suite(.needsPostgres)
struct DifferentialWriteTests {
    static let seeds: [UInt64] = Array(1...48)
    static let writesPerSeed = 120

    @Test(arguments: seeds) func writesAnswerAlikeOnBothEngines(seed: UInt64) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let sqliteMigrations = try Migrations.directory(["0001_test.sql": DifferentialWrites.sqlite])
        let postgresMigrations = try Migrations.directory(["0001_test.sql": DifferentialWrites.postgres])
        defer {
            Migrations.remove(sqliteMigrations)
            Migrations.remove(postgresMigrations)
        }
        let sqlite = try SQLiteStore(
            StoreConfiguration(path: sqliteMigrations + "/test.sqlite", migrationsDirectory: sqliteMigrations, readers: 1), logger: logger)
        let database = try await freshDatabase()
        let postgres = try await PostgresStore.open(
            clientConfiguration(database, connections: 2), migrationsDirectory: postgresMigrations, leaseTimeout: PostgresWriteTests.leaseTimeout, logger: logger)
        var generator = DifferentialWrites.Generator(random: SeededGenerator(seed: seed))
        var history: [String] = []
        do {
            let prelude: [DifferentialWrites.Write] = [
                .create("projects", "[{\"id\":1,\"name\":\"one\",\"owner\":\"a\"},{\"id\":2,\"name\":\"two\",\"owner\":\"b\"},{\"id\":3,\"name\":\"three\"}]"),
                .create("tasks", "[{\"id\":1,\"project_id\":1,\"title\":\"t1\",\"owner\":\"a\",\"tags\":{\"x\":1,\"y\":{\"z\":2}}},"
                    + "{\"id\":2,\"project_id\":2,\"title\":\"t2\",\"owner\":\"b\"},{\"id\":3,\"project_id\":1,\"title\":\"t3\",\"estimate\":0.1}]"),
                .create("notes", "{\"id\":\"n1\",\"task_id\":1,\"owner\":\"a\",\"data\":\"AAEC\"}"),
            ]
            var writes = prelude.map { ($0, Access.unrestricted) }
            for _ in 0..<Self.writesPerSeed { writes.append((generator.write(), generator.access())) }
            var commits: Set<Int64> = []
            var outcomes: [String: Int] = [:]
            for (index, (write, access)) in writes.enumerated() {
                history.append("\(index): \(write) with \(access)")
                let lite = await Self.answer(write, access: access, on: sqlite)
                let pg = await Self.answer(write, access: access, on: postgres)
                guard lite == pg else {
                    Issue.record("seed \(seed), write \(index): \(write)\n  with \(access)\n  SQLite:     \(lite)\n  PostgreSQL: \(pg)\n  history:\n    \(history.suffix(12).joined(separator: "\n    "))")
                    throw CancellationError()
                }
                if let seq = Self.seq(of: lite) { commits.insert(seq) }
                outcomes[lite.hasPrefix("batch failed") ? "batch failed" : String(lite.prefix { $0 != " " }), default: 0] += 1
            }
            // The sequence reaches both successes and the failures it means to compare.
            #expect((outcomes["created"] ?? 0) + (outcomes["put"] ?? 0) + (outcomes["patched"] ?? 0) + (outcomes["batch"] ?? 0) + (outcomes["deleted"] ?? 0) >= 12, "seed \(seed): \(outcomes)")
            #expect(outcomes.count >= 7, "seed \(seed): \(outcomes)")
            if ProcessInfo.processInfo.environment["FEEDBASE_SHOW_OUTCOMES"] != nil { print("seed \(seed): \(outcomes.sorted { $0.key < $1.key })") }
            for collection in ["projects", "tasks", "notes"] {
                var query = ListQuery()
                query.limit = 1000
                let lite = try await sqlite.list(in: collection, query: query), pg = try await postgres.list(in: collection, query: query)
                #expect(Self.canonical(lite.json) == Self.canonical(pg.json), "seed \(seed): \(collection) listings differ")
                #expect(lite.seq == pg.seq, "seed \(seed): \(collection) listings' seq differ")
            }
            let liteEvents = try await Self.events(sqlite, commits: commits), pgEvents = try await Self.events(postgres, commits: commits)
            #expect(liteEvents.count == pgEvents.count, "seed \(seed): \(liteEvents.count) events on SQLite, \(pgEvents.count) on PostgreSQL")
            for (a, b) in zip(liteEvents, pgEvents) where a != b {
                Issue.record("seed \(seed): events differ\n  SQLite:     \(a)\n  PostgreSQL: \(b)")
                break
            }
        } catch is CancellationError {
        } catch {
            Issue.record("seed \(seed): \(error)\n  history:\n    \(history.suffix(12).joined(separator: "\n    "))")
        }
        await postgres.close()
        await sqlite.close()
    }

    /// What the store answered, in terms both engines must share.
    static func answer(_ write: DifferentialWrites.Write, access: Access, on store: some ResourceStore) async -> String {
        func tag(_ tag: DifferentialWrites.Tag, _ collection: String, _ id: String) async -> Preconditions {
            switch tag {
            case .none: return .none
            case .star: return Preconditions(ifMatch: ["*"])
            case .bogus: return Preconditions(ifMatch: ["\"bogus\""])
            case .current:
                let item = try? await store.item(in: collection, id: id)
                return Preconditions(ifMatch: [item?.etag ?? "\"absent\""])
            }
        }
        do {
            switch write {
            case .create(let collection, let body):
                let created = try await store.create(in: collection, body: Array(body.utf8), access: access)
                return "created \(created.isArray) seq \(created.seq) " + created.items.map { "\($0.id)=\(canonical($0.json))" }.joined(separator: " ")
            case .put(let collection, let id, let body, let condition):
                let (item, created) = try await store.replace(
                    in: collection, id: id, body: Array(body.utf8), preconditions: await tag(condition, collection, id), access: access)
                return "put created \(created) seq \(item.seq) \(item.id)=\(canonical(item.json))"
            case .patch(let collection, let id, let body, let condition):
                let item = try await store.patch(
                    in: collection, id: id, body: Array(body.utf8), preconditions: await tag(condition, collection, id), access: access)
                return "patched seq \(item.seq) \(item.id)=\(canonical(item.json))"
            case .delete(let collection, let id, let condition):
                let seq = try await store.delete(in: collection, id: id, preconditions: await tag(condition, collection, id), access: access)
                return "deleted seq \(seq)"
            case .batch(let body):
                let result = try await store.batch(Array(body.utf8)) { _, _ in access }
                return "batch seq \(result.seq) " + result.outcomes.map { outcome in
                    switch outcome {
                    case .created(let item): "created \(item.id)=\(canonical(item.json))"
                    case .changed(let item): "changed \(item.id)=\(canonical(item.json))"
                    case .deleted: "deleted"
                    }
                }.joined(separator: " ")
            }
        } catch let failure as BatchFailure {
            return "batch failed at \(failure.index) (\(failure.operation ?? "?")): " + describe(failure.error)
        } catch {
            return describe(error)
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? StoreError else { return "not a StoreError: \(error)" }
        return "\(error.kind) \(error.violations)"
    }

    /// The seq a successful write answered.
    static func seq(of answer: String) -> Int64? {
        guard let range = answer.range(of: "seq ") else { return nil }
        return Int64(answer[range.upperBound...].prefix { $0.isNumber })
    }

    /// The events of the whole log, one line per commit (a write's events end at the seq it
    /// answered): its seqs, then each event's op, collection, id and item (as a JSON value), in
    /// the commit's order, except that a cascade's events are sorted: PostgreSQL logs a deleted
    /// row before the rows its delete cascades to (its RI triggers' deletes fire their triggers
    /// after the statement's own), SQLite after them (docs/POSTGRES.md, "Writes").
    static func events(_ store: some ResourceStore, commits: Set<Int64>) async throws -> [String] {
        let batch = try await store.changes(after: 0, collections: nil, limit: 100_000, maxBytes: .max)
        var lines: [String] = []
        var group: [ChangeEvent] = []
        func flush() {
            guard let first = group.first, let last = group.last else { return }
            var texts = group.map { event -> String in
                guard let object = try? JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any] else { return "unreadable event" }
                let item = (object["item"]).flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
                return "\(object["op"] ?? "?") \(event.collection) \(object["id"] ?? "?") \(item.map { String(decoding: $0, as: UTF8.self) } ?? "nil")"
            }
            let cascades = group.filter { String(decoding: $0.json, as: UTF8.self).contains("\"op\":\"delete\"") }.count > 1
            if cascades { texts.sort() }
            lines.append("\(first.seq)...\(last.seq): " + texts.joined(separator: " | "))
            group = []
        }
        for event in batch.events {
            group.append(event)
            if commits.contains(event.seq) { flush() }
        }
        flush()
        return lines
    }

    /// JSON with its objects' keys sorted and its numbers as values, not text.
    static func canonical(_ json: [UInt8]) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return "unreadable: " + String(decoding: json, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }
}
