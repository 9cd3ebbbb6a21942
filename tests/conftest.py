"""Settings for the whole suite: cheap password hashing, Hypothesis profiles, and no
station process outliving the run.

- Passwords: argon2's cheapest parameters (``STATION_TEST_CHEAP_HASH``, read by
  web/security.py; production keeps argon2-cffi's defaults). Set in the environment, so
  the station processes a test starts hash cheaply too.
- Hypothesis: profile ``ci`` (derandomized, no deadline, no example database: the same
  examples on every run, no flake from a busy machine) when ``CI=true``, else ``dev`` (random,
  no deadline); ``HYPOTHESIS_PROFILE`` chooses explicitly.
- Processes: tests start station processes through tests/procs.py (own process group,
  registered); whatever is still registered when the session ends is killed here, and a
  reaper process kills it even when pytest-timeout ends the run with ``os._exit``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests import procs

os.environ["STATION_TEST_CHEAP_HASH"] = "1"

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")
)


def pytest_sessionfinish(session, exitstatus):
    procs.kill_all()
