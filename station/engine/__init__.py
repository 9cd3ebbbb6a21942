"""The stimulus engine: the one process that owns every hardware handle and plays programs.

Modules: ``render`` (pure segment -> setpoint), ``brushpath`` (the brush arm's motion on
and off the skin, laid out and rendered), ``loop`` (absolute-deadline ticker and
timing statistics), ``rt`` (real-time scheduling, best effort), ``core`` (the state
machine and the loop), ``commands`` (what each queued command does, given the engine),
``messages`` (typed events and status), ``registry`` and ``params`` (IPC methods
registered once with their parameters' models), ``service`` (the IPC methods),
``panel_control`` (buttons -> commands, LED patterns), ``watchdog``, ``sdnotify``,
``ipc`` (Unix-socket server and client), ``process`` (engine main) and ``bench``.
Words (states, stop reasons, event names, LED patterns) come from ``station.vocab``.
"""
