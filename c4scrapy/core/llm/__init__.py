"""LLM extraction: the strategy (prompts, replies, usage) and its litellm client."""
