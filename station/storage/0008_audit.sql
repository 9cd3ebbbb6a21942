-- Schema version 8: who changed what (issue 14, "an audit of who changed what").
-- * audit: one row per change a person made that the record does not already keep with
--   its author: the plan assigned, caps, the patient's settings, sites, accounts (created,
--   disabled, enabled, password reset) and patients (added, chosen). Rankings,
--   thresholds and level changes already keep who and when in their own tables
--   (rankings.by, thresholds.by, level_history.reason) and are not copied here; the
--   clinician's audit view reads all of them together.
-- * patient_id: the patient the change was for (NULL: the station's, e.g. an account of a
--   clinician). detail_json: what changed, as {"field": [before, after]}. Never updated.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    patient_id  INTEGER REFERENCES patients (id),
    what        TEXT NOT NULL CHECK (what IN
                  ('plan', 'caps', 'settings', 'sites', 'account', 'patient')),
    summary     TEXT NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail_json))
);
CREATE INDEX audit_by_patient ON audit (patient_id, id);
CREATE TRIGGER audit_never_updated BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit is never rewritten'); END;
