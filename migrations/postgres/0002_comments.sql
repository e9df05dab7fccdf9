-- Comments have a text key with no default: the server generates a time-ordered id (UUIDv7)
-- when the client sends none, as on SQLite. They also show the date and time column types.
-- SQLite's date('now') is UTC's date, whatever the session's time zone.

CREATE TABLE comments (
    id          text COLLATE "C" PRIMARY KEY,
    task_id     bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    body        text COLLATE "C" NOT NULL,
    posted_on   date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    remind_at   time
);

CREATE INDEX comments_task ON comments (task_id);
