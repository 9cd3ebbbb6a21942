"""The clinic hub: the message contract (messages.py), MQTT ingest (ingest.py), storage for
SQLite or PostgreSQL (store.py, schema.py), the broker's config (brokerconf.py, tlsca.py),
alarms, export (CSV, JSON, FHIR), pushes, the simulated station and the benchmark. No Flask
here: the page is web/hub/."""
