"""Receipts: a Receipt document, its layout at 58/80 mm, text or raster rendering, ESC/POS output
through python-escpos, and a print queue that never loses a sale. Imports nothing else of ours."""
