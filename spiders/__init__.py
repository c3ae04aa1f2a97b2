"""Your own spiders for this Scrapy project; ``site`` comes from ``c4scrapy.spiders``."""
