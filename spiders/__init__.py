"""The c4scrapy Scrapy project's spiders (``scrapy crawl site``)."""
