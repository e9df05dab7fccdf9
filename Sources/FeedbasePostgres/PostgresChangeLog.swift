// The change log on PostgreSQL: a transactional outbox written by triggers in the writer's own
// transaction (so psql or any other program's writes are logged too), and a commit ticket that
// numbers the events in commit order, 1..N with no gap (docs/POSTGRES.md says why and what it costs).
//
// - `_feedbase_events`: one row per change, keyed by (tx, ord): the writing transaction's id and
//   the event's place in it. The seq is not known yet when the row is written (the transaction
//   has not committed), so it is not stored there.
// - The commit ticket: a deferred constraint trigger fires at the end of each writing transaction
//   (once: only the transaction's first unticketed event queues it), bumps the one counter row of
//   `_feedbase_ticket` by the transaction's number of events and records the range in
//   `_feedbase_commits` (last seq, tx, first and last ord). The counter's row lock is held from
//   there to the commit, so tickets are taken in commit order, and a rolled-back transaction
//   takes none: seq = ticket base + ordinal, gap-free.
// - `_changes`: the view that joins the two into SQLite's shape (seq, collection, item_id, op,
//   item, previous, at), for people with psql. The engine reads the tables directly.
//
// The ordinal lives in two transaction-local settings (`feedbase.ord`: the last ordinal given;
// `feedbase.open`: the first ordinal not yet covered by a ticket, '' when none): set_config with
// is_local reverts with a rolled-back savepoint exactly as the rows do, and a ticket taken early
// (SET CONSTRAINTS ALL IMMEDIATE) closes its range, so later events open another.

import Logging
import PostgresNIO

public struct PostgresChangeLog: Sendable {
    /// The schema that holds the log's tables and functions (every name in them is qualified:
    /// the triggers fire under any writer's search_path).
    public var schema: String

    public init(schema: String = "public") {
        self.schema = schema
    }

    /// NOTIFY's channel: the engine signals it after its own commits (PostgresCommitSignal).
    public static let channel = "feedbase_changes"
    static let prefix = "_feedbase_"

    func name(_ object: String) -> String { PostgresSQL.identifier(schema) + "." + PostgresSQL.identifier(Self.prefix + object) }
    var events: String { name("events") }
    var commits: String { name("commits") }
    var ticket: String { name("ticket") }

    /// The log's tables, the ticket's function and trigger, and the `_changes` view; idempotent.
    public var schemaStatements: [String] {
        [
            "CREATE TABLE IF NOT EXISTS \(ticket) (one boolean PRIMARY KEY DEFAULT true CHECK (one), head bigint NOT NULL DEFAULT 0)",
            "INSERT INTO \(ticket) DEFAULT VALUES ON CONFLICT DO NOTHING",
            """
            CREATE TABLE IF NOT EXISTS \(events) (
                tx xid8 NOT NULL,
                ord integer NOT NULL,
                opens boolean NOT NULL,
                collection text NOT NULL,
                op text NOT NULL CHECK (op IN ('create', 'update', 'delete')),
                item_id text NOT NULL,
                item json NOT NULL,
                previous json,
                at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (tx, ord)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(commits) (
                last_seq bigint PRIMARY KEY,
                tx xid8 NOT NULL,
                first_ord integer NOT NULL,
                last_ord integer NOT NULL
            )
            """,
            """
            CREATE OR REPLACE FUNCTION \(name("take_ticket"))() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
            DECLARE
                first integer := current_setting('feedbase.open')::integer;
                last integer := current_setting('feedbase.ord')::integer;
                reached bigint;
            BEGIN
                UPDATE \(ticket) SET head = head + (last - first + 1) RETURNING head INTO reached;
                INSERT INTO \(commits) (last_seq, tx, first_ord, last_ord) VALUES (reached, pg_current_xact_id(), first, last);
                PERFORM set_config('feedbase.open', '', true);
                RETURN NULL;
            END
            $feedbase$
            """,
            // Made once, never dropped and made again: a migration installs the log in its own
            // transaction after its file ran, and dropping the trigger there would discard the
            // deferred ticket its file's events had queued (they would never get a seq).
            """
            DO $feedbase$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = \(PostgresSQL.literal(events))::regclass AND tgname = \(PostgresSQL.literal(Self.prefix + "ticket"))) THEN
                    CREATE CONSTRAINT TRIGGER \(PostgresSQL.identifier(Self.prefix + "ticket")) AFTER INSERT ON \(events)
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.opens) EXECUTE FUNCTION \(name("take_ticket"))();
                END IF;
            END $feedbase$
            """,
            """
            CREATE OR REPLACE FUNCTION \(name("refuse_truncate"))() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
            BEGIN
                RAISE EXCEPTION 'TRUNCATE of %.% would bypass its change log: DELETE its rows instead', TG_TABLE_SCHEMA, TG_TABLE_NAME;
            END
            $feedbase$
            """,
            """
            CREATE OR REPLACE VIEW \(PostgresSQL.identifier(schema)).\(PostgresSQL.identifier("_changes")) AS
            SELECT c.last_seq - c.last_ord + e.ord AS seq, e.collection, e.item_id, e.op, e.item, e.previous, e.at
            FROM \(commits) c JOIN \(events) e ON e.tx = c.tx AND e.ord BETWEEN c.first_ord AND c.last_ord
            """,
        ]
    }

