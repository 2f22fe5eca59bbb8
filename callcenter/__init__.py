"""callcenter: a self-hosted, plugin-based WebRTC contact-center backend.

A plugin needs one import: ``from callcenter import hookimpl``.
"""

from callcenter.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
