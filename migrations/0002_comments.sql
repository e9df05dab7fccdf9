-- Comments have a text key: the server generates a time-ordered id (UUIDv7) when the client
-- sends none. They also show the DATE and TIME column types.

CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    posted_on   DATE NOT NULL DEFAULT (date('now')),
    remind_at   TIME
);

CREATE INDEX comments_task ON comments (task_id);
