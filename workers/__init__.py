"""Celery workers: ``celery -A workers worker`` finds the application here."""

from workers.celery_app import celery

__all__ = ["celery"]
