"""``python -m mediajobs_client``: the ``mediajobs`` command."""

from mediajobs_client.cli import main

main()
