"""Extractors beyond the domain's rules: an OpenAI-compatible chat-completions endpoint
(`llm.py`). Nothing is imported here: httpx and pydantic load only when one is configured."""
