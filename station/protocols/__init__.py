"""Clinician protocols: model, validation, built-in library, compiler, progression.

Public API (import from the submodules named):

``station.protocols.model``
    ``Protocol`` (pydantic; ``.ladder(name)``, ``.progression_for(name)``), ``Ladder``,
    ``Level``, step models, ``Caps``, ``Progression``, ``protocol_json_schema() -> dict``.
``station.protocols.load``
    ``load_file(path, *, wiring=None) -> Protocol``;
    ``load_text(raw, *, fmt: "toml"|"json", source: str, wiring=None) -> Protocol``;
    ``validate_data(data: dict, *, source, wiring=None) -> Protocol``; all raise
    ``ConfigError`` with every problem. ``protocol_hash(p) -> str`` (sha256 of
    ``canonical_json(p)``).
``station.protocols.settings``
    ``PatientSettings`` (intensity_percent, brush_speed_cm_s, reminder_times ["HH:MM"],
    detection_thresholds {actuator: fraction}, rankings {ladder: [item ids]});
    ``check_settings(protocol, settings, wiring=None) -> list[Problem]``;
    ``check_ranking(protocol, ladder, ranking) -> list[Problem]``.
``station.protocols.compiler``
    ``compile_program(protocol, *, level: int, wiring, settings=None, ladder=None,
    ranking=None) -> station.program.Program`` (raises ``ConfigError``);
    ``ordered_levels(protocol, ladder, ranking) -> list[Level]``.
``station.protocols.progression``
    ``SessionResult(at, level_index, completed, ratings, stopped_by_rating)``;
    ``decide(rule: Progression, history, *, current_level, level_count) -> Decision``
    with ``Decision(action "advance"|"hold"|"back", from_level, to_level, reason)``.
``station.protocols.library``
    ``import_text(data_dir, raw, *, fmt, source, wiring=None) -> ImportResult`` (raises
    ``ConfigError`` or ``Conflict``); ``import_file(data_dir, path, *, wiring=None)``;
    ``list_protocols(data_dir, *, include_builtin=True) -> list[StoredProtocol]``;
    ``find_protocol(data_dir, id, version=None) -> StoredProtocol``;
    ``get_protocol(data_dir, id, version=None) -> Protocol`` (raises ``NotFound``);
    ``import_drop_folder(data_dir, *, wiring=None) -> DropReport`` (call at start-up);
    ``install_builtins(data_dir, *, wiring=None) -> DropReport``; ``builtin_paths()``.
``station.protocols.effects``
    ``resolve_effect(name_or_id) -> int``, ``effect(id) -> Effect``, ``all_effects()``.
``station.protocols.describe``
    ``render_ladders(protocol) -> str``, ``render_timeline(program) -> str``.
"""
