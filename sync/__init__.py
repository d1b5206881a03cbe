"""The wire protocol, the till's sync client and the head office's reference loyalty API.
Imports loyalty only."""
