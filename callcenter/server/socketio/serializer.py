"""The Socket.IO packet class of our server: JSON only, never binary.

python-socketio checks every outgoing packet for binary attachments (``bytes`` anywhere in the
payload) by walking the whole payload, recursively, with a list built per level: about 3 % of the
server's CPU in the call-setup profile (``Packet.data_is_binary``). Our server never sends binary:
every payload it emits is built by us or was checked by ``wire.encoded_size`` (which refuses
binary) on the way in. Clients' binary packets are still decoded, and refused, by the packet
guard: ``uses_binary_events`` only governs how packets are built for sending.

Passed to python-socketio as its ``serializer`` (a documented option: a ``Packet`` subclass).
"""

from __future__ import annotations

from socketio import packet


class JsonPacket(packet.Packet):
    """A Socket.IO packet whose data is JSON: built for sending without looking for bytes."""

    uses_binary_events = False
