"""The Raspberry Pi installer: ``plan`` (what to change, pure), ``host`` (doing it),
``boot_config`` (config.txt), ``installer`` (the run: explain, ask, apply, report)."""
