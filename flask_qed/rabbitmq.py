"""RabbitMQ as the broker (``QED_BROKER_URL=amqp://…``): durable quorum queues, publisher
confirms, and the queue's depth.

* **Quorum queue.** The job queue is declared durable with ``x-queue-type: quorum``:
  replicated over a cluster's nodes, kept across restarts, and with a delivery count
  that RabbitMQ keeps itself. Messages are persistent (delivery mode 2, Celery's default).
* **No global QoS.** Quorum queues refuse a channel-wide prefetch limit;
  ``worker_detect_quorum_queues`` makes the worker set it per consumer instead.
  ``worker_prefetch_multiplier=1`` and ``task_acks_late`` stay as with Redis.
* **Delays.** A countdown (a duplicate delivery looking again once a lease lapses,
  a retry after the store failed) cannot be held in the worker's memory without
  global QoS. Celery's native delayed delivery carries it in RabbitMQ instead
  (``celery_delayed_*`` exchanges and quorum queues, declared by each worker at
  start); it needs the job queue behind a *topic* exchange, hence the exchange here.
* **Remote control** (a running job's cancel, ``celery inspect ping``) goes through
  exchanges named after the queue, so deployments sharing a vhost stay apart.
* **Publisher confirms** (``confirm_publish``): a submit returns only once RabbitMQ
  has taken the message, so a 202 never stands for a message lost on the way.

What still needs Redis with this broker, and what happens without it: the fair-use
request counter (``QED_RATE_LIMIT``: counted per gateway process instead, so a
client gets the limit once per process), finished-job notices (a waiting request
then reads the store once a second instead of being woken), and the reconciler's
lock (every worker then sweeps, which is safe, merely redundant).
"""
from __future__ import annotations

from typing import Any

SCHEMES = ("amqp://", "amqps://", "pyamqp://")


def is_rabbitmq(url: str) -> bool:
    return url.startswith(SCHEMES)


def celery_settings(queue: str) -> dict[str, Any]:
    """The Celery settings for a RabbitMQ broker whose job queue is ``queue``."""
    from kombu import Exchange, Queue
    exchange = Exchange(queue, type="topic", durable=True)
    return {
        "task_queues": [Queue(queue, exchange, routing_key=queue, durable=True,
                              queue_arguments={"x-queue-type": "quorum"})],
        "task_default_exchange": queue,
        "task_default_exchange_type": "topic",
        "task_default_routing_key": queue,
        "task_default_delivery_mode": "persistent",
        "broker_transport_options": {"confirm_publish": True},
        "worker_detect_quorum_queues": True,
        # Remote control (cancel, inspect ping) on exchanges of this queue's name: two
        # deployments sharing a vhost do not reach each other's workers.
        "control_exchange": queue,
        "event_exchange": f"{queue}.events",
        "broker_native_delayed_delivery_queue_type": "quorum",
    }


def queue_depth(celery: Any, queue: str) -> int:
    """Messages ready in ``queue``, from a passive declaration (which creates nothing)."""
    with celery.connection_for_read() as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        finally:
            channel.close()
