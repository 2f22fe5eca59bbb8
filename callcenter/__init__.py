"""callcenter: a self-hosted, plugin-based WebRTC contact-center backend.

A plugin imports what it uses from ``callcenter.plugin`` (docs/plugins.md, "The plugin API");
``from callcenter import hookimpl`` is the same marker.
"""

from callcenter.hooks.specs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
