"""OAuth 2.0 protocol and lifecycle: providers, consent flow, token client, refresh."""
