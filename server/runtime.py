"""What one server process holds while it runs: config, database, bus, hubs, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import Tokens
from .bus import Bus, create_bus
from .config import Config
from .db.engine import Database
from .domain.rules import Limits
from .realtime.hub import Hubs
from .throttle import Buckets, Penalties, Rate
from .web.guard import AddressGuard


@dataclass
class Runtime:
    config: Config
    db: Database
    bus: Bus
    hubs: Hubs
    tokens: Tokens
    limits: Limits
    # Per-address limits: HTTP sign-ins and code look-ups, and open websockets.
    guard: AddressGuard
    # Writes per token (event, actor), shared by that token's connections on this process.
    token_writes: Buckets[tuple[str, str]] = field(init=False)
    # Tokens (event, actor) closed for flooding, and until when they are refused.
    penalties: Penalties[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.token_writes = Buckets(Rate(self.config.write_rate, self.config.write_burst))
        self.penalties = Penalties()

    @classmethod
    def build(cls, config: Config) -> Runtime:
        db = Database(config.database_url)
        bus = create_bus(config.redis_url)
        limits = Limits(note_max_chars=config.note_max_chars, group_min_size=config.group_min_size)
        hubs = Hubs(
            db,
            bus,
            limits,
            window=config.resume_window_ops,
            tick_s=config.tick_ms / 1000.0,
            work_budget_s=config.draft_work_seconds,
        )
        tokens = Tokens(config.secret, max_age_seconds=config.token_max_age_days * 86400)
        return cls(config, db, bus, hubs, tokens, limits, AddressGuard.from_config(config))

    async def start(self) -> None:
        await self.bus.start(self.hubs.on_message, self.hubs.on_reconnect)

    async def stop(self) -> None:
        from .protocol.frames import resync_frame

        await self.hubs.close(resync_frame("the server is restarting; reconnect and resume"))
        await self.bus.stop()
        await self.db.dispose()
