"""The errors c4scrapy raises on purpose."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is unknown or invalid; the message names the key."""
