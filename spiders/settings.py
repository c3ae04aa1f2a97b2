"""Settings of the c4scrapy project (``scrapy crawl site``); see the README's tables."""

BOT_NAME = "c4scrapy"
SPIDER_MODULES = ["spiders", "c4scrapy.spiders"]
NEWSPIDER_MODULE = "spiders"

ADDONS = {"c4scrapy.Addon": 100}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
