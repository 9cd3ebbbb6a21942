"""Device drivers behind small interfaces, each with a real and a simulated backend.

Nothing here is imported by ``web/``: only the engine process owns hardware handles.
"""
