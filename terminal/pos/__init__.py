"""Beside the shop's POS: the till's local API a POS calls (identify a member, what they can
redeem, a sale with the POS's own id, a refund by it, the loyalty block to print) and, later,
the receipt-printer bridge. One job per file; started by ``till api``, ``till run`` and
``till demo`` when ``[pos_api]`` is configured."""
