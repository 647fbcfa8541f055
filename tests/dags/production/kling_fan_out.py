"""The DAGs of the production-shape fan-out tests: per sandbox profile, a mapped fan-out wider than the account's
concurrency, deferred, without a pool (each refused submission waits for a free slot in a triggerer) and in a pool of
the account's size (the recipe: no submission is refused)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

#: How many tasks the sandboxes' accounts render at once, and how many generations each fan-out asks for.
ACCOUNT_CONCURRENCY = 3
WIDTH = 9
PROMPTS = [f"A kite over field {number}" for number in range(WIDTH)]
#: The connection of each profile's sandbox.
CONNECTIONS = {"cometapi": "kling_default", "kling": "kling_own"}

for profile, conn_id in CONNECTIONS.items():
    for name, pool in ((f"kling_fan_out_{profile}", None), (f"kling_pooled_{profile}", f"kling_{profile}")):
        with DAG(name, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
            KlingText2VideoOperator.partial(
                task_id="generate",
                kling_conn_id=conn_id,
                deferrable=True,
                poll_interval=1,
                timeout=900,
                # No retries: a generation lost or failed must fail the test, not be paid for again by a retry.
                retries=0,
                **({"pool": pool} if pool else {}),
            ).expand(prompt=PROMPTS)
