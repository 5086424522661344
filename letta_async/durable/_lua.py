"""The Redis store's Lua scripts: every check-and-write is one atomic step on the server.

Layout (``{ns}`` is a hash tag, so every key of a namespace lands in one cluster slot):

* ``{ns}:cursor:<key>``: a hash with the cursor's fields, ``fence`` and ``owner``;
* ``{ns}:queue``: a sorted set of keys nobody holds, scored by when they may be claimed
  (submission time, or the end of a back-off after a failure);
* ``{ns}:leases``: a sorted set of held keys, scored by when the lease expires;
* ``{ns}:parked``: a set of ``unconfirmed`` and ``dead`` keys, waiting for a decision;
* ``{ns}:claims``: the claim log, a capped stream (who took which key, when, from whom);
* ``{ns}:ended``: a capped stream of keys that left without completing, and why.

Time is the Redis server's (``TIME``), so the clocks of the workers never matter for expiry.
``fence`` grows by one at every claim: a write that carries a fence applies only while it is
still the key's current one, which is what shuts out a worker whose lease was taken over.
"""

from __future__ import annotations

__all__ = ["APPLY", "CLAIM", "FAIL", "RELEASE", "RENEW", "RESOLVE", "REVIVE", "SUBMIT"]

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

# KEYS: queue, leases, claim log. ARGV: owner, how many, lease ms, cursor hash prefix.
# Expired leases first (take-overs), then queued keys that are due; oldest first in each.
# Returns one JSON array (one bulk reply parses far faster than nested arrays): per key
# [key, fence, previous owner, expired at ms or '', now ms, the cursor's fields...]. Each
# claim is also appended to the claim log (a capped stream), in the same atomic step.
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
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'key', k, 'fence', fence,
             'owner', owner, 'previous', previous, 'expired_at', expired_at, 'at', now)
  local f = redis.call('HMGET', h, 'agent_id', 'otids', 'request', 'phase', 'run_id', 'seq',
                       'created_at', 'sent_at', 'failures', 'error', 'conversation_id')
  out[#out + 1] = {k, fence, previous, expired_at, now, f[1], f[2], f[3], f[4], f[5], f[6],
                   f[7], f[8], f[9], f[10], f[11]}
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, n)
for i = 1, #expired, 2 do take(expired[i], expired[i + 1]) end
if #out < n then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n - #out)
  for _, k in ipairs(due) do take(k, '') end
end
if #out == 0 then return '[]' end
return cjson.encode(out)
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

# Every cursor write of one group commit in one call. ARGV: a JSON array of operations
# [name, key, fence ('' = unfenced), value, extra], the lease ms a fenced write renews the
# lease by, then the namespace's cursor prefix, queue, leases, parked and ended-log names.
# Returns one string with a character per operation: 1 (applied) or 0 (missing key, or a
# fence that is no longer the key's); one bulk reply parses faster than an array of
# integers. Operations:
# sending (value: sent_at), run (value: run_id), ack (value: seq, never lowered, and a move
# forwards clears the handler failures; extra: run_id), park, finish (value: '' or the
# ended record as JSON, appended to the ended log when the key is dropped).
APPLY = (
    _NOW
    + """
local ops = cjson.decode(ARGV[1])
local ttl, prefix = tonumber(ARGV[2]), ARGV[3]
local queue, leases, parked, ended = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local res = {}
for i, op in ipairs(ops) do
  local name, key, fence, value = op[1], op[2], op[3], op[4]
  local h = prefix .. key
  local ok = 0
  if redis.call('EXISTS', h) == 1 and (fence == '' or redis.call('HGET', h, 'fence') == fence) then
    ok = 1
    if name == 'ack' then
      if tonumber(value) > tonumber(redis.call('HGET', h, 'seq') or '0') then
        redis.call('HSET', h, 'seq', value)
        redis.call('HDEL', h, 'failures', 'error')
      end
      redis.call('HSET', h, 'phase', 'streaming', 'run_id', op[5])
    elseif name == 'run' then
      redis.call('HSET', h, 'phase', 'streaming', 'run_id', value)
    elseif name == 'sending' then
      redis.call('HSET', h, 'phase', 'sending', 'sent_at', value)
    elseif name == 'park' then
      redis.call('HSET', h, 'phase', 'unconfirmed')
      redis.call('HDEL', h, 'owner')
      redis.call('ZREM', queue, key)
      redis.call('ZREM', leases, key)
      redis.call('SADD', parked, key)
    elseif name == 'finish' then
      redis.call('DEL', h)
      redis.call('ZREM', queue, key)
      redis.call('ZREM', leases, key)
      redis.call('SREM', parked, key)
      if value ~= '' then
        redis.call('XADD', ended, 'MAXLEN', '~', 1000, '*', 'record', value)
      end
    end
    if fence ~= '' and ttl > 0 and (name == 'ack' or name == 'run' or name == 'sending')
        and redis.call('ZSCORE', leases, key) then
      redis.call('ZADD', leases, now + ttl, key)
    end
  end
  res[i] = tostring(ok)
end
return table.concat(res)
"""
)

# KEYS: cursor hash, queue, leases. ARGV: key, fence, delay ms. The key goes back to the
# queue, claimable after the delay (0: at once, for a worker shutting down cleanly). A parked
# key (unconfirmed, dead) stays parked: only a decision takes it out.
RELEASE = (
    _NOW
    + _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase == 'unconfirmed' or phase == 'dead' then return 0 end
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: cursor hash, queue, leases, parked. ARGV: key, fence ('' = unfenced), error text,
# max failures ('' = no limit), run id ('' = keep). Counts one more handler failure; at the
# limit the key is parked as dead in the same step. Returns the new count (0: refused).
FAIL = (
    _FENCE_OK
    + """
if not fence_ok(KEYS[1], ARGV[2]) then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'error', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'phase', 'streaming', 'run_id', ARGV[5]) end
if ARGV[4] ~= '' and n >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'phase', 'dead')
  redis.call('HDEL', KEYS[1], 'owner')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('SADD', KEYS[4], ARGV[1])
end
return n
"""
)

# KEYS: cursor hash, queue, parked. ARGV: key. A dead key goes back to the queue at once,
# its failures cleared, in the phase its run id implies (resume, or look the otid up).
REVIVE = (
    _NOW
    + """
if redis.call('HGET', KEYS[1], 'phase') ~= 'dead' then return 0 end
local run_id = redis.call('HGET', KEYS[1], 'run_id')
redis.call('HSET', KEYS[1], 'phase', (run_id and run_id ~= '') and 'streaming' or 'sending')
redis.call('HDEL', KEYS[1], 'failures', 'error')
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return 1
"""
)

# KEYS: cursor hash, queue, parked. ARGV: key, '1' to send again or '0' to drop. An
# unconfirmed key may be sent again or dropped; a dead one only dropped.
RESOLVE = (
    _NOW
    + """
local phase = redis.call('HGET', KEYS[1], 'phase')
if not (phase == 'unconfirmed' or (phase == 'dead' and ARGV[2] == '0')) then return 0 end
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
