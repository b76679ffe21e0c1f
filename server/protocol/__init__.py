"""The wire protocol: msgpack frames checked against ``schemas/protocol.json``."""
