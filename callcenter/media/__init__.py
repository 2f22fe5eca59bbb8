"""The media worker side of recording (`callcenter media`): aiortc, Opus decoding, mixing, WAV.

Nothing here imports the server (Flask, Flask-SocketIO, eventlet, the signaling and domain
modules): a worker is a plain asyncio process that talks to the core over Socket.IO only.
"""
