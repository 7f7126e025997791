"""One module per API area; each exposes ``register(app, services)``."""
