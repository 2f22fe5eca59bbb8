"""Built-in default plugins: callcenter's own behaviour, replaceable from config."""
