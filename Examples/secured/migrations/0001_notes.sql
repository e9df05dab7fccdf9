-- A collection with an owner per row, for the access rules walk-through (docs/API.md, "Security").

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL,
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body        TEXT,
    shared      BOOLEAN NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The owner rule's condition is an equality on this column: listings filter by it, and the
-- feed files every user's band under it (one lookup per change, however many users follow).
CREATE INDEX notes_owner ON notes (owner);
