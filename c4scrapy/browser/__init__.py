"""Browser pages through scrapy-playwright and the system Chromium: ``setup`` (add-on time),
``handler`` (downloads), ``page`` (in the page), ``captures`` (onto the item)."""
