"""The till: the Textual app and the ``till`` command line. Wires loyalty, scanner, printer and
sync together; the only package that imports textual; owns the translation layer (i18n)."""
