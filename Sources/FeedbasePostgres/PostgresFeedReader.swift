// Reads the PostgreSQL change log as the feed does on SQLite (ChangeSource.changes): pages of
// events after a seq, in seq order, bounded by a count and by bytes, with the head and the oldest
// retained seq from the same snapshot: one statement, so one snapshot, whatever the isolation.
//
// A snapshot sees a prefix of the tickets (docs/POSTGRES.md): the counter's row lock made ticket
// N + 1 wait for N's commit, so `seq > last` can neither skip nor repeat an event.

import FeedbaseModel
import Logging
import PostgresNIO

public struct PostgresFeedReader: Sendable {
    public var log: PostgresChangeLog
    /// How long a page waits for the WAL flush that makes what it read durable (PostgreSQL's
    /// WAL writer flushes asynchronous commits within 3 × wal_writer_delay, 600 ms by default).
    public var durabilityTimeout: Duration

    public init(log: PostgresChangeLog = PostgresChangeLog(), durabilityTimeout: Duration = .seconds(10)) {
        self.log = log
        self.durabilityTimeout = durabilityTimeout
    }

    /// The event as clients see it, `{"seq":…,"collection":…,"op":…,"id":…,"item":{…},"at":…}`,
    /// as SQLite's event: compact, item in table order.
    static func eventJSON(seq: String) -> String {
        "'{\"seq\":' || \(seq) || ',\"collection\":' || to_json(e.collection)::text || ',\"op\":\"' || e.op || '\",\"id\":' "
            + "|| to_json(e.item_id)::text || ',\"item\":' || e.item::text || ',\"at\":\"' "
            + "|| to_char(e.at AT TIME ZONE 'UTC', \(PostgresRowJSON.dateTimeFormat)) || '\"}'"
    }

    /// The highest seq ever assigned; 0 before the first event.
    public func head(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        // Every row read before returning: a row stream left half-read holds its connection.
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT head FROM \(log.ticket)"), logger: logger).collect()
        return try rows.first?.decode(Int64.self) ?? 0
    }

    public func head(on client: PostgresClient, logger: Logger) async throws -> Int64 {
        try await client.withLiveConnection { connection in try await head(on: connection, logger: logger) }
    }

    /// Up to `limit` events after `seq` (of `collections` only, when given), stopping once they
    /// hold `maxBytes`; `reached` as ChangeBatch defines it.
    public func changes(
        after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> ChangeBatch {
        let seqExpression = "c.last_seq - c.last_ord + e.ord"
        // The events after `seq` are those of the commits whose last seq is past it, from the
        // ord that follows it. Unfiltered, the first `limit` such commits hold at least `limit`
        // of them (each has its last one), so only those are joined: the planner then walks
        // both primary keys instead of hashing the whole log (a page from 0 of 80,000 events:
        // 20 ms rather than 400). Filtered by collection, commits may hold none of the events
        // asked for, so all of them after `seq` are candidates.
        let commits = collections == nil
            ? "(SELECT last_seq, tx, first_ord, last_ord FROM \(log.commits) WHERE last_seq > $1 ORDER BY last_seq LIMIT $2)"
            : "(SELECT last_seq, tx, first_ord, last_ord FROM \(log.commits) WHERE last_seq > $1)"
        let only = collections == nil ? "" : " WHERE e.collection = ANY($3)"
        let sql = """
            SELECT t.head, (SELECT last_seq - last_ord + first_ord FROM \(log.commits) ORDER BY last_seq LIMIT 1),
                   pg_current_wal_insert_lsn()::text, p.seq, p.collection, p.event, p.previous
            FROM \(log.ticket) t
            LEFT JOIN LATERAL (
                SELECT \(seqExpression) AS seq, e.collection, \(Self.eventJSON(seq: seqExpression)) AS event, e.previous::text AS previous
                FROM \(commits) c
                JOIN \(log.events) e ON e.tx = c.tx AND e.ord BETWEEN greatest(c.first_ord, $1 - c.last_seq + c.last_ord + 1) AND c.last_ord\(only)
                ORDER BY c.last_seq, e.ord
                LIMIT $2
            ) p ON true
            ORDER BY p.seq
            """
        var bindings = PostgresBindings()
        bindings.append(seq)
        bindings.append(Int64(max(limit, 0)))
        if let collections { bindings.append(collections.sorted()) }
        var head: Int64 = 0
        var oldest: Int64?
        var written = ""
        var events: [ChangeEvent] = []
        var bytes = 0
        var cut = false
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        for try await (rowHead, rowOldest, rowWritten, eventSeq, collection, json, previous) in rows.decode(
            (Int64, Int64?, String, Int64?, String?, String?, String?).self)
        {
            head = rowHead
            oldest = rowOldest
            written = rowWritten
            guard let eventSeq, let collection, let json else { continue }
            if events.count >= limit || bytes >= maxBytes {
                cut = true
                continue
            }
            let event = ChangeEvent(seq: eventSeq, collection: collection, json: Array(json.utf8), previous: previous.map { Array($0.utf8) })
            bytes += event.byteCount
            events.append(event)
        }
        // As on SQLite: a page that stopped at its count or its bytes covers the log up to its
        // last event; one that ran out of events covers it up to the head.
        let complete = !cut && events.count < limit
        let reached = complete ? head : (events.last?.seq ?? seq)
        if head > seq { try await waitUntilFlushed(written, on: connection, logger: logger) }
        return ChangeBatch(events: events, head: head, oldest: oldest ?? (head == .max ? head : head + 1), reached: reached)
    }

    /// Waits until the WAL is flushed up to `lsn`: every commit this page saw is then durable.
    /// A commit is visible before it is flushed when its writer commits asynchronously
    /// (synchronous_commit off: another program's choice, or the engine's, docs/POSTGRES.md);
    /// served before the flush, a crash could take it back and give its seqs to other events,
    /// which a subscriber that saw them would then skip. Synchronous writers flush before they
    /// are visible, so this is one cheap comparison.
    func waitUntilFlushed(_ lsn: String, on connection: PostgresConnection, logger: Logger) async throws {
        let deadline = ContinuousClock.now + durabilityTimeout
        var pause = Duration.milliseconds(1)
        while true {
            let rows = try await connection.query("SELECT pg_current_wal_flush_lsn() >= \(lsn)::pg_lsn", logger: logger).collect()
            if try rows.first?.decode(Bool.self) == true { return }
            guard ContinuousClock.now < deadline else { throw PostgresFeedError.notFlushed(lsn: lsn, within: durabilityTimeout) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    public func changes(
        after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int, on client: PostgresClient, logger: Logger
    ) async throws -> ChangeBatch {
        try await client.withLiveConnection { connection in
            try await changes(after: seq, collections: collections, limit: limit, maxBytes: maxBytes, on: connection, logger: logger)
        }
    }
}

public enum PostgresFeedError: Error, CustomStringConvertible {
    /// The WAL was not flushed up to what a page read within the timeout.
    case notFlushed(lsn: String, within: Duration)

    public var description: String {
        switch self {
        case .notFlushed(let lsn, let timeout): "PostgreSQL did not flush its WAL up to \(lsn) within \(timeout)"
        }
    }
}
