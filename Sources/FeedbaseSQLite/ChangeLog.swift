// The change log: a transactional outbox. `_changes` is written by triggers that the server
// (re)creates for every collection at startup and around every schema change of a migration
// (Migrator.swift), so each event commits atomically with the row change it describes, whoever
// makes the change (this server, the sqlite3 shell, another process).
//
// - `seq` is AUTOINCREMENT: never reused, even after pruning, so `sqlite_sequence` holds the
//   high-water mark that `X-Change-Seq` reports.
// - An UPDATE that changes no column fires no event (the trigger's WHEN compares OLD and NEW).
// - An UPDATE that changes the primary key logs a `delete` of the old item, then a `create` of
//   the new one: to every reader it is another item.
// - `item` is the item's JSON after the change (before it, for a delete); `previous` is the
//   item before an update. Both are built as a GET builds them, with one difference: the
//   triggers are plain SQL, because they fire in every program that writes to the database and
//   those know no function of ours. So a BLOB value is null in `item` and `previous`, and its hex
//   is in `blobs` (`{"id":…,"item":{…},"previous":{…}}`, NULL when the row holds no BLOB; a
//   BLOB in a column of another type as `{"hex":…}`); the reading side, which has
//   `feedbase_base64`, puts it back as base64 (`eventJSON`).

import FeedbaseModel

enum ChangeLog {
    static let triggerPrefix = "_feedbase_"

    static let schema = """
        CREATE TABLE IF NOT EXISTS _changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            collection TEXT NOT NULL,
            item_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
            item TEXT NOT NULL,
            at TEXT NOT NULL,
            previous TEXT,
            blobs TEXT
        );
        CREATE INDEX IF NOT EXISTS _changes_at ON _changes(at);
        """

    /// Creates (or upgrades) the log and, when `enabled`, the triggers of every collection,
    /// replacing those of an earlier start; with `enabled` false the triggers are removed.
    static func install(_ collections: [CollectionSchema], enabled: Bool, on connection: Connection) throws {
        try connection.transaction(.immediate) {
            try createLog(on: connection)
            try dropTriggers(on: connection)
            if enabled { try createTriggers(collections, on: connection) }
        }
    }

    /// Creates the log, or upgrades one made by an earlier version. Logs made before `previous`
    /// and `blobs` existed gain them; their rows keep NULL, which reads as before (their BLOBs
    /// were logged as base64 by a function of ours, which the triggers no longer call).
    private static func createLog(on connection: Connection) throws {
        try connection.execute(schema)
        let columns = Set(try connection.query("SELECT name FROM pragma_table_info('_changes')") { $0.text(0) ?? "" })
        for column in ["previous", "blobs"] where !columns.contains(column) {
            try connection.execute("ALTER TABLE _changes ADD COLUMN \(column) TEXT")
        }
    }

    /// Whether this database has Feedbase's triggers (the feed was on when it was last served).
    static func hasTriggers(on connection: Connection) throws -> Bool {
        try !triggerNames(on: connection).isEmpty
    }

    static func dropTriggers(on connection: Connection) throws {
        for name in try triggerNames(on: connection) { try connection.execute("DROP TRIGGER \(quoteIdentifier(name))") }
    }

    static func createTriggers(_ collections: [CollectionSchema], on connection: Connection) throws {
        try createLog(on: connection)
        for collection in collections {
            for sql in triggers(for: collection) { try connection.execute(sql) }
        }
    }

