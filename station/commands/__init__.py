"""Subcommands of ``station``; each module has ``register(subparsers)``."""
