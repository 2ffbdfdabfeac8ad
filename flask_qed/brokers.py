"""The job publisher: a job's Celery message written from its task's template and
queued on the broker's channel (see :class:`Publisher`). The Redis transport it writes
through is :mod:`flask_qed.redis_transport`.
"""
from __future__ import annotations

import base64
import logging
import os
import re
import threading
import time
import uuid
import weakref
from typing import Any

import redis
from celery import signals
from kombu.serialization import dumps
from kombu.transport import redis as kombu_redis
from kombu.utils import json as kombu_json

from .redis_transport import TRANSPORT

logger = logging.getLogger(__name__)

# The project's own receivers of Celery's publish signals, by dispatch uid: for a job this
# publisher queues, the legacy guard's have nothing to do (its record is written already)
# and the log's writes the "queued" event. When no other receiver is connected, the
# publisher writes that event itself and sends no signal: the signals' arguments (copies of
# the message's headers and properties) were a fortieth of the gateway's CPU per job.
QUEUED_LOG = "qed_log_published"
OWN_RECEIVERS = frozenset({QUEUED_LOG, "qed_publish", "qed_published"})
_events = logging.getLogger("flask_qed.logs")  # where the "queued" event is written


def others_listen() -> bool:
    """Whether a receiver other than the project's own listens to the publish signals."""
    return any(key[0] not in OWN_RECEIVERS for signal in (signals.before_task_publish, signals.after_task_publish)
               for key, _ in signal.receivers)


def log_queued(task: str, job_id: str) -> None:
    """The "queued" event of a job (:mod:`flask_qed.logs`)."""
    _events.info("job %s: queued for %s", job_id, task, extra={"job_id": job_id, "event": "queued", "task": task})


