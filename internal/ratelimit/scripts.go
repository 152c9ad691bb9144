package ratelimit

import "github.com/redis/go-redis/v9"

// The Lua scripts below run atomically inside Redis, so a check and its
// charge cannot interleave with another replica's. Their bucket arithmetic is
// bucket.go's, with time in milliseconds. Numbers written back go through
// Redis' %.17g conversion, so nothing is lost to formatting.

// luaBucket is shared by both scripts: refill a bucket to now.
const luaBucket = `
local function refill(tokens, last, limit, now)
  if tokens == nil or last == nil then return limit end
  if now > last then tokens = tokens + (now - last) * limit / 60000 end
  if tokens > limit then tokens = limit end
  return tokens
end
local function expire(key, tokens, limit)
  -- keep the key until the bucket would be full again; a missing key is a
  -- full bucket.
  local ms = math.ceil((limit - tokens) * 60000 / limit) + 1000
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`

// admitScript checks every scope and charges all of them only if all admit.
// KEYS: per scope its bucket hash and its lease sorted set.
// ARGV: now_ms, lease_ttl_ms, lease_id, then per scope rpm, tpm, max_concurrent, tokens.
// Returns {0, then per scope its rpm and tpm tokens left (empty if not
// charged)} on admission, or {scope_index (1-based), limit, retry_after_ms}.
var admitScript = redis.NewScript(luaBucket + `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local id = ARGV[3]
local n = #KEYS / 2
local rt, tt = {}, {}
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local rpm, tpm, mc, cost = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local hk, zk = KEYS[2*i-1], KEYS[2*i]
  if mc > 0 then
    redis.call('ZREMRANGEBYSCORE', zk, '-inf', now)
    if redis.call('ZCARD', zk) >= mc then return {i, 'concurrency', 1000} end
  end
  if rpm > 0 or (tpm > 0 and cost > 0) then
    local v = redis.call('HMGET', hk, 'r', 'rl', 't', 'tl')
    if rpm > 0 then
      local tok = refill(tonumber(v[1]), tonumber(v[2]), rpm, now)
      if tok < 1 then return {i, 'rpm', math.ceil((1 - tok) * 60000 / rpm)} end
      rt[i] = tok
    end
    if tpm > 0 and cost > 0 then
      local tok = refill(tonumber(v[3]), tonumber(v[4]), tpm, now)
      local need = cost
      if need > tpm then need = tpm end
      if tok < need then return {i, 'tpm', math.ceil((need - tok) * 60000 / tpm)} end
      tt[i] = tok
    end
  end
end
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local rpm, tpm, mc, cost = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local hk, zk = KEYS[2*i-1], KEYS[2*i]
  if rt[i] then
    redis.call('HSET', hk, 'r', rt[i] - 1, 'rl', now)
    expire(hk, rt[i] - 1, rpm)
  end
  if tt[i] then
    redis.call('HSET', hk, 't', tt[i] - cost, 'tl', now)
    expire(hk, tt[i] - cost, tpm)
  end
  if mc > 0 then
    redis.call('ZADD', zk, now + ttl, id)
    if redis.call('PTTL', zk) < ttl + 1000 then redis.call('PEXPIRE', zk, ttl + 1000) end
  end
end
local out = {0}
for i = 1, n do
  out[#out + 1] = rt[i] and tostring(rt[i] - 1) or ''
  out[#out + 1] = tt[i] and tostring(tt[i] - tonumber(ARGV[3 + (i - 1) * 4 + 4])) or ''
end
return out
`)

// settleScript refunds (or charges) the difference between reserved and
// actual tokens and releases concurrency leases.
// KEYS: per scope its bucket hash and its lease sorted set.
// ARGV: now_ms, lease_id, then per scope tpm, refund (reserved - actual), leased (0/1).
var settleScript = redis.NewScript(luaBucket + `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = #KEYS / 2
for i = 1, n do
  local a = 2 + (i - 1) * 3
  local tpm, refund, leased = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), ARGV[a+3]
  local hk, zk = KEYS[2*i-1], KEYS[2*i]
  if tpm > 0 and refund ~= 0 then
    local v = redis.call('HMGET', hk, 't', 'tl')
    local tok = refill(tonumber(v[1]), tonumber(v[2]), tpm, now) + refund
    if tok > tpm then tok = tpm end
    redis.call('HSET', hk, 't', tok, 'tl', now)
    expire(hk, tok, tpm)
  end
  if leased == '1' then redis.call('ZREM', zk, id) end
end
return 0
`)

// renewScript moves the expiry of concurrency leases still held in Redis
// (XX: a lease settled or expired and removed meanwhile is not added
// again) and keeps their sets as long.
// KEYS: the lease sorted set of each lease.
// ARGV: new expiry (ms), set ttl (ms), then the lease id of each key.
var renewScript = redis.NewScript(`
local exp, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', exp, ARGV[2+i])
  if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end
end
return 0
`)

// leaseScript adds concurrency leases without checking max_concurrent: the
// slots of requests the local fallback admitted while Redis was down,
// registered once Redis answers. Released by settleScript.
// KEYS: the lease sorted set of each lease.
// ARGV: expiry (ms), set ttl (ms), then the lease id of each key.
var leaseScript = redis.NewScript(`
local exp, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], exp, ARGV[2+i])
  if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end
end
return 0
`)
