-- Accept one report atomically, in one round trip (and so one AOF fsync group).
-- KEYS[1] rate-limit counter   KEYS[2] idempotency marker   KEYS[3] raw payload   KEYS[4] metrics hash
-- ARGV[1] limit per window (0: none)   ARGV[2] rate key TTL   ARGV[3] "1" to check for a resend
-- ARGV[4] idempotency TTL   ARGV[5] sealed payload   ARGV[6] raw TTL
-- ARGV[7..] RQ's own enqueue commands, each as: argc, arg1, ..., argN
-- Returns 1 accepted, 0 resend of an accepted report, -1 over the rate limit.
local limit = tonumber(ARGV[1])
if limit > 0 then
  local count = redis.call('INCR', KEYS[1])
  if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  if count > limit then return -1 end
end
if ARGV[3] == '1' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) then
    redis.call('HINCRBY', KEYS[4], 'reports_duplicate_total', 1)
    return 0
  end
end
redis.call('SET', KEYS[3], ARGV[5], 'NX', 'EX', ARGV[6])
local i = 7
while i <= #ARGV do
  local argc = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
redis.call('HINCRBY', KEYS[4], 'reports_accepted_total', 1)
return 1
