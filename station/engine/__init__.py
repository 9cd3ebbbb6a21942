"""The stimulus engine: the one process that owns every hardware handle and plays programs.

Modules: ``render`` (pure segment -> setpoint), ``loop`` (absolute-deadline ticker and
timing statistics), ``rt`` (real-time scheduling, best effort), ``core`` (the state
machine), ``panel_control`` (buttons -> commands, LED patterns), ``watchdog``,
``sdnotify``, ``ipc`` (Unix-socket server and client), ``process`` (engine main) and
``bench``.
"""
