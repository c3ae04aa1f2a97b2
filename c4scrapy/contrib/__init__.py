"""Optional integrations outside the core mission (``c4scrapy.contrib.redis``)."""
