"""The PostgreSQL backend (staging, live): infrastructure/postgres/backend.py."""
