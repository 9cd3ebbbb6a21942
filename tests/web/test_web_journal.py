"""The patient reads their own journal (GET /api/journal, /journal) and the notes their
clinician keeps on their record (issue 14: "the clinician's patient notes never reach
the patient; a patient cannot read their own journal")."""

from __future__ import annotations

import re


def _hidden(html: str, element_id: str) -> bool:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', html)
    assert tag, f"#{element_id} is not on the page"
    return re.search(r"\shidden(\s|>|=)", tag.group(0)) is not None


def test_the_patient_reads_back_what_they_wrote_newest_first(patient) -> None:
    for text, trigger in (("Burning after typing", "typing"), ("Calmer today", None)):
        r = patient.post("/api/journal", json={"text": text, "trigger": trigger})
        assert r.status_code == 201, r.get_json()
    got = patient.get("/api/journal").get_json()
    assert [(e["text"], e["trigger"]) for e in got["entries"]] == [
        ("Calmer today", None), ("Burning after typing", "typing")]  # fmt: skip
    assert [e["text"] for e in patient.get("/api/journal?limit=1").get_json()["entries"]] == [
        "Calmer today"
    ]
    page = patient.get("/journal").get_data(as_text=True)
    assert page.index("Calmer today") < page.index("Burning after typing")
    assert "trigger: typing" in page


def test_the_journal_needs_a_login_and_a_sane_limit(app, patient) -> None:
    anon = app.test_client()
    assert anon.get("/api/journal").status_code == 401
    assert anon.get("/journal").status_code in (302, 401)
    r = patient.get("/api/journal?limit=0")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "limit"


def test_the_clinicians_notes_reach_the_patient(patient, coord) -> None:
    page = patient.get("/").get_data(as_text=True)
    assert _hidden(page, "clinician-notes")  # none written yet: nothing shown
    assert patient.get("/api/journal").get_json()["clinician_notes"] is None
    note = "Keep the pad on the edge of the sore area.\nStop at 7 or above."
    coord.store.patients.update(coord.store.patient_id, notes=note)
    assert patient.get("/api/journal").get_json()["clinician_notes"] == note
    for path in ("/", "/journal"):
        page = patient.get(path).get_data(as_text=True)
        assert not _hidden(page, "clinician-notes"), path
        assert "Keep the pad on the edge of the sore area." in page, path
