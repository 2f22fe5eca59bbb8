"""Test plugin: takes its time to start (as one connecting to a slow service would)."""

import logging
import time

from callcenter import hookimpl

log = logging.getLogger("slow_start")


@hookimpl
def callcenter_startup():
    log.info("slow_start: starting")
    time.sleep(10)
