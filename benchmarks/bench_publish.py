"""CPU time of one job publish: Celery's send_task against the gateway's Publisher.

In one process, against a private redis-server: batches of ``--batch`` publishes
each way, interleaved for ``--rounds`` rounds (so that a change in the machine's
speed hits them alike), CPU time from ``time.process_time``. ``send_task`` is
called as the gateway called it before the Publisher (a producer from the pool,
the queue to declare, retries on). The Publisher both ways: a job's message filled
in from its task's template (every id the gateway makes), and built for the job
alone (an id JSON would escape, which takes the path every publish took before the
template). A bare ``LPUSH`` of a message-sized string is the floor.

    .venv/bin/python benchmarks/bench_publish.py [--rounds 20] [--batch 200]
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import interleaved, interleaved_args, private_celery  # noqa: E402


def main() -> None:
    args = interleaved_args(__doc__, rounds=20, batch=200)
    with private_celery("qed-publish-") as celery:
        from flask_qed.brokers import RETRY_POLICY, publisher
        pub = publisher(celery)
        queue = celery.amqp.queues[celery.conf.task_default_queue]
        client = celery.connection_for_write().default_channel.client

        def send_task() -> None:
            job = str(uuid.uuid4())
            with celery.producer_or_acquire() as producer:
                celery.send_task("pram.rice", args=[job], task_id=job, producer=producer, declare=[queue],
                                 argsrepr=f"['{job}']", kwargsrepr="{}", retry=True, retry_policy=RETRY_POLICY)

        def publisher_() -> None:
            pub.publish("pram.rice", str(uuid.uuid4()))

        def publisher_built() -> None:  # an id JSON would escape: the message built for the job alone
            pub.publish("pram.rice", f"{uuid.uuid4()} ")

        def bare_lpush() -> None:
            client.lpush("bench-floor", "x" * 900)

        ways = {"send_task": send_task, "Publisher, message built for the job": publisher_built,
                "Publisher, the task's template": publisher_, "bare LPUSH": bare_lpush}
        cpu = interleaved(ways, args.rounds, args.batch,
                          after_round=lambda: client.delete(celery.conf.task_default_queue, "bench-floor"))
        print(f"CPU time per publish, median of {args.rounds} batches of {args.batch}:")
        for name, value in cpu.items():
            print(f"  {name:38s} {value:.3f} ms")


if __name__ == "__main__":
    main()
