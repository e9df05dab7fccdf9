// The PostgreSQL engine as a ResourceStore (docs/POSTGRES-SCHEMA.md): a PostgresClient with its
// pool, run in a task for the life of the store; opening migrates under the advisory lock,
// installs the change log and reads the schema from the catalog. Reads render the model's plans
// as one statement each (PostgresListing), so a page and its seq come from one snapshot.
// Writes: PostgresStore+Writes.swift, +Batch, +Transaction.

import FeedbaseModel
import Logging
import PostgresNIO
import Synchronization

public final class PostgresStore: ResourceStore {
    public let schema: Schema
    public let client: PostgresClient
    /// The pool's connections, waited for a bounded time (a request answers 503 rather than
    /// hang while the server is away).
    let lease: PostgresLease
    public let log: PostgresChangeLog
    public let appliedMigrations: [String]
    /// A connection of its own for LISTEN (PostgresChangeWatcher): a pooled one held for good
    /// could starve the pool.
    public let listeningConfiguration: PostgresConnection.Configuration
    let logger: Logger
    /// Whether this node serves the feed (`--no-feed` turns it off). The log is the schema's
    /// triggers, shared by every node: it is written whatever one node serves.
    public let feedEnabled: Bool
    private let running: Task<Void, Never>
    let observers = Mutex<[@Sendable () -> Void]>([])
    /// Whether a NOTIFY is in flight, and whether commits came after it began (committed()).
    let notifying = Mutex<(sending: Bool, again: Bool)>((false, false))

    private init(
        schema: Schema, client: PostgresClient, log: PostgresChangeLog, appliedMigrations: [String],
        listeningConfiguration: PostgresConnection.Configuration, feed: Bool, leaseTimeout: Duration, logger: Logger, running: Task<Void, Never>
    ) {
        self.feedEnabled = feed
        self.schema = schema
        self.listeningConfiguration = listeningConfiguration
        self.client = client
        self.lease = PostgresLease(client: client, timeout: leaseTimeout)
        self.log = log
        self.appliedMigrations = appliedMigrations
        self.logger = logger
        self.running = running
    }

