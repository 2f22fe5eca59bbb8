"""Extension points: the hook specs, the plugin host that loads and calls plugins, the built-in
defaults, and the services the server lends plugins."""