    /// The function name of a table's row trigger: within PostgreSQL's 63 bytes for any table name.
    func logFunction(_ table: PostgresTable) -> String {
        let plain = Self.prefix + "log_" + table.name
        guard plain.utf8.count > 63 else { return PostgresSQL.identifier(schema) + "." + PostgresSQL.identifier(plain) }
        var hash: UInt32 = 2_166_136_261
        for byte in table.name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let head = String(decoding: Array(plain.utf8.prefix(40)), as: UTF8.self)
        return PostgresSQL.identifier(schema) + "." + PostgresSQL.identifier(head + "_" + String(hash, radix: 16))
    }

    /// A table's row trigger function and its triggers: an insert logs `create`, a delete
    /// `delete`, an update that changes a value `update` (with the row before it), an update of
    /// the key a `delete` of the old item and a `create` of the new one, as on SQLite; TRUNCATE,
    /// which fires no row trigger, is refused.
    public func triggerStatements(for table: PostgresTable) -> [String] {
        let collection = PostgresSQL.literal(table.name)
        let key = PostgresSQL.identifier(table.primaryKey)
        func values(_ ord: String, opens: String, _ op: String, _ row: String, previous: String?) -> String {
            "(tx, \(ord), \(opens), \(collection), '\(op)', \(PostgresRowJSON.keyTextExpression(table, row: row)), "
                + "\(PostgresRowJSON.objectExpression(table, row: row)), \(previous.map { PostgresRowJSON.objectExpression(table, row: $0) } ?? "NULL"))"
        }
        let insert = "INSERT INTO \(events) (tx, ord, opens, collection, op, item_id, item, previous) VALUES "
        let function = """
            CREATE OR REPLACE FUNCTION \(logFunction(table))() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
            DECLARE
                last integer := coalesce(nullif(current_setting('feedbase.ord', true), ''), '0')::integer;
                opens boolean := coalesce(current_setting('feedbase.open', true), '') = '';
                first integer := last + 1;
                tx xid8 := pg_current_xact_id();
            BEGIN
                -- The settings first: in IMMEDIATE mode (SET CONSTRAINTS) the ticket fires at the
                -- end of the INSERT below, and reads them.
                last := CASE WHEN TG_OP = 'UPDATE' AND OLD.\(key) IS DISTINCT FROM NEW.\(key) THEN first + 1 ELSE first END;
                IF opens THEN
                    PERFORM set_config('feedbase.open', first::text, true);
                END IF;
                PERFORM set_config('feedbase.ord', last::text, true);
                IF TG_OP = 'INSERT' THEN
                    \(insert)\(values("first", opens: "opens", "create", "NEW", previous: nil));
                ELSIF TG_OP = 'DELETE' THEN
                    \(insert)\(values("first", opens: "opens", "delete", "OLD", previous: nil));
                ELSIF last = first THEN
                    \(insert)\(values("first", opens: "opens", "update", "NEW", previous: "OLD"));
                ELSE
                    \(insert)\(values("first", opens: "opens", "delete", "OLD", previous: nil)),
                        \(values("first + 1", opens: "false", "create", "NEW", previous: nil));
                END IF;
                RETURN NULL;
            END
            $feedbase$
            """
        let trigger = { (suffix: String) in PostgresSQL.identifier(Self.prefix + suffix) }
        return [
            function,
            "DROP TRIGGER IF EXISTS \(trigger("change")) ON \(table.qualifiedName)",
            "DROP TRIGGER IF EXISTS \(trigger("update")) ON \(table.qualifiedName)",
            "DROP TRIGGER IF EXISTS \(trigger("truncate")) ON \(table.qualifiedName)",
            "CREATE TRIGGER \(trigger("change")) AFTER INSERT OR DELETE ON \(table.qualifiedName) "
                + "FOR EACH ROW EXECUTE FUNCTION \(logFunction(table))()",
            // `*=` compares the rows' stored images: any type, json included (which has no `=`),
            // so an update that changes nothing logs nothing, as on SQLite.
            "CREATE TRIGGER \(trigger("update")) AFTER UPDATE ON \(table.qualifiedName) "
                + "FOR EACH ROW WHEN (NOT (OLD *= NEW)) EXECUTE FUNCTION \(logFunction(table))()",
            "CREATE TRIGGER \(trigger("truncate")) BEFORE TRUNCATE ON \(table.qualifiedName) "
                + "FOR EACH STATEMENT EXECUTE FUNCTION \(name("refuse_truncate"))()",
        ]
    }

    /// Creates the log and the triggers of `tables` in one transaction, under an advisory lock:
    /// N nodes starting together install it once each, one after the other, and none sees half.
    public func install(_ tables: [PostgresTable], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('feedbase.changelog'))", logger: logger)
            for statement in schemaStatements + tables.flatMap(triggerStatements) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}