class Publisher:
    """Queues a job's task message straight onto the broker's channel.

    ``Celery.send_task`` goes through routing, a producer pool, kombu's
    ``Producer.publish`` and its retry wrapper for every message: about three
    quarters of a publish's CPU, and a fifth of the gateway's per job. A job's
    message always has one shape (one task, one argument: the job id, to the
    default queue), so here it is written from its task's :class:`_Template` (made by
    ``amqp.as_task_v2`` and kombu once a process) and queued with one ``LPUSH``, on a
    channel taken from a small pool (one per publish in flight: threads under gthread,
    greenlets under gevent, where a thread-local channel would be one per request). The
    message is the one ``send_task`` writes (tested against it), and the publish signals
    are sent as ``send_task`` sends them. Brokers other than this module's Redis
    transport, and routed tasks, go through ``send_task``.
    """

    def __init__(self, celery: Any, retry_policy: dict[str, float] | None = None, direct: bool = True) -> None:
        self.celery = celery
        self.queue = celery.conf.task_default_queue
        self.retry_policy = dict(retry_policy or RETRY_POLICY)
        p = self.retry_policy
        # kombu's ensure(): wait interval_start, then interval_step more each time, at most interval_max
        self.retry_delays = [min(p["interval_start"] + i * p["interval_step"], p["interval_max"])
                             for i in range(int(p["max_retries"]))]
        self._idle: list[tuple[int, Any, Any]] = []  # (pid, connection, channel), last used on top
        self._idle_lock = threading.Lock()
        self._templates: dict[str, _Template] = {}  # task -> its message, for any job id
        # What a lost broker raises: kombu's and redis-py's connection errors, and sockets'.
        self.errors: tuple[type[BaseException], ...] = (OSError, redis.RedisError, *_kombu_errors())
        conf = celery.conf
        self.direct = direct and (conf.broker_transport == TRANSPORT and not conf.task_routes
                       and conf.task_serializer == "json" and int(conf.task_protocol or 2) == 2)

    def publish(self, task: str, job_id: str) -> None:
        """Queue ``task(job_id)`` with ``job_id`` as its task id; raise when the broker
        cannot take it after the retries."""
        if not self.direct:
            self.celery.send_task(task, args=[job_id], task_id=job_id, retry=True, retry_policy=self.retry_policy)
            return
        reply_to = self.celery.thread_oid  # the sending thread's, as send_task writes it
        template = self._template(task) if _PLAIN_ID.match(job_id) else None
        details: dict[str, Any] | None = None  # what the publish signals are sent; made when needed
        signalled = others_listen()  # else the project's receivers' work is done here
        if template is not None:
            if signalled and signals.before_task_publish.receivers:
                details = template.details(job_id, reply_to)
        else:  # an id JSON would escape: the message built for it alone
            message = self.celery.amqp.as_task_v2(job_id, task, args=[job_id], kwargs={},
                                                  argsrepr=f"['{job_id}']", kwargsrepr="{}", ignore_result=None,
                                                  reply_to=reply_to)
            details = {"body": message.body, "exchange": "", "routing_key": self.queue,
                       "headers": message.headers, "properties": dict(message.properties, delivery_mode=2)}
        if signalled and details is not None and signals.before_task_publish.receivers:
            sent = template.details(job_id, reply_to) if template is not None else None
            signals.before_task_publish.send(sender=task, declare=[], retry_policy=self.retry_policy, **details)
            if sent is not None and any(details[k] != sent[k] for k in ("headers", "properties", "body")):
                template = None  # a receiver changed the message (a tracing header...): written as it left it
        for attempt in range(len(self.retry_delays) + 1):
            held = None
            try:
                held = self._take()
                channel = held[2]
                if template is not None and template.fits(channel):
                    channel.put_text(template.key, template.text(job_id, reply_to))
                else:
                    details = details or template.details(job_id, reply_to)  # type: ignore[union-attr]
                    content_type, content_encoding, body = dumps(details["body"], serializer="json")
                    envelope = channel.prepare_message(body, 0, content_type, content_encoding,
                                                       details["headers"], dict(details["properties"]))
                    channel.basic_publish(envelope, exchange="", routing_key=self.queue)
                self._give_back(held)
                break
            except self.errors:
                if held is not None:
                    self._close(held)
                self._drop_idle()  # the others reach the same broker: likely broken as well
                if attempt == len(self.retry_delays):
                    raise
                time.sleep(self.retry_delays[attempt])
        if not signalled:
            if any(key[0] == QUEUED_LOG for key, _ in signals.after_task_publish.receivers):
                log_queued(task, job_id)
        elif signals.after_task_publish.receivers:
            details = details or template.details(job_id, reply_to)  # type: ignore[union-attr]
            signals.after_task_publish.send(sender=task, **details)

    def _template(self, task: str) -> "_Template":
        pid = os.getpid()
        found = self._templates.get(task)
        if found is None or found.pid != pid:  # made again in a forked child: its origin names the process
            found = self._templates[task] = _Template(self.celery, task, self.queue)
        return found

    def _take(self) -> tuple[int, Any, Any]:
        """An idle channel of this process, else a new one."""
        pid = os.getpid()
        with self._idle_lock:
            while self._idle:
                held = self._idle.pop()
                if held[0] == pid:
                    return held
                # Inherited through fork: its socket is the parent's; dropped, not closed.
        connection = self.celery.connection_for_write()
        # The channel is made as the transport's establish_connection makes it (a ping
        # to Redis), once: kombu's Connection would retry on its own, 2 s apart, within
        # each of publish()'s tries.
        transport = connection.transport
        try:
            channel = transport.create_channel(transport)
            # As a process's first send_task does: the queue and its binding exist
            # before anything is queued, whichever of the gateway and the worker starts first.
            self.celery.amqp.queues[self.queue].bind(channel).declare()
        except BaseException:
            self._close((pid, connection, None))
            raise
        return pid, connection, channel

    def _give_back(self, held: tuple[int, Any, Any]) -> None:
        with self._idle_lock:
            self._idle.append(held)

    def _drop_idle(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for held in idle:
            if held[0] == os.getpid():
                self._close(held)

    @staticmethod
    def _close(held: tuple[int, Any, Any]) -> None:
        for done in (held[2], held[1]):
            if done is not None:
                try:
                    done.close()
                except Exception:  # noqa: BLE001 - closing what is broken may fail as well
                    logger.debug("closing a broken broker channel failed", exc_info=True)


# A job id written into JSON as it is (no escapes): every id the gateway makes (uuid4).
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.:-]{1,128}\Z")


