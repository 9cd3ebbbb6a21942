"""The body map of the sensitive zone: outline catalogue and area (issue 16)."""
