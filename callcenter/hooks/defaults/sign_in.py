"""Default console sign-in: the password against the person's ``password_hash`` from the config.

Registered ``trylast`` so that a plugin answering ``callcenter_authenticate`` (a directory, single
sign-on) is asked first.
"""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from callcenter.config import Config
from callcenter.hooks.specs import hookimpl

# Checked when nobody has the id, so that an unknown id takes as long to refuse as a wrong
# password (no way to learn which ids exist by timing).
_NOBODY_HASH = generate_password_hash("nobody has this password")


class PasswordSignIn:
    def __init__(self, config: Config) -> None:
        self.config = config

    def follow_settings(self, config: Config) -> None:
        """Agents and supervisors changed while the server runs: check their new passwords."""
        self.config = config

    @hookimpl(trylast=True)
    def callcenter_authenticate(self, app_id: str, user_id: str, password: str) -> bool:
        app = self.config.app(app_id)
        person = (app.agent(user_id) or app.supervisor(user_id)) if app else None
        hashed = getattr(person, "password_hash", None) or _NOBODY_HASH
        return check_password_hash(hashed, password) and person is not None
