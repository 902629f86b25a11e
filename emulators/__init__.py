"""Stand-ins for the services the bot talks to, run for real over HTTP (tests, playground)."""
