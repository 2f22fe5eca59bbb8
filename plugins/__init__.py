"""Stock plugins shipped with callcenter, installed as the package ``callcenter_plugins``.

Each module is one plugin, registered under the entry-point group ``callcenter.plugins`` so an
operator enables it by its short name in ``[plugins] enable``.
"""
