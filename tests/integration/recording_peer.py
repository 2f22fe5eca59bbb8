"""A customer with real media in a process of its own, so a test can kill it outright (a tab
that crashes or a network that vanishes: no hangup, no closing of peer connections).

    python recording_peer.py URL APP USER TOKEN QUEUE FREQUENCY

Joins QUEUE with an audio call playing a FREQUENCY Hz tone, prints one JSON line
`{"callId": ..., "recorded": ...}`, answers the agent's offer and the recorder's `record_start`
(callcenter.client.media does both) and then waits to be killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from callcenter.client.call_client import AUDIO_CALL, CallClient
from callcenter.client.media import CallMedia
from callcenter.testing.tracks import tone_tracks


async def main(url: str, app: str, user: str, token: str, queue: str, frequency: int) -> None:
    client = CallClient(url, app)
    await client.login(user, token)
    media = CallMedia(client, tracks=tone_tracks(frequency))
    ack = await client.enqueue(queue, AUDIO_CALL)
    print(json.dumps({"callId": ack["callId"], "recorded": ack.get("recorded")}), flush=True)
    call_id = ack["callId"]
    await client.next_event("user_enter", timeout=30, callId=call_id)
    await media.wait_recording(call_id, timeout=30)
    print(json.dumps({"recording": True}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, app, user, token, queue, frequency = sys.argv[1:7]
    asyncio.run(main(url, app, user, token, queue, int(frequency)))
