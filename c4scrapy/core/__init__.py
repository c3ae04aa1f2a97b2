"""The pure core: page extraction, markdown, scores and extraction strategies over a parsed
tree. Nothing here imports scrapy, twisted or playwright (``make lint`` checks it)."""
