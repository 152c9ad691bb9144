package budget

import "github.com/redis/go-redis/v9"

// Each (scope, period) has a hash with fields s (spent) and r (reserved),
// in integer nano-USD, and w (1 once Seed has set s from the usage
// records), and a sorted set of holds whose members are "<id>|<nano-USD>"
// scored by expiry in ms: holds of a replica that died before settling
// expire and their amount leaves r. Amounts reach HINCRBY as the decimal
// strings they were passed as (ARGV, hold members), never as Lua numbers:
// a double loses digits above 2^53 and Redis formats one of 1e17 or more
// with an exponent, which HINCRBY refuses. A hash without w is one Redis lost
// (or one of a period that has just begun), recreated by a settle or a
// reservation, if at all.

const luaPurge = `
local function purge(h, z, now)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #old > 0 then
    for _, m in ipairs(old) do
      local amount = string.match(m, '|(%d+)$')
      if amount and amount ~= '0' then redis.call('HINCRBY', h, 'r', '-' .. amount) end
    end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  end
end
`

// reserveScript checks every (scope, period) and holds the estimate in all
// of them only if all fit.
// KEYS: per scope day hash, day holds, month hash, month holds.
// ARGV: now_ms, hold_expiry_ms, member, estimate, day_ttl_s, month_ttl_s,
// then per scope daily limit, monthly limit (0 = none), and 1 when the
// scope's limited counters must have been seeded (else 0).
// Returns {0, spent, reserved, ...} (per key pair, in KEYS order, before
// this hold) on success,
// {scope_index (1-based), period, limit, spent, reserved} for a limit
// exceeded, or {-1, scope_index, period_index (1 daily, 2 monthly), ...}
// for the counters that must be seeded first.
var reserveScript = redis.NewScript(luaPurge + `
local now, exp, member, est = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local ttl = {tonumber(ARGV[5]), tonumber(ARGV[6])}
local names = {'daily', 'monthly'}
local n = #KEYS / 4
local spent = {}
local unseeded = {-1}
for i = 1, n do
  local check = ARGV[6 + 3*i] == '1'
  for p = 1, 2 do
    local h, z = KEYS[4*(i-1) + 2*p - 1], KEYS[4*(i-1) + 2*p]
    purge(h, z, now)
    local v = redis.call('HMGET', h, 's', 'r', 'w')
    local s, r = tonumber(v[1]) or 0, tonumber(v[2]) or 0
    local limit = tonumber(ARGV[6 + 3*(i-1) + p])
    if limit > 0 and s + r + est > limit then return {i, names[p], limit, s, r} end
    if check and limit > 0 and not v[3] then
      unseeded[#unseeded + 1] = i
      unseeded[#unseeded + 1] = p
    end
    spent[#spent + 1] = s
    spent[#spent + 1] = r
  end
end
if #unseeded > 1 then return unseeded end
for i = 1, n do
  for p = 1, 2 do
    local h, z = KEYS[4*(i-1) + 2*p - 1], KEYS[4*(i-1) + 2*p]
    if est > 0 then
      redis.call('HINCRBY', h, 'r', ARGV[4])
      redis.call('ZADD', z, exp, member)
      redis.call('EXPIRE', z, ttl[p])
    end
    redis.call('EXPIRE', h, ttl[p])
  end
end
return {0, unpack(spent)}
`)

// settleScript turns a hold into spend exactly once: the hold's amount
// leaves r only if the hold is still there (it may have expired).
// KEYS: per scope day hash, day holds, month hash, month holds.
// ARGV: member, estimate, actual, day_ttl_s, month_ttl_s.
var settleScript = redis.NewScript(`
local member, est, actual = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = {tonumber(ARGV[4]), tonumber(ARGV[5])}
for i = 1, #KEYS / 4 do
  for p = 1, 2 do
    local h, z = KEYS[4*(i-1) + 2*p - 1], KEYS[4*(i-1) + 2*p]
    if est > 0 and redis.call('ZREM', z, member) == 1 then
      redis.call('HINCRBY', h, 'r', '-' .. ARGV[2])
    end
    if actual > 0 then
      redis.call('HINCRBY', h, 's', ARGV[3])
      redis.call('EXPIRE', h, ttl[p])
    end
  end
end
return 0
`)

// seedScript raises spent to at least ARGV[1] and marks the hash seeded.
// KEYS: the period hash. ARGV: spent, ttl_s.
var seedScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 's')) or 0
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 's', ARGV[1]) end
redis.call('HSET', KEYS[1], 'w', 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
`)

// holdScript holds an estimate in every (scope, period) without checking
// the limits: the hold of a reservation the local fallback admitted while
// Redis was down, registered once Redis answers. Released by settleScript.
// KEYS: per scope day hash, day holds, month hash, month holds.
// ARGV: hold_expiry_ms, member, estimate, day_ttl_s, month_ttl_s.
var holdScript = redis.NewScript(`
local ttl = {tonumber(ARGV[4]), tonumber(ARGV[5])}
for i = 1, #KEYS / 4 do
  for p = 1, 2 do
    local h, z = KEYS[4*(i-1) + 2*p - 1], KEYS[4*(i-1) + 2*p]
    if redis.call('ZADD', z, 'NX', ARGV[1], ARGV[2]) == 1 then
      redis.call('HINCRBY', h, 'r', ARGV[3])
    end
    redis.call('EXPIRE', z, ttl[p])
    redis.call('EXPIRE', h, ttl[p])
  end
end
return 0
`)
