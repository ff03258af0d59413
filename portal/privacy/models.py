"""Personal-data controls: break-glass access, retention settings. (Owned by part E.)"""

from __future__ import annotations
