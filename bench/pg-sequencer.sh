#!/usr/bin/env bash
# The PostgreSQL change log's cost (issue #21, docs/POSTGRES.md): pgbench write transactions/s on a
# throwaway cluster on this machine (loopback, fsync and synchronous_commit on, as in production),
# for the same workload under each way of logging changes:
#
#   baseline     no triggers
#   log-only     the row triggers write the outbox (_feedbase_events), no sequencer: the cost of
#                the log itself, in no usable order
#   ticket       the commit ticket as the engine installs it: one counter bump and one
#                _feedbase_commits row per writing transaction, at commit (deferred trigger)
#   ticket-row   the alternative: a deferred trigger per event row that bumps the counter and
#                writes the seq into the row
#   ticket-async the ticket, with the writer committing asynchronously (the ticket's lock no longer
#                spans the WAL flush) and then waiting for durability in a second, synchronous
#                transaction that only takes an xid (its flush covers the first commit, and such
#                flushes are shared): a measured upgrade path, not what the engine does
#                (docs/POSTGRES.md: readers would have to serve only flushed commits)
#   notify-bare  no triggers, NOTIFY inside the writing transaction: NOTIFY's own cost
#   notify-in    the ticket plus NOTIFY inside the writing transaction (not what the engine does)
#   seq-after    the ticket, and the writer learns its seq as PostgresStore does: its xid and the
#                head read first in the transaction, its commit's last seq read by them after COMMIT
#   seq-immediate the ticket taken before COMMIT (SET CONSTRAINTS ALL IMMEDIATE) and the head read
#                then: the seq in the transaction, the ticket's lock held over two more round trips
#   notify-after the ticket plus pg_notify in its own statement after the commit, committed
#                asynchronously (the engine's way, PostgresCommitSignal)
#
#   bench/pg-sequencer.sh [seconds per case, default 10]   (about 2 minutes a round)
#
# Env: CLIENTS (pgbench -c, default 8), ROWS (table size, default 10000; fewer rows = hotter rows),
# ROUNDS (default 3), INSERTS (rows inserted per transaction, default 1), SYNC (synchronous_commit, default on; off
# takes the disk's flush out and shows the CPU cost of each design), CASES (default "baseline
# log-only ticket ticket-row"). Each case runs on a fresh database. The workload per transaction:
# update one random row (`version = version + 1`) and insert INSERTS rows.
# The SQL is the engine's (Sources/FeedbasePostgres/PostgresChangeLog.swift) for the table below,
# written out so that this script needs no build.
set -euo pipefail
SECONDS_PER_CASE=${1:-10}
CLIENTS=${CLIENTS:-8}
ROWS=${ROWS:-10000}
INSERTS=${INSERTS:-1}
SYNC=${SYNC:-on}
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-baseline notify-bare log-only ticket ticket-row ticket-async notify-in notify-after}

