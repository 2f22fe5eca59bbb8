"""The media worker side of recording (`callcenter media`, docs/recording.md): a plain asyncio
process with aiortc that receives each recorded call's two send-only legs and stores their Opus
packets, undecoded, in one stereo Ogg Opus file. One module per concern, so each can be read and
tested alone:

- `recording_file`: what the core does with a recording's file (repair, duration, sha256, media
  type); with `ogg` under it, the only modules here the core imports (`callcenter.history.
  recordings`), so both are standard library only.
- `ogg`: the container; pages with their CRC, the OpusHead of two uncoupled streams (mapping
  family 1), appending whole pages, cutting the end back, the repair of a torn file.
- `opus`: the Opus packet format; frame sizes, 20 ms packets out of longer ones, self-delimited
  framing for the multistream packet, the silence packet. Pure computation.
- `slots`: each leg's packets placed in the job's 20 ms slots by RTP time (`LegPackets`), the
  two lanes taken out as multistream packets, silence where a leg has none (`SlotPairs`). Pure
  computation, tested with real packets.
- `tap`: the packets taken out of aiortc's receiver as they arrive (`PacketTap`): the part tied
  to aiortc's internals.
- `ice`: ICE candidates from the protocol's form to aiortc's (the Python client's media uses it
  too).
- `worker`: the Socket.IO client (`MediaWorker`, `run_worker`, `python -m
  callcenter.media.worker`): jobs, the legs' peer connections, the flush loop.

Cost. Nothing is decoded or re-encoded: per 20 ms packet a dict insert, per slot a concatenation,
per flush and job one page and one write; the rest is aiortc's receive path
(bench/recording.py, docs/benchmarks.md).

Nothing here imports the server (Flask, Flask-SocketIO, eventlet, the signaling and domain
modules): a worker talks to the core over Socket.IO only. aiortc is imported lazily, when media
arrives, and this file imports nothing, so that importing `callcenter.media.recording_file`
loads no more than that.
"""
