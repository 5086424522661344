"""End-to-end scenarios against a real Letta 0.16.8 server; opt-in, run by ``nox -s e2e``."""
