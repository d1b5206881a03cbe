"""The shopper-facing display: what the shopper may see (``display.view``), the till-served web
page that shows it live (``display.server``), and where the current state lives
(``display.hub``). Imports nothing else of ours: ``terminal`` translates and feeds it."""
