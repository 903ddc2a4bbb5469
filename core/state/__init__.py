"""Whole-state archives: state.save and state.load (and `persona-mcp backup` / `restore`)."""

from core.state.service import LoadResult, SaveResult, StateService

__all__ = ["LoadResult", "SaveResult", "StateService"]
