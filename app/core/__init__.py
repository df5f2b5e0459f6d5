"""Cross-cutting building blocks. Imports no domain package."""
