-- Schema version 2: progression and adherence.
-- * Levels move out of plan.levels_json into plan_levels (one row per ladder) so that a
--   progression decision can change one ladder's level in the same transaction that
--   records the decision, and every change lands in level_history with its reason.
-- * Sessions learn their ladder, their level's name and the limits they were armed under
--   (sessions per day, minimum gap), so adherence can be reported against what was
--   prescribed at the time rather than today's protocol.
-- * decisions: one progression decision per finished session, with its reason.
-- * reminders: each reminder shown, for the adherence log.

CREATE TABLE plan_levels (
    ladder     TEXT PRIMARY KEY,
    level      INTEGER NOT NULL CHECK (level >= 0),
    updated_at TEXT NOT NULL
);
INSERT INTO plan_levels (ladder, level, updated_at)
    SELECT j.key, CAST(j.value AS INTEGER), plan.updated_at
    FROM plan, json_each(plan.levels_json) AS j;
ALTER TABLE plan DROP COLUMN levels_json;

CREATE TABLE level_history (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    ladder     TEXT NOT NULL,
    from_level INTEGER,
    to_level   INTEGER NOT NULL CHECK (to_level >= 0),
    reason     TEXT NOT NULL,
    session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL
);
-- What version 1 knew about levels becomes the first history entry of each ladder.
INSERT INTO level_history (at, ladder, from_level, to_level, reason)
    SELECT updated_at, ladder, NULL, level, 'level as stored before progression was recorded'
    FROM plan_levels;

ALTER TABLE sessions ADD COLUMN ladder TEXT NOT NULL DEFAULT 'main';
ALTER TABLE sessions ADD COLUMN level_name TEXT;
ALTER TABLE sessions ADD COLUMN sessions_per_day INTEGER
    CHECK (sessions_per_day IS NULL OR sessions_per_day >= 1);
ALTER TABLE sessions ADD COLUMN min_gap_minutes INTEGER
    CHECK (min_gap_minutes IS NULL OR min_gap_minutes >= 0);

CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    ladder     TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_level INTEGER NOT NULL CHECK (from_level >= 0),
    to_level   INTEGER NOT NULL CHECK (to_level >= 0),
    reason     TEXT NOT NULL
);

CREATE TABLE reminders (
    id   INTEGER PRIMARY KEY,
    at   TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX reminders_by_time ON reminders (at);
