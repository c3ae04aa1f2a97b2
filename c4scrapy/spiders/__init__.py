"""Spiders that ship with c4scrapy: ``site`` crawls one site (``scrapy crawl site -a url=...``)."""
