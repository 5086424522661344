"""The Redis store's Lua scripts: every check-and-write is one atomic step on the server.

Layout (``{ns}`` is a hash tag, so every key of a namespace lands in one cluster slot):

* ``{ns}:cursor:<key>``: a hash with the cursor's fields, ``fence`` and ``owner``;
* ``{ns}:queue``: a sorted set of keys nobody holds, scored by when they may be claimed
  (submission time, or the end of a back-off after a failure);
* ``{ns}:leases``: a sorted set of held keys, scored by when the lease expires;
* ``{ns}:parked``: a set of ``unconfirmed`` keys, waiting for a decision.

Time is the Redis server's (``TIME``), so the clocks of the workers never matter for expiry.
``fence`` grows by one at every claim: a write that carries a fence applies only while it is
still the key's current one, which is what shuts out a worker whose lease was taken over.
"""

from __future__ import annotations

__all__ = ["CLAIM", "FINISH", "PARK", "RELEASE", "RENEW", "RESOLVE", "SUBMIT", "WRITE"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_FENCE_OK = """
local function fence_ok(h, fence)
  if redis.call('EXISTS', h) == 0 then return false end
  return fence == '' or redis.call('HGET', h, 'fence') == fence
end
"""

# KEYS: cursor hash, queue. ARGV: key, then field/value pairs.
SUBMIT = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], now, ARGV[1])
return 1
"""
)

# KEYS: queue, leases. ARGV: owner, how many, lease ms, cursor hash prefix.
# Expired leases first (take-overs), then queued keys that are due; oldest first in each.
CLAIM = (
    _NOW
    + """
local owner, n, ttl, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local out = {}
local function take(k, expired_at)
  local h = prefix .. k
  if redis.call('EXISTS', h) == 0 then
    redis.call('ZREM', KEYS[1], k)
    redis.call('ZREM', KEYS[2], k)
    return
  end
  local previous = redis.call('HGET', h, 'owner') or ''
  local fence = redis.call('HINCRBY', h, 'fence', 1)
  redis.call('HSET', h, 'owner', owner)
  redis.call('ZREM', KEYS[1], k)
  redis.call('ZADD', KEYS[2], now + ttl, k)
  local f = redis.call('HMGET', h, 'agent_id', 'otids', 'request', 'phase', 'run_id', 'seq',
                       'created_at', 'sent_at')
  out[#out + 1] = {k, fence, previous, expired_at, now, f[1], f[2], f[3], f[4], f[5], f[6],
                   f[7], f[8]}
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, n)
for i = 1, #expired, 2 do take(expired[i], expired[i + 1]) end
if #out < n then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n - #out)
  for _, k in ipairs(due) do take(k, '') end
end
return out
"""
)

# KEYS: leases. ARGV: lease ms, cursor hash prefix, then key/fence pairs. Returns 1/0 each.
RENEW = (
    _NOW
    + """
local ttl, prefix = tonumber(ARGV[1]), ARGV[2]
local res = {}
for i = 3, #ARGV, 2 do
  local k, fence = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', prefix .. k, 'fence') == fence and redis.call('ZSCORE', KEYS[1], k) then
    redis.call('ZADD', KEYS[1], now + ttl, k)
    res[#res + 1] = 1
  else
    res[#res + 1] = 0
  end
end
return res
"""
)

# KEYS: cursor hash, leases. ARGV: key, fence ('' = unfenced), lease ms (0 = keep), seq ('' =
# leave; never lowered), then field/value pairs. A fenced write also renews the lease.
WRITE = (
    _NOW
    + _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
if ARGV[4] ~= '' then
  local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
  if tonumber(ARGV[4]) > current then redis.call('HSET', KEYS[1], 'seq', ARGV[4]) end
end
if #ARGV >= 5 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
local ttl = tonumber(ARGV[3])
if ARGV[2] ~= '' and ttl > 0 and redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
end
return 1
"""
)

# KEYS: cursor hash, queue, leases, parked. ARGV: key, fence.
PARK = (
    _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'unconfirmed')
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""
)

# KEYS: cursor hash, queue, leases, parked. ARGV: key, fence.
FINISH = (
    _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
"""
)

# KEYS: cursor hash, queue, leases. ARGV: key, fence, delay ms. The key goes back to the
# queue, claimable after the delay (0: at once, for a worker shutting down cleanly).
RELEASE = (
    _NOW
    + _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: cursor hash, queue, parked. ARGV: key, '1' to send again or '0' to drop.
RESOLVE = (
    _NOW
    + """
if redis.call('HGET', KEYS[1], 'phase') ~= 'unconfirmed' then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'phase', 'recorded')
  redis.call('HDEL', KEYS[1], 'sent_at')
  redis.call('ZADD', KEYS[2], now, ARGV[1])
else
  redis.call('DEL', KEYS[1])
end
return 1
"""
)
