"""``python -m itsmcore`` runs the ``itsm`` command line."""

from .cli import main

main()
