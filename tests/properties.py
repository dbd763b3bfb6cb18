"""Hypothesis profiles: how hard the property tests look.

``HYPOTHESIS_PROFILE=ci`` (the default, and what CI runs) draws every property's own
number of examples, as the suite has always run them; ``dev`` draws a fifth of them (at
least 3), for a quick run while working. A property names its number once, through
:func:`examples`; deadlines and the health checks that slow stores trip are the
profiles', not each test's.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SLOW_STORES = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
]
"""Examples that write to a store are slow by nature; a fixture that makes a store once per
test (not per example) is what the property means."""

settings.register_profile("ci", deadline=None, suppress_health_check=SLOW_STORES)
settings.register_profile("dev", deadline=None, suppress_health_check=SLOW_STORES)
settings.load_profile(PROFILE)


def examples(ci: int) -> int:
    """The number of examples a property draws under the profile in force."""
    if PROFILE == "dev":
        return max(3, ci // 5)
    return ci
