// One SQLite connection and its prepared statements. A Connection is not Sendable: it lives on
// the one thread that owns it (the writer thread or a reader thread, see Database.swift), which is
// why it may be opened with SQLITE_OPEN_NOMUTEX.

import FeedbaseCSQLite
import FeedbaseModel
import Synchronization

/// How hard a commit waits for the disk. `full` (the default) makes an acknowledged write survive
/// power loss in WAL mode; `normal` may lose the last transactions on power loss (never corrupts).
public enum SynchronousMode: String, Sendable, CaseIterable {
    case full = "FULL"
    case normal = "NORMAL"
    case off = "OFF"
}

public struct ConnectionOptions: Sendable {
    public var synchronous: SynchronousMode
    /// How long a statement waits for another process's lock before failing with `.busy`.
    public var busyTimeoutMilliseconds: Int32
    /// Reader connections refuse writes (`PRAGMA query_only`).
    public var queryOnly: Bool
    /// Statements kept prepared per connection.
    public var statementCacheSize: Int
    /// The most bytes the database file may hold (`PRAGMA max_page_count`, rounded down to whole
    /// pages, never below what it holds now): a write past it fails as if the disk were full.
    /// Nil: as large as the disk allows.
    public var maxDatabaseBytes: Int64?
    /// A file this user may only read is opened anyway (a backup's source); otherwise a
    /// read-write connection refuses it at once, naming the file, instead of failing at its
    /// first write without the path.
    var readOnlyFileAllowed = false

    public init(
        synchronous: SynchronousMode = .full, busyTimeoutMilliseconds: Int32 = 5_000,
        queryOnly: Bool = false, statementCacheSize: Int = 128, maxDatabaseBytes: Int64? = nil
    ) {
        self.synchronous = synchronous
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.queryOnly = queryOnly
        self.statementCacheSize = statementCacheSize
        self.maxDatabaseBytes = maxDatabaseBytes
    }
}

/// SQLite's `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
let sqliteTransient = feedbase_sqlite3_transient()

/// A prepared statement kept for reuse, and whether a caller has it borrowed right now.
private final class CachedStatement {
    let statement: Statement
    var lastUse: UInt64
    var busy = false

    init(_ statement: Statement, lastUse: UInt64) {
        self.statement = statement
        self.lastUse = lastUse
    }
}

final class Connection {
    let handle: OpaquePointer
    let path: String
    private var cache: [String: CachedStatement] = [:]
    private var useCounter: UInt64 = 0
    private let cacheLimit: Int

    /// Process-wide SQLite settings, applied once before the first connection opens: memory
    /// statistics off (we never read them, and keeping them takes a global mutex on every
    /// allocation of every connection), and SQLite's error log counting misuse reports.
    private static let libraryConfigured: Bool = {
        let memstatus = feedbase_sqlite3_config_memstatus(0)
        let log = feedbase_sqlite3_config_log({ _, code, _ in
            if code & 0xff == SQLITE_MISUSE { Connection.misuseReports.add(1, ordering: .relaxed) }
        }, nil)
        return memstatus == SQLITE_OK && log == SQLITE_OK
    }()

    /// SQLite's reports of API misuse in this process (a call on a closed or freed handle: always
    /// our bug, and one that AddressSanitizer cannot see inside the uninstrumented library).
    private static let misuseReports = Atomic<Int>(0)
    static var misuseReportCount: Int { misuseReports.load(ordering: .relaxed) }

