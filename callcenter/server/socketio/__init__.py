"""The Socket.IO side: signaling (the adapter around the domain), payload models, the packet
guard."""
