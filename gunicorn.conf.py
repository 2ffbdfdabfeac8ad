"""Picked up by a plain ``gunicorn flask_cgi:app`` run from the checkout: the shared settings."""
from flask_qed.gunicorn_conf import *  # noqa: F401,F403
