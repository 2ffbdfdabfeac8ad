"""Celery entry point: ``celery -A celery_cgi worker``. Apps' tasks import ``celery`` from here."""
from flask_qed import create_celery
from flask_qed.startup import check_variables, stop_on_mistakes

with stop_on_mistakes():  # a mistake in the settings or the apps: one line, no traceback
    check_variables("worker")
    celery = create_celery()
