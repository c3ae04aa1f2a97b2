"""Link scores: intrinsic (the link itself), contextual (BM25 against a query), total."""
