"""Background maintenance inside the server's lifespan: vector index catch-up, decay on an
interval, and pruning of personas that pass the configured size.

Each task runs in the lifespan's task group, so shutdown cancels them cleanly. A failing run is
logged and counted (and recorded in maintenance_runs); the loop carries on. Tool calls never wait
for a background run: they only share the database's write lock for the moment of a commit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import anyio
from anyio.abc import TaskGroup, TaskStatus

from core.access import acting, acting_as, require_admin
from core.clock import Clock, iso
from core.config import Settings
from core.errors import Unavailable
from core.memory import Lifecycle, MemoryService
from core.memory.lifecycle_models import DecayControl, DecayStats

__all__ = ["Maintenance", "Reflect"]

# Reflection on one persona's episodes since a time (core/memory/reflection.py, wired in app.py).
Reflect = Callable[[str, datetime], Awaitable[object]]

logger = logging.getLogger(__name__)

# A failed embedder load is tried again after this long, then at doubling intervals up to the max.
_TRUE = {"1", "true", "yes", "on"}
_EMBEDDER_RETRY_FIRST = 30.0
_EMBEDDER_RETRY_MAX = 900.0


class Maintenance:
    """The background tasks, and the switches decay_start / decay_stop turn."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        memories: MemoryService,
        lifecycle: Lifecycle,
        reflect: Reflect | None = None,
        leads: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._settings = settings
        # Whether this process runs decay, pruning and reflection (on PostgreSQL one worker of
        # many does: PostgresDatabase.leads); alone on its data folder, it always does.
        self._leads = leads
        self._reflect = reflect
        self._clock = clock
        self._memories = memories
        self._lifecycle = lifecycle
        self._group: TaskGroup | None = None
        self._decay_scope: anyio.CancelScope | None = None
        self.interval_seconds = settings.decay_interval_seconds
        self.next_run_at: datetime | None = None

    @property
    def decay_running(self) -> bool:
        return self._decay_scope is not None

    def control(self) -> DecayControl:
        return DecayControl(
            running=self.decay_running, interval_seconds=self.interval_seconds, next_run_at=self.next_run_at
        )

    async def decay_stats(self) -> DecayStats:
        require_admin("decay statistics")
        totals = await self._lifecycle.runs.totals("decay")
        policy = self._lifecycle.policy
        return DecayStats(
            **self.control().model_dump(),
            mode=policy.mode,
            rate=policy.rate,
            kind_rates=dict(policy.kind_rates),
            runs=totals.runs,
            failures=totals.failures,
            memories_decayed=totals.changed,
            last_run=totals.last_run,
            last_error=totals.last_error,
        )

    def describe(self) -> str:
        """One line for system_status."""
        if not self.decay_running:
            return "stopped (memory_decay_start starts it)"
        return f"every {self.interval_seconds:g}s" + (
            f", next at {iso(self.next_run_at)}" if self.next_run_at else ""
        )

    async def run(self) -> None:
        """Load the embedder, then keep the index caught up and decay running, until cancelled."""
        semantic = self._memories.semantic
        s = self._settings
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                if s.decay_enabled:
                    await group.start(self._decay_loop, self.interval_seconds)
                fetch = s.model_download and os.environ.get("HF_HUB_OFFLINE", "").lower() not in _TRUE
                await semantic.slot.load(s.embedder, s.embedding_model, s.ollama_host, s.cache_dir, fetch)
                if semantic.slot.choice is None:
                    group.start_soon(self._retry_embedder)
                if s.reflect_interval_minutes > 0 and self._reflect is not None:
                    group.start_soon(self._reflect_loop, 60 * s.reflect_interval_minutes)
                await semantic.run(self._memories.wait_for_write, s.index_sync_seconds)
            finally:
                self._group = None
                self._decay_scope = None

    async def _reflect_loop(self, interval: float) -> None:
        """Every `interval` seconds, reflect on each persona's episodes since the last round."""
        since = self._clock.now()
        while True:
            await anyio.sleep(interval)
            started = self._clock.now()
            if not await self.leading():
                since = started
                continue
            for persona_id in await self._lifecycle.persona_ids():
                await self._reflect_one(persona_id, since)
            since = started

    def reflect_after(self, persona_ids: list[str]) -> None:
        """A conversation ended: reflect on its personas' episodes of the last day, in the
        background, as the principal that ended it (the facts are its own)."""
        if self._group is None or self._reflect is None or self._settings.reflect_interval_minutes <= 0:
            return
        who, since = acting(), self._clock.now() - timedelta(days=1)

        async def each() -> None:
            with acting_as(who):
                for persona_id in persona_ids:
                    await self._reflect_one(persona_id, since)

        self._group.start_soon(each)

    async def _reflect_one(self, persona_id: str, since: datetime) -> None:
        assert self._reflect is not None
        try:
            await self._reflect(persona_id, since)
        except Exception:  # one persona's failure (a busy database, a vanished persona) is not the loop's
            logger.exception("background reflection on %s failed", persona_id)

    async def _retry_embedder(self) -> None:
        """Fetch all-MiniLM-L6-v2 when it has to come from the hub; else (or when that fails) try
        the embedder again, 30 s after the failed load and then at doubling intervals up to 15
        minutes, until it loads (a model folder repaired, Ollama started, files closed, back
        online)."""
        slot = self._memories.semantic.slot
        delay = _EMBEDDER_RETRY_FIRST
        while True:
            if await slot.fetch():  # at once when the model has to come from the hub
                return
            await anyio.sleep(delay)
            if await slot.retry():
                return
            delay = min(2 * delay, _EMBEDDER_RETRY_MAX)

    async def start_decay(self, interval_seconds: float | None = None) -> DecayControl:
        """Start background decay (or restart it with a new interval); the first run is immediate."""
        require_admin("starting decay")
        if self._group is None:
            raise Unavailable("background maintenance is not running (the server is starting or stopping)")
        if self._decay_scope is not None:
            self._decay_scope.cancel()
            self._decay_scope = None
        await self._group.start(self._decay_loop, interval_seconds or self.interval_seconds)
        return self.control()

    def stop_decay(self) -> DecayControl:
        require_admin("stopping decay")
        if self._decay_scope is not None:
            self._decay_scope.cancel()
        self._decay_scope = None
        self.next_run_at = None
        return self.control()

    async def _decay_loop(
        self, interval: float, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        with anyio.CancelScope() as scope:
            self._decay_scope = scope
            self.interval_seconds = interval
            self.next_run_at = self._clock.now()
            task_status.started()
            # Not while the embedder loads: importing torch holds the GIL for seconds, and a decay
            # transaction begun then would keep other processes' writers waiting all that time.
            await self._memories.semantic.slot.wait_loaded()
            while True:
                await self.run_once()
                self.next_run_at = self._clock.now() + timedelta(seconds=interval)
                await anyio.sleep(interval)

    async def leading(self) -> bool:
        """Whether this process runs the background rounds now (another worker may)."""
        return True if self._leads is None else await self._leads()

    async def run_once(self) -> None:
        """One background round: decay every persona, then prune those over the size limit.
        A failure is logged (and recorded in maintenance_runs); it never ends the loop. A worker
        that does not lead skips it (the leading worker's round covers every persona)."""
        if not await self.leading():
            return
        try:
            await self._lifecycle.decay(trigger="background")
            for persona_id in await self._lifecycle.oversized():
                await self._lifecycle.prune(persona_id, trigger="size")
        except Exception:  # disk full, database locked by another process, ...
            logger.exception("background maintenance run failed; next try in %.0fs", self.interval_seconds)
