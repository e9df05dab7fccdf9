// The C-interop layer: typed round trips of every storage class, transactions, busy handling and
// the classification of constraint errors, on real database files.

import Foundation
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct ConnectionTests {
    let directory: TemporaryDirectory
    let connection: Connection

    init() throws {
        directory = try TemporaryDirectory()
        connection = try Connection(path: directory.file("test.sqlite"))
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v ANY) STRICT")
    }

    func roundTrip(_ value: SQLValue) throws -> SQLValue {
        try connection.run("DELETE FROM t")
        try connection.run("INSERT INTO t (id, v) VALUES (1, ?1)", [value])
        return try connection.query("SELECT v FROM t WHERE id = 1") { $0.value(0) }[0]
    }

    @Test func everyStorageClassRoundTrips() throws {
        let values: [SQLValue] = [
            .null, .integer(0), .integer(Int64.max), .integer(Int64.min), .integer(-1),
            .real(0.1), .real(-1.5e300), .real(Double.leastNonzeroMagnitude),
            .text(""), .text("plain"), .text("non-ASCII: żółć, 日本語, 🎉"), .text("embedded\u{0}NUL"),
            .blob([]), .blob([0, 1, 2, 255]), .blob((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        ]
        for value in values {
            #expect(try roundTrip(value) == value)
        }
    }

    @Test func emptyTextAndEmptyBlobAreNotNull() throws {
        #expect(try connection.query("SELECT typeof(?1), typeof(?2)", [.text(""), .blob([])]) { [$0.text(0), $0.text(1)] }[0] == ["text", "blob"])
    }

    @Test func pragmasAreDurableByDefault() throws {
        #expect(try connection.scalarText("PRAGMA journal_mode") == "wal")
        #expect(try connection.scalarInt("PRAGMA synchronous") == 2)  // FULL
        #expect(try connection.scalarInt("PRAGMA foreign_keys") == 1)
        let normal = try Connection(path: directory.file("normal.sqlite"), options: ConnectionOptions(synchronous: .normal))
        #expect(try normal.scalarInt("PRAGMA synchronous") == 1)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try connection.transaction {
                try connection.run("INSERT INTO t (id, v) VALUES (1, 'a')")
                throw Abort()
            }
        }
        #expect(try connection.scalarInt("SELECT count(*) FROM t") == 0)
        #expect(!connection.isInTransaction)
        try connection.transaction { try connection.run("INSERT INTO t (id, v) VALUES (2, 'b')") }
        #expect(try connection.scalarInt("SELECT count(*) FROM t") == 1)
    }

    @Test func aSecondWriterGetsBusyAfterItsTimeoutAndSucceedsOnceTheLockIsFree() throws {
        let other = try Connection(path: directory.file("test.sqlite"), options: ConnectionOptions(busyTimeoutMilliseconds: 50))
        try connection.execute("BEGIN IMMEDIATE")
        try connection.run("INSERT INTO t (id, v) VALUES (1, 'first')")
        let error = #expect(throws: StoreError.self) { try other.execute("BEGIN IMMEDIATE") }
        #expect(error?.kind == .busy)
        #expect(error?.sqliteCode == 5)
        // A reader in WAL mode is never blocked by the writer and sees the last commit.
        #expect(try other.scalarInt("SELECT count(*) FROM t") == 0)
        try connection.execute("COMMIT")
        try other.transaction { try other.run("INSERT INTO t (id, v) VALUES (2, 'second')") }
        #expect(try connection.scalarInt("SELECT count(*) FROM t") == 2)
    }

    @Test func constraintFailuresAreClassified() throws {
        try connection.execute("""
            CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE child (
                id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),
                n INTEGER CHECK (n > 0), s TEXT NOT NULL DEFAULT 'x');
            CREATE TABLE typed (id INTEGER PRIMARY KEY, n INTEGER) STRICT;
            INSERT INTO parent (id, name) VALUES (1, 'a');
            """)
        func kind(_ sql: String) -> (StoreErrorKind?, [String]) {
            do {
                try connection.run(sql)
                return (nil, [])
            } catch let error as StoreError {
                return (error.kind, error.columns)
            } catch {
                return (nil, [])
            }
        }
        #expect(kind("INSERT INTO parent (id, name) VALUES (1, 'b')") == (.conflict, ["id"]))
        #expect(kind("INSERT INTO parent (id, name) VALUES (2, 'a')") == (.conflict, ["name"]))
        #expect(kind("INSERT INTO child (parent_id) VALUES (99)").0 == .foreignKey)
        #expect(kind("INSERT INTO child (n) VALUES (-1)").0 == .constraint)
        #expect(kind("INSERT INTO child (s) VALUES (NULL)") == (.constraint, ["s"]))
        #expect(kind("INSERT INTO typed (n) VALUES ('abc')").0 == .constraint)
        #expect(kind("SELECT * FROM nowhere").0 == .internal)
    }

    @Test func aFileThatIsNotADatabaseIsAStorageError() throws {
        let path = directory.file("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StoreError.self) { try Connection(path: path) }
        #expect(error?.kind == .storage)
    }

    /// A connection that fails while opening is closed once, by its deinit: closing it in the
    /// initialiser as well made the second close read a freed handle, which SQLite reports as
    /// misuse (and which could close another connection that reused the memory).
    @Test func aConnectionThatFailsToOpenIsClosedExactlyOnce() throws {
        let path = directory.file("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        _ = try Connection(path: directory.file("first.sqlite"))  // the library is configured
        let before = Connection.misuseReportCount
        for _ in 0..<3 {
            #expect(throws: StoreError.self) { try Connection(path: path) }
        }
        #expect(Connection.misuseReportCount == before)
    }

    @Test func statementsAreCachedAndSafeToNest() throws {
        let sql = "SELECT ?1 + 1"
        let outer = try connection.withStatement(sql) { outer in
            try outer.bind([.integer(1)])
            _ = try outer.step()
            // The same SQL while the cached statement is borrowed gets its own statement.
            let inner = try connection.query(sql, [.integer(10)]) { $0.int64(0) }
            return (outer.int64(0), inner)
        }
        #expect(outer.0 == 2 && outer.1 == [11])
        #expect(try connection.query(sql, [.integer(41)]) { $0.int64(0) } == [42])
    }

    @Test func theStatementCacheKeepsTheMostRecentlyUsedWithinItsLimit() throws {
        let small = try Connection(path: directory.file("small.sqlite"), options: ConnectionOptions(statementCacheSize: 2))
        for round in 0..<3 {
            for addend in 1...3 {
                #expect(try small.query("SELECT ?1 + \(addend)", [.integer(Int64(round))]) { $0.int64(0) } == [Int64(round + addend)])
            }
            #expect(small.cachedStatementCount == 2)
        }
        // A nested borrow of a cached statement prepares a copy and does not cache it twice.
        let nested = try small.withStatement("SELECT 3") { _ in try small.query("SELECT 3") { $0.int64(0) } }
        #expect(nested == [3] && small.cachedStatementCount == 2)
    }

    @Test func base64FunctionEncodesBlobsAndPassesOtherValues() throws {
        let rows = try connection.query("SELECT feedbase_base64(?1), feedbase_base64(?2), feedbase_base64(?3), feedbase_base64(NULL) IS NULL",
            [.blob(Array("hello".utf8)), .blob([]), .text("already text")]) { [$0.text(0), $0.text(1), $0.text(2), $0.text(3)] }
        #expect(rows[0] == ["aGVsbG8=", "", "already text", "1"])
    }
}
