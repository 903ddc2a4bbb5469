"""Whole-state archives: state_save and state_load (and `persona-mcp backup` / `restore`)."""

from core.state.service import LoadResult, SaveResult, StateService

__all__ = ["LoadResult", "SaveResult", "StateService"]
