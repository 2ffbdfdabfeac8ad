"""Celery entry point: ``celery -A celery_cgi worker``. Apps' tasks import ``celery`` from here."""
from flask_qed import create_celery

celery = create_celery()
