"""`python -m server` is the same as the `sopu` command."""

from .cli import main

main()
