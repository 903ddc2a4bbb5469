"""Interop: character cards, PNG containers, stateful bundles, lorebook files and importers.

This package sits above ``personas/``, ``memory/`` and ``relationships/``: it reads and writes the
formats people bring (SillyTavern, chub, RisuAI, TavernAI cards; World Info; chat exports) and hands
what it reads to those services. Nothing below it imports it.
"""
