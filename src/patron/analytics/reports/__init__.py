"""The built-in reports, one module each."""
