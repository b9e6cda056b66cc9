"""The delegated admin console (``plainpdp console``): server-rendered pages over
the admin service and the engine. It adds no rules of its own: every page and
action is an admin operation the service authorizes with the engine.
"""

from .app import create_app
from .security import CookiePolicy

__all__ = ["CookiePolicy", "create_app"]