    init(path: String, options: ConnectionOptions = ConnectionOptions()) throws {
        _ = Self.libraryConfigured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard let db else { throw StoreError(.storage, "cannot open \(path): out of memory", sqliteCode: rc) }
        guard rc == SQLITE_OK else {
            let reason = options.queryOnly ? nil : OpenDiagnosis.reason(path)
            let error = StoreError.sqlite(code: sqlite3_extended_errcode(db), message: "cannot open \(path): " + (reason ?? String(cString: sqlite3_errmsg(db))))
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        self.path = path
        self.cacheLimit = max(options.statementCacheSize, 1)
        do {
            sqlite3_extended_result_codes(db, 1)
            sqlite3_busy_timeout(db, options.busyTimeoutMilliseconds)
            // Double-quoted string literals hide typos in identifiers; refuse them.
            _ = feedbase_sqlite3_db_config_int(db, SQLITE_DBCONFIG_DQS_DML, 0, nil)
            _ = feedbase_sqlite3_db_config_int(db, SQLITE_DBCONFIG_DQS_DDL, 0, nil)
            // Reading the header forces SQLite to look at the file: a non-database fails here,
            // at open, with a clear message, rather than on the first request.
            try execute("PRAGMA schema_version")
            // SQLite falls back to read-only for a file it may not write: say so now, with the path.
            if !options.queryOnly, !options.readOnlyFileAllowed, sqlite3_db_readonly(db, "main") == 1 {
                throw StoreError(.unavailable, OpenDiagnosis.reason(path) ?? "the file can only be read, and the server writes to it")
            }
            if !options.queryOnly {
                let mode = try scalarText("PRAGMA journal_mode=WAL")
                if mode != "wal" && path != ":memory:" && !path.isEmpty {
                    throw StoreError(.storage, "cannot switch \(path) to WAL journal mode (got \(mode ?? "nothing"))")
                }
            }
            try execute("PRAGMA foreign_keys=ON")
            try execute("PRAGMA synchronous=\(options.synchronous.rawValue)")
            if options.queryOnly { try execute("PRAGMA query_only=1") }
            if let bytes = options.maxDatabaseBytes, !options.queryOnly {
                let pageSize = try scalarText("PRAGMA page_size").flatMap { Int64($0) } ?? 4096
                try execute("PRAGMA max_page_count=\(max(1, bytes / max(pageSize, 512)))")
            }
            try SQLFunctions.register(on: db)
        } catch let error as StoreError {
            // Every stored property is set: throwing now runs deinit, the one owner of the close
            // from here on (closing here as well would close a freed handle).
            let reason = options.queryOnly || error.kind != .unavailable ? nil : OpenDiagnosis.reason(path)
            throw StoreError(error.kind, "cannot open \(path): \(reason ?? error.message)", sqliteCode: error.sqliteCode)
        }
    }

    deinit {
        for entry in cache.values { entry.statement.finalize() }
        sqlite3_close_v2(handle)
    }

    func lastError() -> StoreError {
        StoreError.sqlite(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Replaces this database's content with a consistent copy of `source`'s (SQLite's online backup).
    func copy(from source: Connection) throws {
        guard let backup = sqlite3_backup_init(handle, "main", source.handle, "main") else { throw lastError() }
        let rc = sqlite3_backup_step(backup, -1)
        let finished = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE, finished == SQLITE_OK else {
            throw StoreError.sqlite(code: rc == SQLITE_DONE ? finished : rc, message: "cannot copy \(source.path): " + String(cString: sqlite3_errstr(rc == SQLITE_DONE ? finished : rc)))
        }
    }

    /// Runs one or more statements that bind nothing and return nothing (DDL, pragmas, BEGIN).
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw StoreError.sqlite(code: sqlite3_extended_errcode(handle), message: message)
        }
    }

    /// How many prepared statements the cache holds.
    var cachedStatementCount: Int { cache.count }

    /// Borrows the cached prepared statement for `sql` (preparing it on first use) and resets it
    /// afterwards. A nested call with the same SQL gets its own statement, so borrowing is safe
    /// in any order.
    func withStatement<T>(_ sql: String, _ body: (Statement) throws -> T) throws -> T {
        useCounter &+= 1
        // One lookup on the common path: the entry is a class, marked busy while borrowed.
        if let entry = cache[sql], !entry.busy {
            entry.busy = true
            entry.lastUse = useCounter
            defer {
                entry.statement.reset()
                entry.busy = false
            }
            return try body(entry.statement)
        }
        let statement = try Statement(connection: self, sql: sql)
        defer {
            statement.reset()
            if cache[sql] == nil {
                if cache.count >= cacheLimit, let oldest = cache.filter({ !$0.value.busy }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
                    cache.removeValue(forKey: oldest.key)
                    oldest.value.statement.finalize()
                }
                cache[sql] = CachedStatement(statement, lastUse: useCounter)
            } else {
                statement.finalize()  // a nested borrow of SQL already cached: this copy was extra
            }
        }
        return try body(statement)
    }

    /// Runs `sql` with `values` bound and returns every row mapped by `row`.
    func query<T>(_ sql: String, _ values: [SQLValue] = [], row: (Statement) throws -> T) throws -> [T] {
        try withStatement(sql) { statement in
            try statement.bind(values)
            var rows: [T] = []
            while try statement.step() { rows.append(try row(statement)) }
            return rows
        }
    }

    /// Runs a statement for its effect; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
        try withStatement(sql) { statement in
            try statement.bind(values)
            while try statement.step() {}
            return Int(sqlite3_changes(handle))
        }
    }

    func scalarText(_ sql: String, _ values: [SQLValue] = []) throws -> String? {
        try query(sql, values) { $0.text(0) }.first ?? nil
    }

    func scalarInt(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
        try query(sql, values) { $0.isNull(0) ? nil : $0.int64(0) }.first ?? nil
    }

    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The main database was opened read-only (its file's permissions, or a read-only open).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    enum TransactionKind: String {
        /// Takes the write lock at BEGIN, so a write never fails half-way for want of the lock.
        case immediate = "BEGIN IMMEDIATE"
        /// A read transaction: its snapshot starts at the first read.
        case deferred = "BEGIN DEFERRED"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when anything throws
    /// (including the COMMIT itself).
    @discardableResult
    func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try execute(kind.rawValue)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Rolls back whatever transaction is open. SQLite may already have rolled back by itself
    /// (on SQLITE_FULL, SQLITE_IOERR, ...), in which case there is nothing to do.
    func rollback() {
        if isInTransaction { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }
}

/// Identifiers come from the introspected schema, never from a request, and are always quoted.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingAll("\"", with: "\"\"") + "\""
}

func quoteLiteral(_ text: String) -> String {
    "'" + text.replacingAll("'", with: "''") + "'"
}
