// The PostgreSQL catalog read into the schema model: migrations/postgres must serve exactly
// what migrations/ serves on SQLite (the same collections, columns, JSON types, nullability,
// keys, key assignment and references), and so the same OpenAPI document, but for what names
// each engine's own SQL (declared types and default expressions).

import FeedbaseModel
import FeedbaseOpenAPI
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.needsPostgres)
struct PostgresIntrospectionTests {
    let logger = Logger(label: "test")

    @Test func theExampleSchemaIsSQLitesOnBothEngines() async throws {
        let sqlite = try await Self.sqliteSchema()
        let postgres = try await Self.postgresSchema(logger: logger)
        #expect(postgres.collections.map(\.name) == sqlite.collections.map(\.name))
        for (pg, lite) in zip(postgres.collections, sqlite.collections) {
            #expect(pg.columns.map(\.name) == lite.columns.map(\.name), "\(pg.name)")
            #expect(pg.columns.map(\.type) == lite.columns.map(\.type), "\(pg.name)")
            #expect(pg.columns.map(\.nullable) == lite.columns.map(\.nullable), "\(pg.name)")
            #expect(pg.columns.map { $0.defaultSQL != nil } == lite.columns.map { $0.defaultSQL != nil }, "\(pg.name)")
            #expect(pg.columns.map(\.isUnique) == lite.columns.map(\.isUnique), "\(pg.name)")
            #expect(pg.columns.map(\.isGenerated) == lite.columns.map(\.isGenerated), "\(pg.name)")
            #expect(pg.columns.map(\.references) == lite.columns.map(\.references), "\(pg.name)")
            #expect(pg.primaryKey.name == lite.primaryKey.name)
            #expect(pg.keyAssignment == lite.keyAssignment, "\(pg.name)")
            #expect(Set(pg.uniqueConstraints) == Set(lite.uniqueConstraints), "\(pg.name)")
            #expect(pg.foreignKeys == lite.foreignKeys, "\(pg.name)")
            #expect(pg.indexLeaders.subtracting([pg.primaryKey.name]) == lite.indexLeaders.subtracting([lite.primaryKey.name]), "\(pg.name)")
        }
        // The log's own tables are never served.
        #expect(postgres.skipped.map(\.name).allSatisfy { $0.hasPrefix("_") })
        #expect(postgres.skipped.map(\.name).contains("_migrations"))
    }

    @Test func theOpenAPIDocumentIsTheSameOnBothEngines() async throws {
        let sqlite = Self.neutral(try await Self.sqliteSchema())
        let postgres = Self.neutral(try await Self.postgresSchema(logger: logger))
        let liteDocument = String(decoding: OpenAPIDocument.openAPI(for: sqlite, feed: true, serverURL: nil).json(), as: UTF8.self)
        let pgDocument = String(decoding: OpenAPIDocument.openAPI(for: postgres, feed: true, serverURL: nil).json(), as: UTF8.self)
        #expect(pgDocument == liteDocument)
        #expect(liteDocument.count > 10_000)
    }

    @Test func keysTypesAndSkippedTablesAreRead() async throws {
        let database = try await freshDatabase()
        let directory = try Migrations.directory([
            "0001_kinds.sql": """
                CREATE TABLE serials (id serial PRIMARY KEY, n numeric(10, 2), r real, at timestamp, t timetz, raw bytea, doc json, flag boolean,
                    total bigint GENERATED ALWAYS AS (id * 2) STORED, code varchar(8) UNIQUE, other uuid);
                CREATE TABLE texts (id text PRIMARY KEY, parent integer REFERENCES serials ON DELETE SET NULL ON UPDATE RESTRICT);
                CREATE TABLE defaulted (id text PRIMARY KEY DEFAULT md5(random()::text));
                CREATE TABLE codes (code integer PRIMARY KEY);
                CREATE TABLE pairs (a integer, b integer, PRIMARY KEY (a, b));
                CREATE TABLE keyless (a integer);
                CREATE TABLE arrays (id integer PRIMARY KEY, tags text[]);
                CREATE VIEW names AS SELECT id FROM texts;
                CREATE TABLE _private (id integer PRIMARY KEY);
                """,
        ])
        defer { Migrations.remove(directory) }
        let schema = try await withClient(database) { client in
            try await client.withConnection { connection in
                try await PostgresMigrator().migrate(try MigrationDirectory.files(in: directory), on: connection, logger: logger)
                return try await PostgresIntrospector.schema(on: connection, logger: logger)
            }
        }
        #expect(schema.collections.map(\.name) == ["codes", "defaulted", "serials", "texts"])
        let serials = try #require(schema["serials"])
        #expect(serials.keyAssignment == .serverInteger)
        #expect(serials.columns.map(\.type) == [.integer, .number, .number, .dateTime, .time, .blob, .json, .boolean, .integer, .string, .string])
        #expect(serials.column("total")?.isGenerated == true)
        #expect(serials.column("total")?.defaultSQL == nil)
        #expect(serials.column("code")?.isUnique == true)
        #expect(serials.column("n")?.declaredType == "numeric(10,2)")
        #expect(schema["texts"]?.keyAssignment == .serverText)
        #expect(schema["texts"]?.column("parent")?.references
            == ForeignKey(column: "parent", table: "serials", parentColumn: "id", onDelete: "SET NULL", onUpdate: "RESTRICT"))
        #expect(schema["defaulted"]?.keyAssignment == .client)
        #expect(schema["codes"]?.keyAssignment == .client)
        let reasons = Dictionary(schema.skipped.map { ($0.name, $0.reason) }, uniquingKeysWith: { first, _ in first })
        #expect(reasons["pairs"] == "composite PRIMARY KEY (2 columns)")
        #expect(reasons["keyless"] == "no declared PRIMARY KEY")
        #expect(reasons["arrays"] == "column 'tags' has type text[], which has no JSON mapping")
        #expect(reasons["names"] == "views are not served")
        #expect(reasons["_private"] == "internal table (name starts with '_')")
    }

    // MARK: Support

    /// The schema without what names each engine's SQL: declared types, and default expressions
    /// (only whether there is one).
    static func neutral(_ schema: Schema) -> Schema {
        func column(_ column: Column) -> Column {
            var column = column
            column.declaredType = ""
            column.defaultSQL = column.defaultSQL.map { _ in "(an expression)" }
            return column
        }
        let collections = schema.collections.map { collection in
            var collection = collection
            collection.columns = collection.columns.map(column)
            collection.primaryKey = column(collection.primaryKey)
            collection.uniqueConstraints = collection.uniqueConstraints.sorted { $0.lexicographicallyPrecedes($1) }
            return collection
        }
        return Schema(collections: collections, skipped: [])
    }

    static func sqliteSchema() async throws -> Schema {
        let directory = try Migrations.directory([:])
        defer { Migrations.remove(directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try SQLiteStore(StoreConfiguration(path: directory + "/test.sqlite", migrationsDirectory: Migrations.shipped, readers: 1), logger: logger)
        let schema = store.schema
        await store.close()
        return schema
    }

    static func postgresSchema(logger: Logger) async throws -> Schema {
        let database = try await freshDatabase()
        return try await withClient(database) { client in
            try await client.withConnection { connection in
                try await PostgresMigrator().migrate(try MigrationDirectory.files(in: Migrations.shippedPostgres), on: connection, logger: logger)
                return try await PostgresIntrospector.schema(on: connection, logger: logger)
            }
        }
    }
}
