"""Live delivery: per-event hubs, per-connection outboxes, the websocket handler."""
