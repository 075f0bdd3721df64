"""Moved to `core.hub` (the Hub client is used by data and models alike, so it lives below both).

This name stays only for code written before the move: it IS `core.hub` (the same module object), so
monkeypatching either name patches both. New code imports `core.hub`.
"""

import sys

from core import hub as _hub

sys.modules[__name__] = _hub
