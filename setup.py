"""For ``scrapyd-deploy``, which builds the egg with ``python setup.py bdist_egg``.

All metadata is in setup.cfg (packages c4scrapy and spiders, the ``scrapy`` entry point);
without this file scrapyd-deploy writes its own, naming the egg "project" and packing
every package it finds (tests included).
"""

from setuptools import setup

setup()
