-- Schema version 3: the patient's ranking history and measured detection thresholds.
-- * rankings: every ranking recorded (at intake or re-ranked at a visit), never updated;
--   the plan's settings hold the ranking in force, this table keeps how it changed.
-- * thresholds: every measured detection threshold per actuator, with its method and the
--   trials it took, so a threshold can be repeated as an outcome measure over weeks.

CREATE TABLE rankings (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    ladder     TEXT NOT NULL,
    order_json TEXT NOT NULL,
    context    TEXT NOT NULL CHECK (context IN ('intake', 'visit')),
    by         TEXT
);
CREATE INDEX rankings_by_ladder ON rankings (ladder, at);

CREATE TABLE thresholds (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actuator    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('detection', 'tolerance')),
    value       REAL NOT NULL CHECK (value > 0 AND value <= 1),
    method      TEXT NOT NULL,
    trials      INTEGER NOT NULL CHECK (trials >= 0),
    detail_json TEXT NOT NULL DEFAULT '{}',
    by          TEXT
);
CREATE INDEX thresholds_by_actuator ON thresholds (actuator, at);

-- Accounts (issue 13): a clinician can disable an account, and every live session of an
-- account ends when it logs out, is disabled or has its password reset: the login cookie
-- carries the session epoch it was issued under, and a bumped epoch refuses it.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- No lost updates (issue 13): every change of the plan bumps its revision, and a write
-- made from a plan read at an older revision is refused, so a clinician's cap and a
-- patient's setting saved at the same moment can never silently undo one another.
ALTER TABLE plan ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
