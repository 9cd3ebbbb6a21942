"""Adherence for the hub: one record per patient and finished local day (sessions
completed against sessions prescribed that day, ``store.progress.adherence``), queued once
(the outbox's dedupe key) for the days since the last one queued, at most ``DAYS_BACK``
days back. Days before a patient's plan began prescribe nothing and are not reported.
"""

from __future__ import annotations

from datetime import timedelta

from station.storage.limits import day_start, local
from station.storage.outbox_queue import OutboxQueue
from station.storage.store import Store

DAYS_BACK = 14


def queue_adherence(store: Store, outbox: OutboxQueue, *, days_back: int = DAYS_BACK) -> int:
    """Queue the finished days not queued yet; returns how many records were queued."""
    today = local(store.now(), store.tz).date()
    first, last = today - timedelta(days=days_back), today - timedelta(days=1)
    queued = 0
    for patient in store.patients.list():
        days = store.for_patient(patient.id).progress.adherence(first, last, sessions_per_day=None)
        for day in days:
            if day.prescribed is None:
                continue
            added = outbox.add_adherence(
                patient_global_id=patient.global_id,
                day=day.day,
                done=min(day.completed, 100),
                prescribed=min(day.prescribed, 100),
                at=day_start(day.day + timedelta(days=1), store.tz),
            )
            queued += added is not None
    return queued
