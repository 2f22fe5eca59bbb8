"""The media worker side of recording (`callcenter media`, docs/recording.md): a plain asyncio
process with aiortc that receives each recorded call's two send-only legs and writes them into one
stereo WAV file. One module per concern, so each can be read and tested alone:

- `wav`: the recording format; the file written by appending, its header kept up to date, the
  repair of a file whose writer died, its sha256. Standard library only: the core's recording
  index (`callcenter.history.recordings`) uses it too, and it is the only module here the core
  imports.
- `mixer`: the sample clock of a job; each leg's audio placed on it by RTP time (`LegAudio`) and
  the two lanes interleaved into stereo (`StereoMixer`). Pure computation, tested with synthetic
  samples.
- `opus`: decoding; libopus through ctypes, straight to mono, in the event loop
  (`InlineDecoder` in place of aiortc's decoder thread). The part tied to native code and to
  aiortc's internals.
- `ice`: ICE candidates from the protocol's form to aiortc's (the Python client's media uses it
  too).
- `worker`: the Socket.IO client (`MediaWorker`, `run_worker`, `python -m
  callcenter.media.worker`): jobs, the legs' peer connections, the flush loop.

Cost. Each leg's Opus is decoded once, straight to mono; then per 20 ms packet one bytearray
splice, and per flush and job one interleave (numpy, or byte slices) and one write. Nothing is
re-encoded and there is no per-sample Python loop (bench/recording.py, docs/benchmarks.md).

Nothing here imports the server (Flask, Flask-SocketIO, eventlet, the signaling and domain
modules): a worker talks to the core over Socket.IO only. aiortc and PyAV are imported lazily,
when media arrives, and this file imports nothing, so that importing `callcenter.media.wav`
loads no more than that.
"""
