"""All metadata is in setup.cfg; this file adds the Scrapy project to Scrapyd's egg.

``pip install c4scrapy`` installs the package only. ``scrapyd-deploy`` builds an egg with
``python setup.py bdist_egg``: that egg is the Scrapy project, so it also holds ``spiders``
(the project's settings and spider modules) and the ``scrapy`` entry point naming the
settings. Without this file scrapyd-deploy writes its own setup.py, naming the egg
"project" and packing every package it finds (tests included).
"""

import sys

from setuptools import find_namespace_packages, setup

if "bdist_egg" in sys.argv:
    setup(
        packages=find_namespace_packages(include=["c4scrapy", "c4scrapy.*", "spiders", "spiders.*"]),
        entry_points={"scrapy": ["settings = spiders.settings"]},
    )
else:
    setup()
