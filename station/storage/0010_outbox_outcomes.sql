-- Schema version 10: outcome measures reported to the clinic hub (issues 15 and 16).
-- * outbox.kind also allows 'outcome': a VAS entry (0-100 mm at rest / in use / on touch),
--   a flare (with its note), a body map's zone area (cm^2, per outline) and a session's
--   discrimination score (trials, correct, missed), each queued in the same transaction
--   as the record it reports (station/storage/outbox_outcomes.py). Medication entries
--   stay at the station.
-- * SQLite cannot change a CHECK in place: the table is rebuilt with every row kept
--   (seq, global ids, publish and store marks), inside this migration's transaction.
--   Each outcome row is queued once by its dedupe_key ("outcome:<table>:<id>"), so no
--   global_id columns are needed on the reported tables.

CREATE TABLE outbox_v10 (
    seq          INTEGER PRIMARY KEY,
    global_id    TEXT NOT NULL UNIQUE CHECK (length(global_id) = 36),
    kind         TEXT NOT NULL CHECK (kind IN
                   ('session', 'step', 'rating', 'journal', 'decision', 'adherence', 'fault',
                    'ack', 'outcome')),
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    dedupe_key   TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    stored_at    TEXT,
    error        TEXT
);
INSERT INTO outbox_v10 (seq, global_id, kind, payload, dedupe_key, created_at, published_at,
                        stored_at, error)
    SELECT seq, global_id, kind, payload, dedupe_key, created_at, published_at, stored_at, error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v10 RENAME TO outbox;
CREATE INDEX outbox_unstored ON outbox (stored_at, seq);
