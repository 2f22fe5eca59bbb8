"""Test plugin: hands each user their own (fake) TURN credential."""

from callcenter import hookimpl


@hookimpl
def callcenter_ice_servers(app_id, user_id):
    return [{"urls": ["turn:turn.invalid:3478"], "username": f"{app_id}:{user_id}",
             "credential": "minted"}]
