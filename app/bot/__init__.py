"""The Telegram adapter: updates in, the conversation service, replies out."""
