-- Schema version 7: the outbox for the clinic hub (issue 15).
-- * outbox: every record the station reports to its clinic hub (sessions, steps, ratings,
--   journal entries, progression decisions, adherence days, faults, and its answers to the
--   hub's pushes), written IN THE SAME TRANSACTION as the record itself, so a record is
--   never kept without its report nor reported without being kept. ``seq`` is the order
--   of publishing; ``global_id`` (a UUIDv7) is the record's id at the hub, which stores
--   each id once. ``payload`` is the record as JSON in the clinic's message contract
--   (station/hub/messages.py) without the station id, which the sync agent adds (the
--   station id is configuration, not data). ``dedupe_key`` keeps derived records (one
--   adherence record per patient and day) from being queued twice.
--   published_at: first sent to the broker; stored_at: the hub's ``Stored`` named it (only
--   then may the row go); error: the contract refused the payload (kept, never sent).
-- * global_id on the records that other records point at or that are reported one by one:
--   sessions (every session gets one when armed; the rows before this version get one
--   here), steps, ratings, journal and decisions (set when the record is queued; NULL
--   means it was never reported, e.g. history from before this version).
-- Patients are named by patients.global_id (version 4), never by their display name.

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY,
    global_id    TEXT NOT NULL UNIQUE CHECK (length(global_id) = 36),
    kind         TEXT NOT NULL CHECK (kind IN
                   ('session', 'step', 'rating', 'journal', 'decision', 'adherence', 'fault',
                    'ack')),
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    dedupe_key   TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    stored_at    TEXT,
    error        TEXT
);
CREATE INDEX outbox_unstored ON outbox (stored_at, seq);

ALTER TABLE sessions ADD COLUMN global_id TEXT;
UPDATE sessions SET global_id = (
    SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3)
                 || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3)
                 || '-' || substr(h, 21, 12))
    FROM (SELECT hex(randomblob(16)) AS h, sessions.id AS row_id));
CREATE UNIQUE INDEX sessions_by_global_id ON sessions (global_id);

ALTER TABLE steps ADD COLUMN global_id TEXT;
CREATE UNIQUE INDEX steps_by_global_id ON steps (global_id);
ALTER TABLE ratings ADD COLUMN global_id TEXT;
CREATE UNIQUE INDEX ratings_by_global_id ON ratings (global_id);
ALTER TABLE journal ADD COLUMN global_id TEXT;
CREATE UNIQUE INDEX journal_by_global_id ON journal (global_id);
ALTER TABLE decisions ADD COLUMN global_id TEXT;
CREATE UNIQUE INDEX decisions_by_global_id ON decisions (global_id);

-- Who gave a rating or wrote a journal entry (issue 13): "patient:NAME", "clinician:NAME",
-- "panel" (the station's own buttons). Older rows do not know it (NULL).
ALTER TABLE ratings ADD COLUMN by TEXT;
ALTER TABLE journal ADD COLUMN by TEXT;
