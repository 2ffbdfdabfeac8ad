"""WSGI entry point: ``gunicorn flask_cgi:app``."""
from celery_cgi import celery
from flask_qed import create_gateway

app = create_gateway(celery)
