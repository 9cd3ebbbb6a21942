-- Schema version 1: people, the patient plan, sessions with what was delivered, ratings
-- and the journal. Times are ISO-8601 UTC text with milliseconds ("...+00:00"), which
-- sorts in time order and reads in any SQLite tool. Never edit a released migration:
-- add the next numbered file instead (tests build every earlier version and migrate it).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('clinician', 'patient')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- One patient per station: a single plan row.
CREATE TABLE plan (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    protocol_id      TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    levels_json      TEXT NOT NULL DEFAULT '{}',
    ranking_json     TEXT NOT NULL DEFAULT '{}',
    settings_json    TEXT NOT NULL DEFAULT '{}',
    updated_at       TEXT NOT NULL
);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    protocol_id      TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    protocol_hash    TEXT NOT NULL,
    level            INTEGER NOT NULL CHECK (level >= 0),
    program_json     TEXT NOT NULL,
    planned_steps    INTEGER NOT NULL CHECK (planned_steps >= 0),
    state            TEXT NOT NULL CHECK (state IN
                       ('armed', 'running', 'paused', 'completed', 'stopped', 'aborted')),
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    ended_at         TEXT,
    end_reason       TEXT,
    ended_by         TEXT
);
CREATE INDEX sessions_by_start ON sessions (started_at);
CREATE INDEX sessions_by_state ON sessions (state);

-- Every state change, so pauses and who stopped what stay on the record.
CREATE TABLE session_transitions (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    reason     TEXT,
    by         TEXT
);
CREATE INDEX transitions_by_session ON session_transitions (session_id);

-- What the engine reported it delivered, per step (never the plan).
CREATE TABLE steps (
    id             INTEGER PRIMARY KEY,
    session_id     INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    step_index     INTEGER NOT NULL CHECK (step_index >= 0),
    kind           TEXT NOT NULL,
    label          TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    delivered_json TEXT NOT NULL DEFAULT '{}',
    UNIQUE (session_id, step_index)
);

CREATE TABLE ratings (
    id              INTEGER PRIMARY KEY,
    session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    step_index      INTEGER CHECK (step_index IS NULL OR step_index >= 0),
    at              TEXT NOT NULL,
    live            INTEGER NOT NULL CHECK (live IN (0, 1)),
    value           INTEGER NOT NULL CHECK (value BETWEEN 0 AND 10),
    pleasantness    INTEGER CHECK (pleasantness IS NULL OR pleasantness BETWEEN -10 AND 10),
    lingering       INTEGER CHECK (lingering IS NULL OR lingering IN (0, 1)),
    lingering_where TEXT
);
CREATE INDEX ratings_by_session ON ratings (session_id);

CREATE TABLE journal (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
    at         TEXT NOT NULL,
    text       TEXT NOT NULL,
    "trigger"  TEXT
);
CREATE INDEX journal_by_session ON journal (session_id);
