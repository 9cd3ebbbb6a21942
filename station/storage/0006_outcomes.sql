-- Schema version 6: the body map of the sensitive zone and outcome measures on a schedule
-- (issue 16; Spicher's allodynography re-maps the zone over weeks).
-- * body_maps: one drawing of the sensitive zone, never updated: closed polygons in the
--   outline's own coordinates (JSON: [[[x, y], ...], ...]), the outline drawn on (front,
--   back, hand-left, hand-right), the calibration that scales it (the landmark, the length
--   measured on the patient in cm, the outline units it spans) and the area in cm^2 the
--   station computed from them (the polygons' union), who drew it and when.
-- * outcome_schedule: which measures the clinician wants and how often (every N days);
--   one row per (patient, measure), replaced when the clinician changes it.
-- * outcome_entries: what the patient reports: VAS 0-100 at rest / in use / on touch, a
--   flare (with a note), a medication taken (name, dose). Never updated.
-- * Owned by a patient as every table since version 4. These tables are new, so
--   patient_id is NOT NULL in the table itself (0004 needed triggers only for columns
--   added with ALTER TABLE).

CREATE TABLE body_maps (
    id               INTEGER PRIMARY KEY,
    patient_id       INTEGER NOT NULL REFERENCES patients (id),
    at               TEXT NOT NULL,
    outline          TEXT NOT NULL
                     CHECK (outline IN ('front', 'back', 'hand-left', 'hand-right')),
    shapes_json      TEXT NOT NULL,
    calibration_json TEXT NOT NULL,
    area_cm2         REAL NOT NULL CHECK (area_cm2 >= 0),
    note             TEXT NOT NULL DEFAULT '',
    by               TEXT
);
CREATE INDEX body_maps_by_patient ON body_maps (patient_id, outline, at);

CREATE TABLE outcome_schedule (
    patient_id  INTEGER NOT NULL REFERENCES patients (id),
    measure     TEXT NOT NULL CHECK (measure IN ('vas', 'zone_area', 'detection_threshold',
                                                 'discrimination')),
    every_days  INTEGER NOT NULL CHECK (every_days BETWEEN 1 AND 365),
    since       TEXT NOT NULL,
    by          TEXT,
    PRIMARY KEY (patient_id, measure)
);

CREATE TABLE outcome_entries (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('vas', 'flare', 'medication')),
    vas_rest    INTEGER CHECK (vas_rest BETWEEN 0 AND 100),
    vas_use     INTEGER CHECK (vas_use BETWEEN 0 AND 100),
    vas_touch   INTEGER CHECK (vas_touch BETWEEN 0 AND 100),
    medication  TEXT,
    dose        TEXT,
    note        TEXT NOT NULL DEFAULT '',
    by          TEXT,
    CHECK (kind != 'vas' OR coalesce(vas_rest, vas_use, vas_touch) IS NOT NULL),
    CHECK (kind = 'vas' OR (vas_rest IS NULL AND vas_use IS NULL AND vas_touch IS NULL)),
    CHECK ((kind = 'medication') = (medication IS NOT NULL))
);
CREATE INDEX outcome_entries_by_patient ON outcome_entries (patient_id, kind, at);
