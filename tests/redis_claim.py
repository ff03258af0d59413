"""A Redis database number of a run's own (1..15), shared by the integration tests and benchmarks.

A run claims a number by setting ``portal-test-claim`` only if it is absent, uses the number only
if nothing else is kept there, empties it, and at the end empties it again if the claim is still
its own. Two runs on one machine (a CI run and a developer's, say) never share a number.
"""

from __future__ import annotations

import redis

CLAIM_KEY = "portal-test-claim"
_DROP_OWN_CLAIM = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def claim_redis_database(host: str, port: int, token: str, *, ttl: int = 3600, socket_timeout: float = 5) -> redis.Redis | None:
    """A client on a claimed, emptied database; None if every number is claimed or in use."""
    for number in range(1, 16):
        client = redis.Redis(host=host, port=port, db=number, socket_connect_timeout=2, socket_timeout=socket_timeout)
        if not client.set(CLAIM_KEY, token, nx=True, ex=ttl):
            client.close()
            continue
        if client.dbsize() != 1:
            # Keys without a claim: someone outside this convention uses the number; leave it be.
            client.eval(_DROP_OWN_CLAIM, 1, CLAIM_KEY, token)
            client.close()
            continue
        return client
    return None


def release_redis_database(client: redis.Redis, token: str) -> None:
    """Empty the database and drop the claim, if the claim is still this run's."""
    with client.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(CLAIM_KEY)
            if pipe.get(CLAIM_KEY) == token.encode():
                pipe.multi()
                pipe.flushdb()
                pipe.execute()
        except redis.WatchError:
            pass
    client.close()
