"""CPU time of a worker's bookkeeping per message: recorded as unacknowledged when taken,
forgotten when acknowledged, kombu's QoS against the project's (flask_qed.redis_transport.QoS).

With late acknowledgement (the project's setting) kombu's Redis transport keeps every
message a worker holds in a hash and a sorted set until it is acknowledged, so that a
dead worker's messages can be restored: one ``MULTI``/``EXEC`` transaction when a message
is taken and one when it is acknowledged, in the worker's main process, for every job.
In one process, against a private redis-server filled with real job messages (the
Publisher's): batches of ``--batch`` messages taken (``basic_get``) and acknowledged on a
channel with kombu's QoS and on one with the project's, interleaved for ``--rounds`` rounds,
CPU time from ``time.process_time``. The two ways also leave the same records behind
(checked at the end). A bare take and acknowledgement with no record (``no_ack``) is the
floor.

    .venv/bin/python benchmarks/bench_unacked.py [--rounds 20] [--batch 200]
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import interleaved, interleaved_args, private_celery  # noqa: E402


def main() -> None:
    args = interleaved_args(__doc__, rounds=20, batch=200)
    with private_celery("qed-unacked-") as celery:
        from kombu.transport import redis as kombu_redis

        from flask_qed.brokers import publisher
        queue = celery.conf.task_default_queue
        pub = publisher(celery)
        for _ in range(args.rounds * args.batch * 3 + 10):
            pub.publish("pram.rice", str(uuid.uuid4()))
        connection = celery.connection_for_read()
        ours = connection.channel()
        theirs = connection.channel()
        theirs.QoS = kombu_redis.QoS  # before its qos is first made
        bare = connection.channel()
        assert type(ours.qos).__module__ == "flask_qed.redis_transport" and type(theirs.qos) is kombu_redis.QoS

        def take_and_ack(channel):
            def way() -> None:
                channel.basic_get(queue, no_ack=False).ack()
            return way

        def take_only() -> None:
            bare.basic_get(queue, no_ack=True)

        cpu = interleaved({"kombu's QoS": take_and_ack(theirs), "the project's QoS": take_and_ack(ours),
                           "no record (no_ack)": take_only}, args.rounds, args.batch)
        print(f"CPU time per message taken and acknowledged, median of {args.rounds} batches of {args.batch}:")
        for name, value in cpu.items():
            print(f"  {name:22s} {value:.3f} ms")
        # Both leave the same records: held (one message each), then nothing once acknowledged.
        client = ours.client
        held = {name: channel.basic_get(queue, no_ack=False) for name, channel in (("ours", ours), ("theirs", theirs))}
        entries = {name: client.hget(ours.unacked_key, m.delivery_tag) for name, m in held.items()}
        scores = {name: client.zscore(ours.unacked_index_key, m.delivery_tag) for name, m in held.items()}
        decoded = {name: json.loads(e) for name, e in entries.items()}
        same = all(decoded[n][1:] == decoded["ours"][1:] and decoded[n][0].keys() == decoded["ours"][0].keys()
                   for n in decoded) and all(s is not None for s in scores.values())
        for m in held.values():
            m.ack()
        left = client.hlen(ours.unacked_key), client.zcard(ours.unacked_index_key)
        print(f"  records alike: {same}; left after the acknowledgements: {left[0]} in the hash, {left[1]} in the index")


if __name__ == "__main__":
    main()
