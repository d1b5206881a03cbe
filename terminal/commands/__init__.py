"""One module per ``till`` sub-command; each has ``register(subparsers)``."""
