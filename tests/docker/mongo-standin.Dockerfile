# A stand-in for the `mongodb` service, used only by tests/test_docker_stack.py:
# nx-27017 speaks MongoDB's wire protocol over SQLite files in /data/db (no
# MongoDB server can be had on the build machines). The shipped compose file
# keeps the official mongo image.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
RUN python -m venv /opt/nx \
    && /opt/nx/bin/pip install --no-cache-dir nx-27017==0.8.1 neosqlite==1.17.2 pymongo==4.20.0 \
    && mkdir -p /data/db
EXPOSE 27017
CMD ["/opt/nx/bin/nx-27017", "--host", "0.0.0.0", "-p", "27017", "--data-dir", "/data/db"]
