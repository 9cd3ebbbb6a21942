"""The app process's logic (no hardware imports): the coordinator and what it composes.

``coordinator`` (what the web layer calls; builds the others and calls them explicitly),
``planner`` (plan, next program, progression), ``recorder`` (engine events -> session
records), ``arming`` (the next program armed, the panel's idle LED, refusals as the
station's fault), ``session_control`` (start, stop, pause, ratings), ``engine_link`` (the
socket to the engine), ``engine_follow`` (the event stream), ``engine_view`` (what the
app knows of the engine, shared), ``catchup`` (events missed while disconnected),
``fanout`` (events to page streams), ``reminders`` and ``status_text``.
"""
