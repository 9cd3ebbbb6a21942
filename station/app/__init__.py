"""The app process's logic (no hardware imports): the coordinator and what it composes.

``coordinator`` (what the web layer calls), ``planner`` (plan, next program, progression),
``recorder`` (engine events -> session records), ``session_control`` (start, stop, pause,
ratings), ``engine_link`` (the socket to the engine), ``engine_follow`` (the event
stream), ``catchup`` (events missed while disconnected), ``fanout`` (events to page
streams), ``reminders`` and ``status_text``.
"""
