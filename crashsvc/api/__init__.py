"""The JSON read/write API for developers (Bearer tokens with scopes, per-app roles)."""
