"""``python -m patron`` runs the CLI."""

from patron.cli import main

# Guarded: a child process started with ``spawn`` (patron.analytics.isolation) may import
# the parent's main module, and must not run the CLI again.
if __name__ == "__main__":
    main()