    /// Connects, applies the pending files of `migrationsDirectory` (PostgreSQL's dialect,
    /// `migrations/postgres/`) under the advisory lock, installs the change log and its triggers,
    /// and reads the served schema of `namespace`. The engine's own connections (migrations,
    /// the catalog, LISTEN) use `endpoint.connection`, with the pool's TLS (PostgresURL).
    /// `feed: false` is a node that serves no feed; its writes are logged all the same.
    /// `busyTimeout`: how long a statement of the pool waits for a lock another session holds
    /// (`lock_timeout`) before it fails as busy, 503 (SQLite's busy timeout, the same bound).
    /// `leaseTimeout`: how long a request waits for a connection of the pool (PostgresLease).
    public static func open(
        _ endpoint: PostgresEndpoint, migrationsDirectory: String?, namespace: String = "public", feed: Bool = true,
        busyTimeout: Duration = .seconds(5), leaseTimeout: Duration = .seconds(5), logger: Logger
    ) async throws -> PostgresStore {
        let listening = endpoint.connection
        // Migrating and reading the catalog on a connection of its own (the session's advisory
        // lock is the connection's), before the pool is made: its first lease then comes after
        // its run() had time to begin (postgres-nio warns of a lease before run()).
        let (applied, schema, log) = try await Self.prepare(
            listening, migrationsDirectory: migrationsDirectory, namespace: namespace, logger: logger)
        for table in schema.skipped where !table.name.hasPrefix("_") {
            logger.info("table not served", metadata: ["table": "\(table.name)", "reason": "\(table.reason)"])
        }
        var configuration = endpoint.client
        if !configuration.options.additionalStartupParameters.contains(where: { $0.0 == "lock_timeout" }) {
            let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
            configuration.options.additionalStartupParameters.append(("lock_timeout", "\(max(1, milliseconds))ms"))
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let running = client.startRunning()
        return PostgresStore(
            schema: schema, client: client, log: log, appliedMigrations: applied, listeningConfiguration: listening, feed: feed,
            leaseTimeout: leaseTimeout, logger: logger, running: running)
    }

    /// `open` with a pool configuration made in code, its own connections without TLS.
    public static func open(
        _ configuration: PostgresClient.Configuration, migrationsDirectory: String?, namespace: String = "public",
        leaseTimeout: Duration = .seconds(5), logger: Logger
    ) async throws -> PostgresStore {
        try await open(
            PostgresEndpoint(client: configuration, connection: connectionConfiguration(configuration)), migrationsDirectory: migrationsDirectory,
            namespace: namespace, leaseTimeout: leaseTimeout, logger: logger)
    }

    /// The files of `migrationsDirectory`, applied (when) or pending, after checking the history
    /// against them; applies nothing (`feedbase migrate --status`).
    public static func migrationStatus(
        _ endpoint: PostgresEndpoint, migrationsDirectory: String, namespace: String = "public", logger: Logger
    ) async throws -> [MigrationStatus] {
        let files = try MigrationDirectory.files(in: migrationsDirectory)
        let connection = try await connect(endpoint.connection, logger: logger)
        do {
            let status = try await PostgresMigrator(log: PostgresChangeLog(schema: namespace), namespace: namespace)
                .status(of: files, on: connection, logger: logger)
            try await connection.close()
            return status
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The served schema of `namespace` as the catalog has it now, migrating nothing (`feedbase
    /// schema`).
    public static func introspect(_ endpoint: PostgresEndpoint, namespace: String = "public", logger: Logger) async throws -> Schema {
        let connection = try await connect(endpoint.connection, logger: logger)
        do {
            let schema = try await PostgresIntrospector.schema(of: namespace, on: connection, logger: logger)
            try await connection.close()
            return schema
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A connection of the engine's own; a failure to connect said plainly (TLS refused, a
    /// certificate not trusted, no server), as `feedbase` prints it in one line.
    static func connect(_ configuration: PostgresConnection.Configuration, logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw StoreError(.unavailable, "cannot connect to PostgreSQL: \(PostgresTLS.describe(error))")
        }
    }

    /// One connection's configuration from a pool's made in code (no TLS).
    static func connectionConfiguration(_ configuration: PostgresClient.Configuration) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: configuration.host ?? "127.0.0.1", port: configuration.port ?? 5432, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
    }

    private static func prepare(
        _ configuration: PostgresConnection.Configuration, migrationsDirectory: String?, namespace: String, logger: Logger
    ) async throws -> (applied: [String], schema: Schema, log: PostgresChangeLog) {
        let files = try migrationsDirectory.map { try MigrationDirectory.files(in: $0) } ?? []
        let log = PostgresChangeLog(schema: namespace)
        let connection = try await connect(configuration, logger: logger)
        do {
            let applied = try await PostgresMigrator(log: log, namespace: namespace).migrate(files, on: connection, logger: logger)
            let schema = try await PostgresIntrospector.schema(of: namespace, on: connection, logger: logger)
            try await connection.close()
            return (applied, schema, log)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    func collection(_ name: String) throws -> CollectionSchema {
        guard let collection = schema[name] else { throw StoreError.notFound("no collection named '\(name)'") }
        return collection
    }

    // MARK: Reads

    public func item(in collectionName: String, id: String, access: Access) async throws -> Item? {
        let collection = try collection(collectionName)
        var sql = PostgresBoundSQL()
        guard access.read.isAllowed, let key = collection.primaryKey.keyValue(id),
            let operand = PostgresConditions.operand(key, for: collection.primaryKey, into: &sql)
        else { return nil }
        let table = PostgresSQL.identifier(collection.name)
        var conditions = ["\(PostgresConditions.comparable(collection.primaryKey, row: table)) = \(operand)"]
        if case .rows(let filters) = access.read {
            // The same statement with the rule's conditions: a hidden row costs what an absent one does.
            var query = ListQuery()
            query.rule = filters
            let plan = try FilterPlan(query, of: collection)
            conditions += PostgresConditions(collection: collection, row: table).whereClause(plan, into: &sql)
        }
        let object = try PostgresListing.object(collection.columns.map(PlanMember.column), row: table, into: &sql)
        sql.text = "SELECT \(object), (SELECT head FROM \(log.ticket)) FROM \(table) WHERE " + conditions.joined(separator: " AND ")
        let query = sql.query
        return try await run { connection in
            let rows = try await connection.query(query, logger: self.logger)
            for try await (json, head) in rows.decode((String, Int64).self) {
                return Item(id: id, json: Array(json.utf8), seq: head)
            }
            return nil
        }
    }

    public func list(in collectionName: String, query: ListQuery) async throws -> Page {
        let collection = try collection(collectionName)
        let plan = try ListPlan(query, of: collection, in: schema)
        let statement = try PostgresListing(plan: plan, log: log).statement().query
        return try await run { connection in
            var json: [UInt8] = [UInt8(ascii: "[")]
            var count = 0
            var more = false
            var lastCursor: String?
            var head: Int64 = 0
            var total: Int64?
            var remaining: Int64?
            let rows = try await connection.query(statement, logger: self.logger)
            for try await (rowHead, rowTotal, rowRemaining, item, cursor) in rows.decode((Int64, Int64?, Int64?, String?, String?).self) {
                head = rowHead
                total = rowTotal
                remaining = rowRemaining
                guard let item else { continue }
                if count == plan.limit {
                    more = true
                    continue
                }
                if count > 0 { json.append(UInt8(ascii: ",")) }
                json += item.utf8
                count += 1
                if count == plan.limit { lastCursor = cursor }
            }
            json.append(UInt8(ascii: "]"))
            var start = plan.offset
            if let total, let remaining {
                // Rows before the cursor = all matching rows - those after it (saturating, as on SQLite).
                let (sum, overflow) = Int(total - remaining).addingReportingOverflow(plan.offset)
                start = overflow ? .max : sum
            }
            var page = Page(json: json, itemCount: count, next: more ? lastCursor.map(Cursor.encode) : nil, total: total.map(Int.init), start: start)
            page.seq = head
            return page
        }
    }

    public func predicate(in collectionName: String, filters: [Filter], groups: [FilterGroup], rule: [Filter]) async throws -> RowPredicate {
        var query = ListQuery()
        query.filters = filters
        query.groups = groups
        query.rule = rule
        let collection = try collection(collectionName)
        return try FilterPlan(query, of: collection).predicate(of: collection)
    }

    // MARK: The change log

    public func changes(after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int) async throws -> ChangeBatch {
        let reader = PostgresFeedReader(log: log)
        return try await run { connection in
            try await reader.changes(after: seq, collections: collections, limit: limit, maxBytes: maxBytes, on: connection, logger: self.logger)
        }
    }

    /// Kept for the write half, which calls them after its commits; writes by other nodes and
    /// programs reach a node through PostgresCommitSignal.
    public func observeCommits(_ observer: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(observer) }
    }

    public func isHealthy() async -> Bool {
        (try? await run { connection in
            try await connection.query("SELECT 1", logger: self.logger)
            return true
        }) ?? false
    }

    /// Not a standby (read-only while it recovers or replicates) and not read-only by default.
    public func isWritable() async -> Bool {
        (try? await run { connection in
            let rows = try await connection.query(
                "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'", logger: self.logger)
            for try await writable in rows.decode(Bool.self) { return writable }
            return false
        }) ?? false
    }

    public func close() async {
        running.cancel()
        await running.value
    }

    // MARK: Connections

    /// `body` on a connection of the pool; a failure of the database is a StoreError.
    private func run<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await lease.withConnection(body)
        } catch let error as StoreError {
            throw error
        } catch where PostgresLease.isConnectionFailure(error) {
            // No answer, or the server going away (a shutdown's 57P01 comes with an answer).
            throw StoreError(.unavailable, "PostgreSQL: \(PostgresMigrator.describe(error))")
        } catch let error as PSQLError where error.serverInfo != nil {
            // The server answered: a fault of this engine's SQL or of the data, unless it is
            // going away (57P01 when a backend is terminated, 57P03 while it starts) or full.
            let mapped = PostgresErrors.storeError(error)
            guard [.unavailable, .busy, .full].contains(mapped.kind) else {
                throw StoreError(.internal, "PostgreSQL: \(PostgresMigrator.describe(error))")
            }
            throw mapped
        } catch {
            throw StoreError(.unavailable, "PostgreSQL: \(PostgresMigrator.describe(error))")
        }
    }
}
