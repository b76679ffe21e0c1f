"""The pure domain core: state, rules and the fold of an event's log. No I/O here."""
