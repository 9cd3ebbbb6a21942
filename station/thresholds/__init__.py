"""Measured sensory thresholds: the adaptive procedures (``procedure``), pure logic."""