# initdb on PATH (often a symlink: the other programs are beside its target), else Debian's newest.
BIN=$(command -v initdb >/dev/null 2>&1 && dirname "$(readlink -f "$(command -v initdb)")" || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "no PostgreSQL server binaries (install Debian's postgresql)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/feedbase-pgbench.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$WORK"
    AS=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() { "${AS[@]}" "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap stop EXIT
"${AS[@]}" "$BIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$WORK -c max_connections=50 -c synchronous_commit=$SYNC" start >/dev/null
export PGOPTIONS="-c client_min_messages=warning"
PSQL=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)

# The log as the engine installs it for the table `items` below: PostgresChangeLog's
# schemaStatements and triggerStatements(for:), printed from the Swift and pasted here (regenerate
# them when that file changes).
ENGINE_SQL=$(cat <<'SQL'
CREATE TABLE IF NOT EXISTS "public"."_feedbase_ticket" (one boolean PRIMARY KEY DEFAULT true CHECK (one), head bigint NOT NULL DEFAULT 0);
INSERT INTO "public"."_feedbase_ticket" DEFAULT VALUES ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS "public"."_feedbase_events" (
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
);
CREATE TABLE IF NOT EXISTS "public"."_feedbase_commits" (
    last_seq bigint PRIMARY KEY,
    tx xid8 NOT NULL,
    first_ord integer NOT NULL,
    last_ord integer NOT NULL
);
CREATE OR REPLACE FUNCTION "public"."_feedbase_take_ticket"() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
DECLARE
    first integer := current_setting('feedbase.open')::integer;
    last integer := current_setting('feedbase.ord')::integer;
    reached bigint;
BEGIN
    UPDATE "public"."_feedbase_ticket" SET head = head + (last - first + 1) RETURNING head INTO reached;
    INSERT INTO "public"."_feedbase_commits" (last_seq, tx, first_ord, last_ord) VALUES (reached, pg_current_xact_id(), first, last);
    PERFORM set_config('feedbase.open', '', true);
    RETURN NULL;
END
$feedbase$;
DROP TRIGGER IF EXISTS "_feedbase_ticket" ON "public"."_feedbase_events";
CREATE CONSTRAINT TRIGGER "_feedbase_ticket" AFTER INSERT ON "public"."_feedbase_events"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.opens) EXECUTE FUNCTION "public"."_feedbase_take_ticket"();
CREATE OR REPLACE FUNCTION "public"."_feedbase_refuse_truncate"() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of %.% would bypass its change log: DELETE its rows instead', TG_TABLE_SCHEMA, TG_TABLE_NAME;
END
$feedbase$;
CREATE OR REPLACE VIEW "public"."_changes" AS
SELECT c.last_seq - c.last_ord + e.ord AS seq, e.collection, e.item_id, e.op, e.item, e.previous, e.at
FROM "public"."_feedbase_commits" c JOIN "public"."_feedbase_events" e ON e.tx = c.tx AND e.ord BETWEEN c.first_ord AND c.last_ord;
CREATE OR REPLACE FUNCTION "public"."_feedbase_log_items"() RETURNS trigger LANGUAGE plpgsql AS $feedbase$
DECLARE
    last integer := coalesce(nullif(current_setting('feedbase.ord', true), ''), '0')::integer;
    opens boolean := coalesce(current_setting('feedbase.open', true), '') = '';
    first integer := last + 1;
    tx xid8 := pg_current_xact_id();
BEGIN
    -- The settings first: in IMMEDIATE mode (SET CONSTRAINTS) the ticket fires at the
    -- end of the INSERT below, and reads them.
    last := CASE WHEN TG_OP = 'UPDATE' AND OLD."id" IS DISTINCT FROM NEW."id" THEN first + 1 ELSE first END;
    IF opens THEN
        PERFORM set_config('feedbase.open', first::text, true);
    END IF;
    PERFORM set_config('feedbase.ord', last::text, true);
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "public"."_feedbase_events" (tx, ord, opens, collection, op, item_id, item, previous) VALUES (tx, first, opens, 'items', 'create', NEW."id"::text, (SELECT row_to_json(_feedbase_row) FROM (SELECT NEW."id" AS "id", NEW."version" AS "version", NEW."title" AS "title", NEW."done" AS "done", to_char(NEW."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row), NULL);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO "public"."_feedbase_events" (tx, ord, opens, collection, op, item_id, item, previous) VALUES (tx, first, opens, 'items', 'delete', OLD."id"::text, (SELECT row_to_json(_feedbase_row) FROM (SELECT OLD."id" AS "id", OLD."version" AS "version", OLD."title" AS "title", OLD."done" AS "done", to_char(OLD."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row), NULL);
    ELSIF last = first THEN
        INSERT INTO "public"."_feedbase_events" (tx, ord, opens, collection, op, item_id, item, previous) VALUES (tx, first, opens, 'items', 'update', NEW."id"::text, (SELECT row_to_json(_feedbase_row) FROM (SELECT NEW."id" AS "id", NEW."version" AS "version", NEW."title" AS "title", NEW."done" AS "done", to_char(NEW."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row), (SELECT row_to_json(_feedbase_row) FROM (SELECT OLD."id" AS "id", OLD."version" AS "version", OLD."title" AS "title", OLD."done" AS "done", to_char(OLD."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row));
    ELSE
        INSERT INTO "public"."_feedbase_events" (tx, ord, opens, collection, op, item_id, item, previous) VALUES (tx, first, opens, 'items', 'delete', OLD."id"::text, (SELECT row_to_json(_feedbase_row) FROM (SELECT OLD."id" AS "id", OLD."version" AS "version", OLD."title" AS "title", OLD."done" AS "done", to_char(OLD."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row), NULL),
            (tx, first + 1, false, 'items', 'create', NEW."id"::text, (SELECT row_to_json(_feedbase_row) FROM (SELECT NEW."id" AS "id", NEW."version" AS "version", NEW."title" AS "title", NEW."done" AS "done", to_char(NEW."created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "created") _feedbase_row), NULL);
    END IF;
    RETURN NULL;
END
$feedbase$;
DROP TRIGGER IF EXISTS "_feedbase_change" ON "public"."items";
DROP TRIGGER IF EXISTS "_feedbase_update" ON "public"."items";
DROP TRIGGER IF EXISTS "_feedbase_truncate" ON "public"."items";
CREATE TRIGGER "_feedbase_change" AFTER INSERT OR DELETE ON "public"."items" FOR EACH ROW EXECUTE FUNCTION "public"."_feedbase_log_items"();
CREATE TRIGGER "_feedbase_update" AFTER UPDATE ON "public"."items" FOR EACH ROW WHEN (NOT (OLD *= NEW)) EXECUTE FUNCTION "public"."_feedbase_log_items"();
CREATE TRIGGER "_feedbase_truncate" BEFORE TRUNCATE ON "public"."items" FOR EACH STATEMENT EXECUTE FUNCTION "public"."_feedbase_refuse_truncate"();
SQL
)
# The log alone: the same triggers, without the ticket (events in no usable order).
NO_TICKET_SQL='DROP TRIGGER "_feedbase_ticket" ON "public"."_feedbase_events"'
# The alternative sequencer: a deferred trigger per event that bumps the counter and writes the
# event's seq into its row.
TICKET_ROW_SQL=$(cat <<'SQL'
DROP TRIGGER "_feedbase_ticket" ON "public"."_feedbase_events";
ALTER TABLE _feedbase_events ADD COLUMN seq bigint;
CREATE INDEX ON _feedbase_events (seq);
CREATE FUNCTION _feedbase_row_ticket() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE reached bigint;
BEGIN
    UPDATE _feedbase_ticket SET head = head + 1 RETURNING head INTO reached;
    UPDATE _feedbase_events SET seq = reached WHERE tx = NEW.tx AND ord = NEW.ord;
    RETURN NULL;
END $f$;
CREATE CONSTRAINT TRIGGER _feedbase_row_ticket AFTER INSERT ON _feedbase_events DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION _feedbase_row_ticket();
SQL
)

cat >"$WORK/tx.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
END;
SQL
cat >"$WORK/tx-notify-in.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
NOTIFY feedbase_changes;
END;
SQL
cat >"$WORK/tx-notify-after.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
END;
SELECT set_config('synchronous_commit', 'off', true), pg_notify('feedbase_changes', '');
SQL
cat >"$WORK/tx-async.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
SET LOCAL synchronous_commit = off;
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
END;
SELECT pg_current_xact_id();
SQL

cat >"$WORK/tx-seq-after.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
SELECT pg_current_xact_id()::text::bigint AS tx, head AS before FROM _feedbase_ticket \gset
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
END;
SELECT coalesce((SELECT last_seq FROM _feedbase_commits WHERE last_seq > :before AND tx::text::bigint = :tx), (SELECT head FROM _feedbase_ticket));
SQL
cat >"$WORK/tx-seq-immediate.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
UPDATE items SET version = version + 1 WHERE id = :id;
INSERT INTO items (title) SELECT 'new' FROM generate_series(1, $INSERTS);
SET CONSTRAINTS ALL IMMEDIATE;
SELECT head FROM _feedbase_ticket;
END;
SQL

# One round runs every case once, each on a fresh database; ROUNDS rounds interleave the cases,
# so a neighbour's load on this shared machine falls on all of them, and the medians are printed.
declare -A RUNS
for round in $(seq 1 "$ROUNDS"); do
    for case in $CASES; do
        db="b_${case//-/_}_$round"
        "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db"
        "${PSQL[@]}" -d "$db" -c "CREATE TABLE items (id bigserial PRIMARY KEY, version integer NOT NULL DEFAULT 0, title text NOT NULL,
            done boolean NOT NULL DEFAULT false, created timestamptz NOT NULL DEFAULT now());
            INSERT INTO items (title) SELECT 'item ' || g FROM generate_series(1, $ROWS) g;"
        script=tx.sql
        case $case in
            baseline) ;;
            notify-bare) script=tx-notify-in.sql ;;
            log-only) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL" -c "$NO_TICKET_SQL" ;;
            ticket) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL" ;;
            seq-after|seq-immediate) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL"; script=tx-$case.sql ;;
            ticket-async) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL"; script=tx-async.sql ;;
            notify-in|notify-after) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL"; script=tx-$case.sql ;;
            ticket-row) "${PSQL[@]}" -d "$db" -c "$ENGINE_SQL" -c "$TICKET_ROW_SQL" ;;
            *) echo "unknown case $case" >&2; exit 1 ;;
        esac
        "${PSQL[@]}" -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
        out=$("$BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c "$CLIENTS" -j 2 -T "$SECONDS_PER_CASE" -f "$WORK/$script" "$db" 2>&1)
        tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        RUNS[$case]="${RUNS[$case]:-} $(printf '%.0f' "$tps")"
        # The ticket's cases must have numbered every event exactly 1..N.
        if grep -q _feedbase_take_ticket <<<"$("${PSQL[@]}" -d "$db" -At -c "SELECT string_agg(tgname || ' ' || tgfoid::regproc, ',') FROM pg_trigger")"; then
            bad=$("${PSQL[@]}" -d "$db" -At -c "SELECT (SELECT count(*) FROM _feedbase_events) <> (SELECT head FROM _feedbase_ticket)
                OR (SELECT count(*) FROM _changes) <> (SELECT head FROM _feedbase_ticket)
                OR (SELECT count(DISTINCT seq) FROM _changes) <> (SELECT head FROM _feedbase_ticket)")
            [ "$bad" = f ] || { echo "$case: the ticket's seqs are not 1..N" >&2; exit 1; }
        fi
        printf 'round %s  %-12s %10.0f tx/s\n' "$round" "$case" "$tps"
    done
done
echo
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A MEDIAN
for case in $CASES; do MEDIAN[$case]=$(median "${RUNS[$case]}"); done
for case in $CASES; do
    line=$(printf '%-12s %8.0f tx/s (median of%s)' "$case" "${MEDIAN[$case]}" "${RUNS[$case]}")
    [ -n "${MEDIAN[baseline]:-}" ] && line+=$(python3 -c "import sys; print(f'   {float(sys.argv[1]) / float(sys.argv[2]):.2f} × baseline', end='')" "${MEDIAN[$case]}" "${MEDIAN[baseline]}")
    echo "$line"
done
[ -n "${MEDIAN[log-only]:-}" ] && [ -n "${MEDIAN[ticket]:-}" ] && \
    python3 -c "import sys; print(f'ticket = {float(sys.argv[1]) / float(sys.argv[2]):.2f} × log-only')" "${MEDIAN[ticket]}" "${MEDIAN[log-only]}"
echo "$(nproc) cores, $CLIENTS clients, $ROWS rows, 1 update + $INSERTS inserts per tx, synchronous_commit=$SYNC, ${SECONDS_PER_CASE} s per case, $ROUNDS rounds, PostgreSQL $("$BIN/postgres" --version | awk '{print $3}')"
