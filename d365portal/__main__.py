"""`python -m d365portal …` is the `d365portal` command."""

from d365portal.cli import main

main()
