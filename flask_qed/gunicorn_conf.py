"""gunicorn settings shared by ``qed up`` and deployments (``-c python:flask_qed.gunicorn_conf``).

Every value can be overridden from the environment.
"""
import os

bind = os.environ.get("QED_BIND", "0.0.0.0:7777")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Several gunicorns on one host (tests, qed up) would collide on one default socket path.
control_socket_disable = True
