"""HTTP: the JSON API, health checks and the browser client's files."""
