// Schema introspection: the declared-type mapping, keys, uniqueness, references, and which
// tables are not collections.

import Foundation
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

let everyTypeSQL = """
    CREATE TABLE owners (id TEXT PRIMARY KEY, name TEXT);
    CREATE TABLE everything (
        id INTEGER PRIMARY KEY,
        flag BOOLEAN,
        count INT,
        big BIGINT,
        doc JSON,
        at DATETIME,
        stamp TIMESTAMP,
        day DATE,
        clock TIME,
        ratio REAL,
        f FLOAT,
        d DOUBLE PRECISION,
        n NUMERIC,
        amount DECIMAL(10,2),
        data BLOB,
        name TEXT,
        code VARCHAR(10),
        untyped,
        required TEXT NOT NULL,
        fallback TEXT NOT NULL DEFAULT 'x',
        uniq TEXT UNIQUE,
        owner_id TEXT REFERENCES owners(id) ON DELETE SET NULL,
        doubled INTEGER GENERATED ALWAYS AS (count * 2) VIRTUAL
    );
    CREATE TABLE pairs (a INTEGER, b INTEGER, PRIMARY KEY (a, b));
    CREATE TABLE _internal (id INTEGER PRIMARY KEY);
    CREATE TABLE keyless (x TEXT);
    CREATE VIEW names AS SELECT name FROM everything;
    CREATE TABLE codes (code INT PRIMARY KEY, label TEXT) WITHOUT ROWID;
    """

func openStore(_ directory: TemporaryDirectory, _ sql: String, readers: Int = 2) throws -> SQLiteStore {
    let migrations = try directory.migrations(["0001_schema.sql": sql])
    return try SQLiteStore(
        StoreConfiguration(path: directory.file("store.sqlite"), migrationsDirectory: migrations, readers: readers),
        logger: Logger(label: "test"))
}

@Suite struct IntrospectionTests {
    @Test func declaredTypesMapInOrder() {
        let cases: [(String, ColumnType)] = [
            ("BOOLEAN", .boolean), ("bool", .boolean), ("INTEGER", .integer), ("BIGINT", .integer),
            ("JSON", .json), ("DATETIME", .dateTime), ("TIMESTAMP", .dateTime), ("DATE", .date),
            ("TIME", .time), ("REAL", .number), ("FLOAT", .number), ("DOUBLE", .number),
            ("NUMERIC", .number), ("DECIMAL(10,2)", .number), ("BLOB", .blob), ("TEXT", .string),
            ("VARCHAR(10)", .string), ("", .string), ("UUID", .string),
        ]
        for (declared, expected) in cases {
            #expect(ColumnType(declaredType: declared) == expected, "\(declared)")
        }
    }

    @Test func buildsTheModel() async throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory, everyTypeSQL)
        let schema = store.schema
        await store.close()

        #expect(schema.collections.map(\.name) == ["codes", "everything", "owners"])
        let skipped = Dictionary(uniqueKeysWithValues: schema.skipped.map { ($0.name, $0.reason) })
        #expect(skipped["pairs"]?.contains("composite PRIMARY KEY") == true)
        #expect(skipped["keyless"]?.contains("no declared PRIMARY KEY") == true)
        #expect(skipped["_internal"] != nil)
        #expect(skipped["_migrations"] != nil)
        #expect(skipped["names"] != nil)

        let everything = try #require(schema["everything"])
        let types = everything.columns.map { "\($0.name):\($0.type.rawValue)" }
        #expect(types == [
            "id:integer", "flag:boolean", "count:integer", "big:integer", "doc:json", "at:date-time",
            "stamp:date-time", "day:date", "clock:time", "ratio:number", "f:number", "d:number", "n:number",
            "amount:number", "data:blob", "name:string", "code:string", "untyped:string", "required:string",
            "fallback:string", "uniq:string", "owner_id:string", "doubled:integer",
        ])
        #expect(everything.primaryKey.name == "id")
        #expect(everything.keyAssignment == .serverInteger)
        #expect(everything.column("required")?.nullable == false)
        #expect(everything.column("required")?.isRequiredOnCreate == true)
        #expect(everything.column("fallback")?.defaultSQL == "'x'")
        #expect(everything.column("fallback")?.isRequiredOnCreate == false)
        #expect(everything.column("name")?.nullable == true)
        #expect(everything.column("uniq")?.isUnique == true)
        #expect(everything.column("name")?.isUnique == false)
        #expect(everything.column("doubled")?.isGenerated == true)
        #expect(everything.uniqueConstraints.contains(["uniq"]))
        let reference = try #require(everything.column("owner_id")?.references)
        #expect(reference.table == "owners" && reference.parentColumn == "id" && reference.onDelete == "SET NULL")
        #expect(everything.foreignKeys.count == 1)

        #expect(schema["owners"]?.keyAssignment == .serverText)
        // INT PRIMARY KEY is not a rowid alias, and WITHOUT ROWID has none: the client sends the key.
        #expect(schema["codes"]?.keyAssignment == .client)
        #expect(schema["codes"]?.hasRowID == false)
    }

    @Test func theShippedExampleSchemaIntrospects() async throws {
        let directory = try TemporaryDirectory()
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations").path
        let store = try SQLiteStore(
            StoreConfiguration(path: directory.file("example.sqlite"), migrationsDirectory: shipped),
            logger: Logger(label: "test"))
        #expect(store.appliedMigrations == ["0001_projects_and_tasks.sql", "0002_comments.sql"])
        #expect(store.schema.collections.map(\.name) == ["comments", "projects", "tasks"])
        #expect(store.schema["tasks"]?.column("project_id")?.references?.table == "projects")
        #expect(store.schema["comments"]?.keyAssignment == .serverText)
        await store.close()
    }
}
