"""The Python client (asyncio): ``CallClient`` speaks the protocol of docs/protocol.md; with the
``media`` extra, ``callcenter.client.media`` adds aiortc audio and video."""

from callcenter.client.call_client import CallClient, CallClientError

__all__ = ["CallClient", "CallClientError"]
