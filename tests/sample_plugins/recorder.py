"""Test plugin: writes what it is told to a JSON Lines file named in its settings."""

import json

from callcenter import hookimpl

_path = None


def _write(record):
    with open(_path, "a") as f:
        f.write(json.dumps(record) + "\n")


@hookimpl
def callcenter_startup(config, settings):
    global _path
    _path = settings["path"]
    _write({"hook": "startup", "settings": settings, "apps": [a.id for a in config.apps]})


@hookimpl
def callcenter_call_event(event):
    _write({"hook": "call_event", **event.as_dict()})


@hookimpl
def callcenter_shutdown():
    _write({"hook": "shutdown"})


@hookimpl
def callcenter_recording_ready(recording):
    _write({"hook": "recording_ready", **recording})
