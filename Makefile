# make demo: set up and crawl the embedded demo site.  make test: set up, run every test, build the docs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_PORT ?= 8765
DEMO_QUERY ?= asyncio event loop
APT_PACKAGES = chromium redis-server python3.11-doc

.PHONY: demo test test-fast coverage setup system-deps lint bench compare docs

$(BIN)/scrapy: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(BIN)/scrapy

setup: $(BIN)/scrapy

system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi; \
	else echo "not root: skipping apt-get install of $(APT_PACKAGES)"; fi

demo: setup
	$(BIN)/python examples/demo.py --port $(DEMO_PORT) --query "$(DEMO_QUERY)"

test: system-deps setup
	$(BIN)/python -m pytest tests; status=$$?; \
	if [ $$status = 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

docs: setup      # the Sphinx site in docs/_build/html; warnings are errors, as in make test
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

test-fast: setup   # the inner loop: the pure core and the components in-process (no subprocess)
	$(BIN)/python -m pytest -q tests/core tests/components; status=$$?; \
	if [ $$status = 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

coverage: system-deps setup   # line coverage of c4scrapy/ over the whole suite (in-process code)
	CI=true $(BIN)/python -m pytest -q tests --cov=c4scrapy --cov-report=term

lint: setup   # ruff, the import contracts (pyproject.toml [tool.importlinter]) and mypy
	$(BIN)/ruff check c4scrapy spiders tests bench
	$(BIN)/ruff format --check c4scrapy spiders tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

compare: setup   # side by side with Crawl4AI 0.9.5 on ../shared/corpus (needs its venv: C4AI_PYTHON)
	$(BIN)/python bench/compare_crawl4ai.py

bench: setup     # extraction speed vs lxml and Crawl4AI, then crawl throughput against plain Scrapy
	$(BIN)/python bench/extract_speed.py
	$(BIN)/python bench/crawl_throughput.py --inline