class _Template:
    """A task's message as Celery and kombu write it, made once with stand-ins: a job's
    message is that text with the job's id, the sending thread's reply-to, its body (base64
    of the same JSON with the id) and a new delivery tag put in. Everything else in a job's
    message is the same for every job of a task (no ETA, expiry, parent or group), so writing
    it again through ``as_task_v2``, two JSON dumps and kombu's envelope (half of a publish's
    CPU) gives the same text; ``tests/test_publisher.py`` holds it to ``send_task``'s message.
    A message a ``before_task_publish`` receiver changed is written as the receiver left it."""

    ID, REPLY = "qed0stand0in0id", "qed0stand0in0reply"
    BODY, TAG = "qed0stand0in0body", "qed0stand0in0tag"

    def __init__(self, celery: Any, task: str, queue: str) -> None:
        self.pid, self.queue = os.getpid(), queue
        message = celery.amqp.as_task_v2(self.ID, task, args=[self.ID], kwargs={}, argsrepr=f"['{self.ID}']",
                                         kwargsrepr="{}", ignore_result=None, reply_to=self.REPLY)
        self.content_type, self.content_encoding, body = dumps(message.body, serializer="json")
        self.body = body.decode() if isinstance(body, bytes) else body
        _, self.kwargs, self.embed = message.body
        self.headers = dict(message.headers)
        self.properties = dict(message.properties, delivery_mode=2)
        self.key = ""
        self._text: tuple[str, str, str] | None = None  # the envelope's text around its body and tag
        self._channel_type: type | None = None

    def fits(self, channel: Any) -> bool:
        """Whether this channel writes messages as the template was written (made on
        first use): base64 bodies, the queue at priority 0 with no expiry."""
        if channel._expires and self.queue in channel._expires:
            return False
        if self._channel_type is type(channel):
            return True
        if channel.body_encoding != "base64":
            return False
        envelope = channel.prepare_message(self.body, 0, self.content_type, self.content_encoding,
                                           dict(self.headers), dict(self.properties))
        channel._inplace_augment_message(envelope, "", self.queue)  # as basic_publish does
        envelope["body"] = self.BODY
        envelope["properties"]["delivery_tag"] = self.TAG
        text = kombu_json.dumps(envelope)
        if text.count(self.BODY) != 1 or text.count(self.TAG) != 1:
            return False
        head, rest = text.split(self.BODY)
        middle, tail = rest.split(self.TAG)
        self._text = (head, middle, tail)
        self.key = channel._q_for_pri(self.queue, channel._get_message_priority(envelope, reverse=False))
        self._channel_type = type(channel)
        return True

    def text(self, job_id: str, reply_to: str) -> str:
        """The message of ``job_id`` sent from a thread whose oid is ``reply_to``, as kombu
        would write it."""
        head, middle, tail = self._text  # type: ignore[misc]
        body = base64.b64encode(self.body.replace(self.ID, job_id).encode()).decode()
        return (head.replace(self.ID, job_id).replace(self.REPLY, reply_to) + body
                + middle.replace(self.ID, job_id).replace(self.REPLY, reply_to) + str(uuid.uuid4())
                + tail.replace(self.ID, job_id).replace(self.REPLY, reply_to))

    def details(self, job_id: str, reply_to: str) -> dict[str, Any]:
        """What the publish signals are sent with, as ``send_task`` sends them."""
        def put(values: dict[str, Any]) -> dict[str, Any]:
            return {k: v.replace(self.ID, job_id).replace(self.REPLY, reply_to) if isinstance(v, str)
                    else v.copy() if isinstance(v, (dict, list)) else v for k, v in values.items()}
        return {"body": ([job_id], dict(self.kwargs), dict(self.embed)), "exchange": "",
                "routing_key": self.queue, "headers": put(self.headers), "properties": put(self.properties)}


# kombu's ensure() settings for a publish: two more tries, 0.2 s then 0.7 s later.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}


def _kombu_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import KombuError
    return (KombuError, *kombu_redis.Transport.connection_errors, *kombu_redis.Transport.channel_errors)


_PUBLISHERS: "weakref.WeakKeyDictionary[Any, dict[bool, Publisher]]" = weakref.WeakKeyDictionary()


def publisher(celery: Any, direct: bool = True) -> Publisher:
    """The Celery app's :class:`Publisher` (``direct``: the fast path where it applies,
    else ``send_task``; ``QED_PUBLISH``), made on first use."""
    made = _PUBLISHERS.setdefault(celery, {})
    found = made.get(direct)
    if found is None:
        found = made.setdefault(direct, Publisher(celery, direct=direct))
    return found
