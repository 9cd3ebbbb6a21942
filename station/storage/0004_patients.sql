-- Schema version 4: several patients per station (issue 14).
-- * patients: one row per patient record: a pseudonymous global id (a UUID, what the
--   clinic hub sync will carry instead of a name), the display name the clinician chose,
--   the clinician's notes, the enrolment day and an archived flag (never deleted: the
--   record stays).
-- * Everything a patient owns names its patient: the plan (one per patient: the plan
--   table is rebuilt, its single-row CHECK (id = 1) goes), plan_levels (rebuilt: its key
--   becomes (patient, ladder)), level_history, sessions (ratings, steps and transitions
--   through their session), journal, reminders, decisions, rankings, thresholds.
-- * users.patient_id: the patient record a patient account belongs to (clinicians: none).
-- * What a version-3 station holds belongs to its one patient: "Patient 1" (id 1), made
--   here on every station (a home station has exactly one patient; a clinic renames it
--   or adds more), and its patient accounts are linked to it.
-- Columns added with ALTER TABLE cannot be NOT NULL with a foreign key while foreign
-- keys are enforced, and rebuilding sessions would cascade into its ratings; so they are
-- nullable references and a trigger per table refuses a row without its patient.

CREATE TABLE patients (
    id           INTEGER PRIMARY KEY,
    global_id    TEXT NOT NULL UNIQUE CHECK (length(global_id) = 36),
    display_name TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    enrolled_on  TEXT NOT NULL,   -- YYYY-MM-DD
    created_at   TEXT NOT NULL,
    archived     INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
);

INSERT INTO patients (id, global_id, display_name, notes, enrolled_on, created_at)
    SELECT 1,
           lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3)
                 || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3)
                 || '-' || substr(h, 21, 12)),
           'Patient 1', '', substr(coalesce(first_at, now_at), 1, 10), now_at
    FROM (SELECT hex(randomblob(16)) AS h,
                 strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') AS now_at,
                 (SELECT min(t) FROM (SELECT min(at) AS t FROM level_history
                                      UNION ALL SELECT min(created_at) FROM sessions
                                      UNION ALL SELECT min(updated_at) FROM plan)) AS first_at);

CREATE TABLE plan_v4 (
    patient_id       INTEGER PRIMARY KEY REFERENCES patients (id),
    protocol_id      TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    ranking_json     TEXT NOT NULL DEFAULT '{}',
    settings_json    TEXT NOT NULL DEFAULT '{}',
    updated_at       TEXT NOT NULL,
    revision         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO plan_v4 (patient_id, protocol_id, protocol_version, ranking_json, settings_json,
                     updated_at, revision)
    SELECT 1, protocol_id, protocol_version, ranking_json, settings_json, updated_at, revision
    FROM plan;
DROP TABLE plan;
ALTER TABLE plan_v4 RENAME TO plan;

CREATE TABLE plan_levels_v4 (
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    ladder     TEXT NOT NULL,
    level      INTEGER NOT NULL CHECK (level >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (patient_id, ladder)
);
INSERT INTO plan_levels_v4 (patient_id, ladder, level, updated_at)
    SELECT 1, ladder, level, updated_at FROM plan_levels;
DROP TABLE plan_levels;
ALTER TABLE plan_levels_v4 RENAME TO plan_levels;

ALTER TABLE level_history ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE sessions ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE journal ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE reminders ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE decisions ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE rankings ADD COLUMN patient_id INTEGER REFERENCES patients (id);
ALTER TABLE thresholds ADD COLUMN patient_id INTEGER REFERENCES patients (id);
UPDATE level_history SET patient_id = 1;
UPDATE sessions SET patient_id = 1;
UPDATE journal SET patient_id = 1;
UPDATE reminders SET patient_id = 1;
UPDATE decisions SET patient_id = 1;
UPDATE rankings SET patient_id = 1;
UPDATE thresholds SET patient_id = 1;

CREATE INDEX level_history_by_patient ON level_history (patient_id, id);
CREATE INDEX sessions_by_patient ON sessions (patient_id, id);
CREATE INDEX journal_by_patient ON journal (patient_id, id);
CREATE INDEX reminders_by_patient ON reminders (patient_id, at);
CREATE INDEX decisions_by_patient ON decisions (patient_id, session_id);
CREATE INDEX rankings_by_patient ON rankings (patient_id, ladder, at);
CREATE INDEX thresholds_by_patient ON thresholds (patient_id, actuator, at);

CREATE TRIGGER level_history_patient BEFORE INSERT ON level_history
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'level_history.patient_id is required'); END;
CREATE TRIGGER sessions_patient BEFORE INSERT ON sessions
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'sessions.patient_id is required'); END;
CREATE TRIGGER journal_patient BEFORE INSERT ON journal
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'journal.patient_id is required'); END;
CREATE TRIGGER reminders_patient BEFORE INSERT ON reminders
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'reminders.patient_id is required'); END;
CREATE TRIGGER decisions_patient BEFORE INSERT ON decisions
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'decisions.patient_id is required'); END;
CREATE TRIGGER rankings_patient BEFORE INSERT ON rankings
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'rankings.patient_id is required'); END;
CREATE TRIGGER thresholds_patient BEFORE INSERT ON thresholds
    WHEN NEW.patient_id IS NULL BEGIN SELECT RAISE(ABORT, 'thresholds.patient_id is required'); END;
-- A session's patient never changes (its ratings, steps and journal follow it).
CREATE TRIGGER sessions_patient_fixed BEFORE UPDATE OF patient_id ON sessions
    WHEN NEW.patient_id IS NOT OLD.patient_id
    BEGIN SELECT RAISE(ABORT, 'a session keeps its patient'); END;

ALTER TABLE users ADD COLUMN patient_id INTEGER REFERENCES patients (id);
UPDATE users SET patient_id = 1 WHERE role = 'patient';
CREATE TRIGGER users_patient_link BEFORE INSERT ON users
    WHEN (NEW.role = 'patient') != (NEW.patient_id IS NOT NULL)
    BEGIN SELECT RAISE(ABORT, 'a patient account belongs to one patient; a clinician to none'); END;
