// The change log: a transactional outbox. `_changes` is written by triggers that the server
// (re)creates for every collection at startup, so each event commits atomically with the row
// change it describes, whoever makes the change (this server, the sqlite3 shell, another process).
//
// - `seq` is AUTOINCREMENT: never reused, even after pruning, so `sqlite_sequence` holds the
//   high-water mark that `X-Change-Seq` reports.
// - An UPDATE that changes no column fires no event (the trigger's WHEN compares OLD and NEW).
// - `item` is the item's JSON after the change (before it, for a delete), built by the same SQL
//   as a GET, so a subscriber sees exactly what a reader would.

public struct ChangeEvent: Sendable, Equatable {
    public var seq: Int64
    public var collection: String
    /// `{"seq":…,"collection":…,"op":…,"id":…,"item":{…},"at":…}` as bytes.
    public var json: [UInt8]

    public init(seq: Int64, collection: String, json: [UInt8]) {
        self.seq = seq
        self.collection = collection
        self.json = json
    }
}

public struct ChangeBatch: Sendable {
    public var events: [ChangeEvent]
    /// The highest seq ever assigned (0 when none), in the same snapshot as `events`.
    public var head: Int64
    /// The lowest seq still retained; `head + 1` when the log is empty.
    public var oldest: Int64

    /// Whether events right after `seq` were pruned: a reader that has seen everything up to
    /// `seq` cannot continue without a gap. No arithmetic can overflow, whatever `seq` a client
    /// sends or the log holds.
    public func isPruned(after seq: Int64) -> Bool {
        let (next, overflow) = seq.addingReportingOverflow(1)
        return !overflow && next < oldest
    }
}

enum ChangeLog {
    static let triggerPrefix = "_feedbase_"

    static let schema = """
        CREATE TABLE IF NOT EXISTS _changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            collection TEXT NOT NULL,
            item_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
            item TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS _changes_at ON _changes(at);
        """

    /// Creates the log and (when `enabled`) the triggers of every collection, replacing the
    /// triggers of an earlier start; with `enabled` false the triggers are removed.
    static func install(_ collections: [CollectionSchema], enabled: Bool, on connection: Connection) throws {
        try connection.transaction(.immediate) {
            try connection.execute(schema)
            let existing = try connection.query(
                "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, 10) = ?1", [.text(triggerPrefix)]
            ) { $0.text(0) ?? "" }
            for name in existing { try connection.execute("DROP TRIGGER \(quoteIdentifier(name))") }
            guard enabled else { return }
            for collection in collections {
                for sql in triggers(for: collection) { try connection.execute(sql) }
            }
        }
    }

    static func triggers(for collection: CollectionSchema) -> [String] {
        let table = quoteIdentifier(collection.name)
        let name = { (op: String) in quoteIdentifier(triggerPrefix + collection.name + "_" + op) }
        let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        func insert(_ op: String, _ row: String) -> String {
            "INSERT INTO _changes (collection, item_id, op, item, at) VALUES (\(quoteLiteral(collection.name)), "
                + "\(RowJSON.keyTextExpression(collection, table: row)), '\(op)', \(RowJSON.objectExpression(collection, table: row)), \(now));"
        }
        let changed = collection.columns.map { "\"OLD\".\(quoteIdentifier($0.name)) IS NOT \"NEW\".\(quoteIdentifier($0.name))" }
            .joined(separator: " OR ")
        return [
            "CREATE TRIGGER \(name("create")) AFTER INSERT ON \(table) BEGIN \(insert("create", "NEW")) END",
            "CREATE TRIGGER \(name("update")) AFTER UPDATE ON \(table) WHEN \(changed) BEGIN \(insert("update", "NEW")) END",
            "CREATE TRIGGER \(name("delete")) AFTER DELETE ON \(table) BEGIN \(insert("delete", "OLD")) END",
        ]
    }

    /// The highest seq ever assigned; 0 before the first event.
    static func head(on connection: Connection) throws -> Int64 {
        try connection.scalarInt("SELECT seq FROM sqlite_sequence WHERE name = '_changes'") ?? 0
    }

    static func batch(after seq: Int64, collections: Set<String>?, limit: Int, on connection: Connection) throws -> ChangeBatch {
        let head = try head(on: connection)
        // Saturating: another program may have set the sequence to its maximum.
        let oldest = try connection.scalarInt("SELECT min(seq) FROM _changes") ?? (head == .max ? head : head + 1)
        var sql = """
            SELECT seq, collection, json_object('seq', seq, 'collection', collection, 'op', op, 'id', item_id, \
            'item', json(item), 'at', at) FROM _changes WHERE seq > ?1
            """
        var values: [SQLValue] = [.integer(seq)]
        if let collections {
            let names = collections.sorted()
            sql += " AND collection IN (" + names.indices.map { "?\($0 + 2)" }.joined(separator: ", ") + ")"
            values += names.map { .text($0) }
        }
        sql += " ORDER BY seq LIMIT \(max(0, limit))"
        let events = try connection.query(sql, values) {
            ChangeEvent(seq: $0.int64(0), collection: $0.text(1) ?? "", json: $0.textBytes(2))
        }
        return ChangeBatch(events: events, head: head, oldest: oldest)
    }
}
