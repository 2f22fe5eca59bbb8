"""Test plugin: a directory (as LDAP would be) that knows the passwords of some agents.

Settings: `passwords` maps agent ids to the directory's password; an agent it does not know is
left to the next answer (the built-in password check); `down = true` makes it fail as an
unreachable directory would.
"""

from callcenter import hookimpl

_directory: dict = {}


@hookimpl
def callcenter_startup(config, settings):
    _directory.clear()
    _directory.update(settings)


@hookimpl
def callcenter_authenticate(app_id, user_id, password):
    if _directory.get("down"):
        raise ConnectionError("the directory does not answer")
    known = _directory.get("passwords", {})
    if user_id not in known:
        return None
    return password == known[user_id]
