"""Browser pages: scrapy-playwright driving the system Chromium, for requests whose config
says ``browser=True``. ``setup`` runs at add-on time, ``handler`` downloads, ``page`` acts in
the page, ``captures`` moves what it produced onto the item."""
