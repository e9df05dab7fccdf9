-- The example schema: projects, their tasks, and comments on tasks. Together they use every
-- column type Feedbase maps (see docs/SCHEMA.md).

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    archived    BOOLEAN NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    done        BOOLEAN NOT NULL DEFAULT 0,
    priority    INTEGER CHECK (priority BETWEEN 1 AND 5),
    estimate    REAL,
    due         DATETIME,
    tags        JSON,
    attachment  BLOB,
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX tasks_project ON tasks (project_id);
CREATE INDEX tasks_done_priority ON tasks (done, priority);
