"""What one server process holds while it runs: config, database, bus, hubs, tokens."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import Tokens
from .bus import Bus, create_bus
from .config import Config
from .db.engine import Database
from .domain.rules import Limits
from .realtime.hub import Hubs


@dataclass
class Runtime:
    config: Config
    db: Database
    bus: Bus
    hubs: Hubs
    tokens: Tokens
    limits: Limits

    @classmethod
    def build(cls, config: Config) -> Runtime:
        db = Database(config.database_url)
        bus = create_bus(config.redis_url)
        limits = Limits(note_max_chars=config.note_max_chars)
        hubs = Hubs(
            db,
            bus,
            limits,
            window=config.resume_window_ops,
            tick_s=config.tick_ms / 1000.0,
        )
        tokens = Tokens(config.secret, max_age_seconds=config.token_max_age_days * 86400)
        return cls(config, db, bus, hubs, tokens, limits)

    async def start(self) -> None:
        await self.bus.start(self.hubs.on_message, self.hubs.on_reconnect)

    async def stop(self) -> None:
        from .protocol.frames import resync_frame

        await self.hubs.close(resync_frame("the server is restarting; reconnect and resume"))
        await self.bus.stop()
        await self.db.dispose()
