"""The ``ferry`` command: thin commands over the packages, wired together here."""
