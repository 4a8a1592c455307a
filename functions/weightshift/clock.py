"""The functions' wall clock, in one place.

Handlers read the time here and pass it to the pure domain functions. Keeping one
reader lets the offline emulator's simulation run the functions on the simulated time
it lets pass at Wait states (``weightshift_emulator.patches.SimulatedTime``), so
deadlines, the route queue's deadline and the fail-back fence see the hours a canary
spends baking, not the milliseconds the emulator takes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
