"""The adapters: the Flask app factory, the eventlet entry point, Socket.IO and HTTP."""
