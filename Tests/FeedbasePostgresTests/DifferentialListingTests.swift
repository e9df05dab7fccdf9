// The two engines held equal on listings: the same rows (DifferentialData) written into a
// SQLiteStore (migrations/) and a PostgresStore (migrations/postgres/), then random ListQueries
// followed page by page to the end must give the same pages, or the same error, on both. Pages
// must be the same bytes, except where docs/SCHEMA.md says why they cannot be (a double's text,
// jsonb's text): then the same JSON values. Every seed is printed with its failures.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.needsPostgres)
struct DifferentialListingTests {
    static let datasets: [UInt64] = Array(1...16)
    static let queriesPerDataset = 120

    @Test(arguments: datasets) func listingsAreTheSameOnBothEngines(dataset: UInt64) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let data = DifferentialData(seed: dataset)
        // The shipped migrations of each dialect, and a third table.
        let liteFiles = try MigrationDirectory.files(in: Migrations.shipped), pgFiles = try MigrationDirectory.files(in: Migrations.shippedPostgres)
        let liteDirectory = try Migrations.directory(
            Dictionary(uniqueKeysWithValues: liteFiles.map { ($0.name, $0.sql) }).merging(["0003_readings.sql": DifferentialData.extraSQLite]) { a, _ in a })
        let pgDirectory = try Migrations.directory(
            Dictionary(uniqueKeysWithValues: pgFiles.map { ($0.name, $0.sql) }).merging(["0003_readings.sql": DifferentialData.extraPostgres]) { a, _ in a })
        defer {
            Migrations.remove(liteDirectory)
            Migrations.remove(pgDirectory)
        }
        let sqlite = try SQLiteStore(StoreConfiguration(path: liteDirectory + "/test.sqlite", migrationsDirectory: liteDirectory, readers: 1), logger: logger)
        let database = try await freshDatabase()
        let postgres = try await PostgresStore.open(
            clientConfiguration(database, connections: 2), migrationsDirectory: pgDirectory, leaseTimeout: PostgresWriteTests.leaseTimeout, logger: logger)
        do {
            try await Self.write(data, sqlite: sqlite, postgres: postgres, logger: logger)
            var random = SeededGenerator(seed: dataset &* 7919)
            var pages = 0, parsedOnly = 0
            for index in 0..<Self.queriesPerDataset {
                let collection = ["tasks", "tasks", "projects", "comments", "readings"][Int.random(in: 0..<5, using: &random)]
                let columns = DifferentialData.schemaColumns[collection] ?? []
                let query = DifferentialData.query(collection, columns, using: &random)
                let where_ = "dataset \(dataset), query \(index): \(collection) \(query)"
                let counts = try await Self.compareAllPages(
                    collection, query, sqlite: sqlite, postgres: postgres, expectedHead: data.projects.count + data.tasks.count + data.comments.count + data.readings.count,
                    context: where_)
                pages += counts.pages
                parsedOnly += counts.parsedOnly
            }
            try await Self.compareItems(data, sqlite: sqlite, postgres: postgres, dataset: dataset, using: &random)
            // Most pages are the same bytes; those that are not differ only where SCHEMA.md says.
            #expect(pages > Self.queriesPerDataset / 4)
            #expect(parsedOnly < pages, "dataset \(dataset): \(parsedOnly) of \(pages) pages equal only as JSON values")
        } catch {
            Issue.record("dataset \(dataset): \(error)")
        }
        await postgres.close()
        await sqlite.close()
    }

    /// Every item by its id, and ids that name none, with random read rules: the same item (or
    /// none) on both engines.
    static func compareItems(
        _ data: DifferentialData, sqlite: SQLiteStore, postgres: PostgresStore, dataset: UInt64, using random: inout SeededGenerator
    ) async throws {
        for (collection, rows) in [("projects", data.projects), ("tasks", data.tasks), ("comments", data.comments), ("readings", data.readings)] {
            let ids = rows.compactMap(DifferentialData.id(of:)).map { id in
                // A text key's id is the string itself.
                id.hasPrefix("\"") ? (try? JSONSerialization.jsonObject(with: Data(id.utf8), options: [.fragmentsAllowed]) as? String) ?? id : id
            }
            let columns = DifferentialData.schemaColumns[collection] ?? []
            for id in ids + ["abc", "1.5", "", "9223372036854775808", "-0", "c0"] {
                var access = Access.unrestricted
                switch Int.random(in: 0..<4, using: &random) {
                case 0: access.read = .none
                case 1: access.read = .rows([DifferentialData.filter(columns, using: &random)])
                default: break
                }
                let context = "dataset \(dataset): \(collection)/\(id) with \(access.read)"
                let lite: Result<Item?, StoreError>, pg: Result<Item?, StoreError>
                do { lite = .success(try await sqlite.item(in: collection, id: id, access: access)) } catch let error as StoreError { lite = .failure(error) }
                do { pg = .success(try await postgres.item(in: collection, id: id, access: access)) } catch let error as StoreError { pg = .failure(error) }
                switch (lite, pg) {
                case (.success(let a), .success(let b)):
                    let aText = a.map { String(decoding: $0.json, as: UTF8.self) }, bText = b.map { String(decoding: $0.json, as: UTF8.self) }
                    #expect((aText == nil) == (bText == nil), "\(context)\nSQLite:     \(aText ?? "none")\nPostgreSQL: \(bText ?? "none")")
                    #expect(a?.seq == b?.seq, "\(context): seq \(a?.seq ?? -1) on SQLite, \(b?.seq ?? -1) on PostgreSQL")
                    if let aText, let bText, aText != bText {
                        #expect(Self.textDiffers[collection] != nil && Self.sameJSON(aText, bText), "\(context)\nSQLite:     \(aText)\nPostgreSQL: \(bText)")
                    }
                case (.failure(let a), .failure(let b)):
                    #expect(a.kind == b.kind && a.message == b.message, "\(context)\nSQLite: \(a)\nPostgreSQL: \(b)")
                default:
                    Issue.record("\(context)\nSQLite: \(lite)\nPostgreSQL: \(pg)")
                }
            }
        }
    }

    /// Follows the listing to its end on both engines, comparing every page.
    static func compareAllPages(
        _ collection: String, _ first: ListQuery, sqlite: SQLiteStore, postgres: PostgresStore, expectedHead: Int, context: String
    ) async throws -> (pages: Int, parsedOnly: Int) {
        var query = first
        var pages = 0, parsedOnly = 0
        for _ in 0..<60 {
            let lite: Result<Page, StoreError>
            let pg: Result<Page, StoreError>
            do { lite = .success(try await sqlite.list(in: collection, query: query)) } catch let error as StoreError { lite = .failure(error) }
            do { pg = .success(try await postgres.list(in: collection, query: query)) } catch let error as StoreError { pg = .failure(error) }
            switch (lite, pg) {
            case (.failure(let a), .failure(let b)):
                #expect(a.kind == b.kind && a.parameter == b.parameter && a.message == b.message, "\(context)\nSQLite: \(a)\nPostgreSQL: \(b)")
                return (pages, parsedOnly)
            case (.failure(let a), .success):
                Issue.record("\(context)\nSQLite failed (\(a)), PostgreSQL answered")
                return (pages, parsedOnly)
            case (.success, .failure(let b)):
                Issue.record("\(context)\nPostgreSQL failed: \(b)")
                return (pages, parsedOnly)
            case (.success(let a), .success(let b)):
                pages += 1
                let aText = String(decoding: a.json, as: UTF8.self), bText = String(decoding: b.json, as: UTF8.self)
                if a.json != b.json {
                    parsedOnly += 1
                    #expect(Self.sameJSON(aText, bText), "\(context)\nSQLite:     \(aText)\nPostgreSQL: \(bText)")
                    #expect(Self.mayDifferInText(collection, query), "\(context): bytes differ where no double or JSON is shown\nSQLite:     \(aText)\nPostgreSQL: \(bText)")
                }
                #expect(a.itemCount == b.itemCount && a.total == b.total && a.start == b.start, "\(context): counts differ")
                // Both logged one event per row written: the heads the pages were read at agree.
                #expect(a.seq == b.seq && a.seq == Int64(expectedHead), "\(context): seq \(a.seq) on SQLite, \(b.seq) on PostgreSQL")
                #expect((a.next == nil) == (b.next == nil), "\(context): one engine has a next page")
                guard let next = a.next, let pgNext = b.next else { return (pages, parsedOnly) }
                if next != pgNext {
                    let aCursor = Cursor.decode(next).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    let bCursor = Cursor.decode(pgNext).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    #expect(Self.sameJSON(aCursor, bCursor), "\(context): cursors differ\nSQLite:     \(aCursor)\nPostgreSQL: \(bCursor)")
                    #expect(query.order.contains { ["estimate", "amount"].contains($0.column) }, "\(context): cursors differ in bytes\n\(aCursor)\n\(bCursor)")
                }
                // Each engine follows the cursor SQLite wrote: the cursor is one format.
                query.after = next
                query.offset = 0
            }
        }
        Issue.record("\(context): more than 60 pages")
        return (pages, parsedOnly)
    }

    /// Whether a page of `query` shows a double (tasks.estimate) or a JSON value (tasks.tags),
    /// whose texts differ between the engines (docs/SCHEMA.md).
    static func mayDifferInText(_ collection: String, _ query: ListQuery) -> Bool {
        shows(collection, query.select) || shows(query.embeds)
    }

    /// The columns whose text may differ: doubles (a NUMERIC's too) and jsonb.
    static let textDiffers = ["tasks": ["estimate", "tags"], "readings": ["amount"]]

    private static func shows(_ collection: String, _ columns: [String]?) -> Bool {
        guard let differing = textDiffers[collection] else { return false }
        return columns.map { $0.contains(where: differing.contains) } ?? true
    }

    private static func shows(_ embeds: [Embed]) -> Bool {
        embeds.contains { embed in
            let target = ["task": "tasks", "project": "projects"][embed.relation] ?? embed.relation
            return shows(target, embed.columns) || shows(embed.embeds)
        }
    }

    /// Equal as JSON values (numbers by value, object members by key).
    static func sameJSON(_ a: String, _ b: String) -> Bool {
        guard let x = try? JSONSerialization.jsonObject(with: Data(a.utf8), options: [.fragmentsAllowed]),
            let y = try? JSONSerialization.jsonObject(with: Data(b.utf8), options: [.fragmentsAllowed])
        else { return false }
        return same(x, y)
    }

    private static func same(_ x: Any, _ y: Any) -> Bool {
        switch (x, y) {
        case (let x as [String: Any], let y as [String: Any]):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        case (let x as [Any], let y as [Any]):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (let x as String, let y as String):
            return x == y
        case (is NSNull, is NSNull):
            return true
        case (let x as NSNumber, let y as NSNumber):
            // Booleans are NSNumbers too: compare them as what JSON wrote.
            return x.isEqual(to: y)
        default:
            return false
        }
    }

    /// The same rows into both: SQLite through its store, PostgreSQL by SQL (its write half is
    /// not there yet), from the same JSON objects.
    static func write(_ data: DifferentialData, sqlite: SQLiteStore, postgres: PostgresStore, logger: Logger) async throws {
        for (collection, rows) in [("projects", data.projects), ("tasks", data.tasks), ("comments", data.comments), ("readings", data.readings)] where !rows.isEmpty {
            _ = try await sqlite.create(in: collection, body: Array(("[" + rows.joined(separator: ",") + "]").utf8))
            let table = PostgresSQL.identifier(collection)
            let columns = (DifferentialData.schemaColumns[collection] ?? []).map { column in
                // json_populate_record reads a bytea from its text: the base64 it is given.
                column.type == .blob ? "decode(encode(r.\(column.name), 'escape'), 'base64')" : "r.\(column.name)"
            }
            let sql = "INSERT INTO \(table) SELECT \(columns.joined(separator: ", ")) FROM json_populate_recordset(NULL::\(table), $1::json) r"
            var bindings = PostgresBindings()
            bindings.append("[" + rows.joined(separator: ",") + "]")
            try await postgres.client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        }
    }
}
