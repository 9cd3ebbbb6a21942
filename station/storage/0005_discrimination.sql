-- Schema version 5: tactile discrimination training (issue 16, Moseley et al., Pain 2009).
-- * discrimination_trials: one row per stimulus of a discriminate step: which site (and
--   which probe) the engine drove, what the patient named, whether that was correct or
--   missed (no answer before the answer window closed). Never updated once its answer
--   or its miss is recorded; the score per block, per site and over weeks is read from it.
-- * Owned by a patient as every table since version 4: patient_id with a trigger that
--   refuses a row without it (see 0004); the session it belongs to names the same patient.

CREATE TABLE discrimination_trials (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (id),
    session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    step_index      INTEGER NOT NULL CHECK (step_index >= 0),
    block           INTEGER NOT NULL CHECK (block >= 0),
    trial_index     INTEGER NOT NULL CHECK (trial_index >= 0),
    site            TEXT NOT NULL,
    probe           TEXT,
    answered_site   TEXT,
    answered_probe  TEXT,
    correct         INTEGER NOT NULL DEFAULT 0 CHECK (correct IN (0, 1)),
    missed          INTEGER NOT NULL DEFAULT 0 CHECK (missed IN (0, 1)),
    at              TEXT NOT NULL,
    CHECK (NOT (correct = 1 AND missed = 1)),
    CHECK ((missed = 1) = (answered_site IS NULL)),
    UNIQUE (session_id, step_index, trial_index)
);
CREATE INDEX discrimination_by_patient ON discrimination_trials (patient_id, at);
CREATE INDEX discrimination_by_session ON discrimination_trials (session_id, step_index, trial_index);

CREATE TRIGGER discrimination_trials_patient BEFORE INSERT ON discrimination_trials
    WHEN NEW.patient_id IS NULL
    BEGIN SELECT RAISE(ABORT, 'discrimination_trials.patient_id is required'); END;
-- A trial belongs to its session's patient.
CREATE TRIGGER discrimination_trials_session_patient BEFORE INSERT ON discrimination_trials
    WHEN NEW.patient_id IS NOT (SELECT patient_id FROM sessions WHERE id = NEW.session_id)
    BEGIN SELECT RAISE(ABORT, 'a discrimination trial belongs to its session''s patient'); END;
