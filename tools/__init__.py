"""Development tools (code generation); not part of the installed package."""