    private static func triggerNames(on connection: Connection) throws -> [String] {
        try connection.query(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, 10) = ?1", [.text(triggerPrefix)]
        ) { $0.text(0) ?? "" }
    }

    /// The four triggers of a collection (create, update, a key change, delete), in plain SQL (no function the sqlite3 shell lacks).
    static func triggers(for collection: CollectionSchema) -> [String] {
        let table = quoteIdentifier(collection.name)
        let name = { (op: String) in quoteIdentifier(triggerPrefix + collection.name + "_" + op) }
        let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        func insert(_ op: String, _ row: String, previous: String?) -> String {
            let item = RowJSON.objectExpression(collection, table: row, dialect: .plain)
            let before = previous.map { RowJSON.objectExpression(collection, table: $0, dialect: .plain) } ?? "NULL"
            return "INSERT INTO _changes (collection, item_id, op, item, at, previous, blobs) VALUES (\(quoteLiteral(collection.name)), "
                + "\(RowJSON.keyTextExpression(collection, table: row, dialect: .plain)), '\(op)', \(item), \(now), \(before), "
                + "\(blobs(collection, row: row, previous: previous)));"
        }
        let changed = collection.columns.map { "\"OLD\".\(quoteIdentifier($0.name)) IS NOT \"NEW\".\(quoteIdentifier($0.name))" }
            .joined(separator: " OR ")
        let key = quoteIdentifier(collection.primaryKey.name)
        let sameKey = "\"OLD\".\(key) IS \"NEW\".\(key)"
        // A new key is another item: the old one is deleted and the new one created (two
        // events, one after the other, in the transaction of the change), so every band, the
        // firehose and /_changes drop the old id and take the new one.
        return [
            "CREATE TRIGGER \(name("create")) AFTER INSERT ON \(table) BEGIN \(insert("create", "NEW", previous: nil)) END",
            "CREATE TRIGGER \(name("update")) AFTER UPDATE ON \(table) WHEN \(sameKey) AND (\(changed)) "
                + "BEGIN \(insert("update", "NEW", previous: "OLD")) END",
            "CREATE TRIGGER \(name("rekey")) AFTER UPDATE ON \(table) WHEN NOT (\(sameKey)) "
                + "BEGIN \(insert("delete", "OLD", previous: nil)) \(insert("create", "NEW", previous: nil)) END",
            "CREATE TRIGGER \(name("delete")) AFTER DELETE ON \(table) BEGIN \(insert("delete", "OLD", previous: nil)) END",
        ]
    }

    /// The hex of the bytes of every value in a BLOB column of the row (and of the previous row),
    /// and `{"hex": …}` for a BLOB in a column that reads one as `{"base64": …}`
    /// (`RowJSON.foreignBlob`), or NULL when there is none; plain SQL.
    static func blobs(_ collection: CollectionSchema, row: String, previous: String?) -> String {
        let blobColumns = collection.columns.filter { $0.type == .blob }
        let wrapping = collection.columns.filter { RowJSON.wrapsBlobs($0.type) }
        let keyIsBlob = collection.primaryKey.type == .blob
        guard !blobColumns.isEmpty || !wrapping.isEmpty || keyIsBlob else { return "NULL" }
        let reference = { (table: String, column: Column) in quoteIdentifier(table) + "." + quoteIdentifier(column.name) }
        let isBlob = { (table: String, column: Column) in "typeof(\(reference(table, column))) = 'blob'" }
        let hex = { (table: String, column: Column) in
            column.type == .blob
                ? "CASE WHEN \(reference(table, column)) IS NOT NULL THEN hex(\(reference(table, column))) END"
                : "CASE WHEN \(isBlob(table, column)) THEN json_object('hex', hex(\(reference(table, column)))) END"
        }
        let images = [row] + (previous.map { [$0] } ?? [])
        // Every value of a BLOB column reads as the base64 of its bytes, text and numbers
        // included; in another column only a BLOB needs its bytes.
        let anyBlob = images.flatMap { table in
            blobColumns.map { "\(reference(table, $0)) IS NOT NULL" } + wrapping.map { isBlob(table, $0) }
        } + (keyIsBlob ? [isBlob(row, collection.primaryKey)] : [])
        let logged = blobColumns + wrapping
        var members: [(key: String, value: String)] = [
            // The id is the key's text, a BLOB's base64 (RowJSON.keyTextExpression).
            ("id", keyIsBlob ? "CASE WHEN \(isBlob(row, collection.primaryKey)) THEN hex(\(reference(row, collection.primaryKey))) END" : "NULL"),
            ("item", RowJSON.object(logged.map { ($0.name, hex(row, $0)) })),
        ]
        if let previous { members.append(("previous", RowJSON.object(logged.map { ($0.name, hex(previous, $0)) }))) }
        // `1 IN (…)`, not a chain of ORs: its depth does not grow with the columns (SQLite
        // refuses an expression deeper than 1,000, which two images of a wide table would be).
        return "CASE WHEN 1 IN (\(anyBlob.joined(separator: ", "))) THEN \(RowJSON.object(members)) END"
    }

    /// The event as clients see it, `{"seq":…,"collection":…,"op":…,"id":…,"item":{…},"at":…}`,
    /// as a SQL expression over a row of `_changes` (on our connections: it uses our functions).
    /// `image` (a column of `_changes` holding item JSON) with the BLOBs that `blobs` keeps as hex
    /// at `path` put back as base64; json_patch keeps the item's key order.
    private static func withBlobs(_ image: String, _ path: String) -> String {
        "CASE WHEN blobs IS NULL THEN json(\(image)) ELSE json_patch(\(image), (SELECT json_group_object(key, "
            + "CASE WHEN type = 'text' THEN \(SQLFunctions.base64OfHexName)(value) "
            + "ELSE json_object('base64', \(SQLFunctions.base64OfHexName)(value ->> '$.hex')) END) "
            + "FROM json_each(blobs, '\(path)') WHERE type IN ('text', 'object'))) END"
    }

    /// The row before an update as JSON (NULL otherwise), with its BLOBs put back as base64.
    static let previousJSON = "CASE WHEN previous IS NULL THEN NULL ELSE \(withBlobs("previous", "$.previous")) END"

    static let eventJSON = """
        json_object('seq', seq, 'collection', collection, 'op', op, \
        'id', CASE WHEN blobs ->> '$.id' IS NULL THEN item_id ELSE \(SQLFunctions.base64OfHexName)(blobs ->> '$.id') END, \
        'item', \(withBlobs("item", "$.item")), 'at', at)
        """

    /// The highest seq ever assigned; 0 before the first event.
    /// Whether the database has a change log (a server with the feed on has run on it).
    static func exists(on connection: Connection) throws -> Bool {
        try connection.scalarInt("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_changes'") != nil
    }

    static func head(on connection: Connection) throws -> Int64 {
        try connection.scalarInt("SELECT seq FROM sqlite_sequence WHERE name = '_changes'") ?? 0
    }

    static func batch(after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int, on connection: Connection) throws -> ChangeBatch {
        let head = try head(on: connection)
        // Saturating: another program may have set the sequence to its maximum.
        let oldest = try connection.scalarInt("SELECT min(seq) FROM _changes") ?? (head == .max ? head : head + 1)
        var sql = "SELECT seq, collection, \(eventJSON), \(previousJSON) FROM _changes WHERE seq > ?1"
        var values: [SQLValue] = [.integer(seq)]
        if let collections {
            let names = collections.sorted()
            sql += " AND collection IN (" + names.indices.map { "?\($0 + 2)" }.joined(separator: ", ") + ")"
            values += names.map { .text($0) }
        }
        sql += " ORDER BY seq"
        var events: [ChangeEvent] = []
        var bytes = 0
        var complete = false
        if limit > 0 {
            try connection.withStatement(sql) { statement in
                try statement.bind(values)
                while events.count < limit && bytes < maxBytes {
                    guard try statement.step() else {
                        complete = true
                        return
                    }
                    let event = ChangeEvent(
                        seq: statement.int64(0), collection: statement.text(1) ?? "", json: statement.textBytes(2),
                        previous: statement.isNull(3) ? nil : statement.textBytes(3))
                    bytes += event.byteCount
                    events.append(event)
                }
            }
        }
        let reached = complete ? head : (events.last?.seq ?? seq)
        return ChangeBatch(events: events, head: head, oldest: oldest, reached: reached)
    }
}
