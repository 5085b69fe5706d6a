/**
 * Lua for the run store. Each script is one atomic step on one run and does a constant
 * number of O(1)/O(log n) commands, so the cost of a call does not grow with the number of
 * runs or the length of a run's log (HGETALL of the record is bounded by RUN_LIMITS).
 *
 * Every run script takes the same five KEYS:
 *   1 run hash, 2 events list, 3 event-keys hash, 4 steps hash, 5 step-results hash
 * and refreshes the TTL of all of them (plus the idempotency key) on every write, so a
 * run's keys expire together.
 */

const TOUCH = `
local function touch(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
  local idem = redis.call('HGET', KEYS[1], 'idempotencyKey')
  if idem then redis.call('PEXPIRE', PREFIX .. ':idem:' .. idem, ttl) end
end
local function member(csv, value)
  for item in string.gmatch(csv, '[^,]+') do
    if item == value then return true end
  end
  return false
end
`;

/**
 * ARGV: 1 prefix, 2 idempotency key, 3 new run id, 4 ttl ms, 5 created-event JSON,
 *       6 repo, 7 kind, 8 pr-index key suffix ('' when not a PR), 9.. field/value pairs.
 * Returns {1, hgetall} when created, {0, hgetall} when the key already had a live run.
 */
export const CREATE_RUN_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
local idemKey = PREFIX .. ':idem:' .. ARGV[2]
local existing = redis.call('GET', idemKey)
if existing then
  local existingKey = PREFIX .. ':run:' .. existing
  if redis.call('EXISTS', existingKey) == 1 then
    return {0, redis.call('HGETALL', existingKey)}
  end
end
local id = ARGV[3]
local ttl = ARGV[4]
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('SET', idemKey, id, 'PX', ttl)
touch(ttl)
redis.call('ZADD', PREFIX .. ':idx:all', 0, id)
redis.call('ZADD', PREFIX .. ':idx:repo:' .. ARGV[6], 0, id)
redis.call('ZADD', PREFIX .. ':idx:kind:' .. ARGV[7], 0, id)
redis.call('ZADD', PREFIX .. ':idx:state:queued', 0, id)
if ARGV[8] ~= '' then redis.call('ZADD', PREFIX .. ':idx:pr:' .. ARGV[8], 0, id) end
return {1, redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: 1 prefix, 2 from states (csv), 3 the subset of 2 allowed to reach 4 by the
 *       transition table (csv), 4 to state, 5 expected version ('' = any), 6 env action
 *       ('keep' | 'clear' | 'set:<env>'), 7 updatedAt, 8 event JSON object (without "from"),
 *       9 event key ('' = none), 10 ttl ms, 11 reason ('' = unchanged), 12 supersededBy ('' = unchanged)
 * Returns {status, hgetall}; status is ok | replayed | not-found | state-mismatch |
 * version-mismatch | not-allowed.
 */
export const TRANSITION_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', {}} end
local eventKey = ARGV[9]
if eventKey ~= '' and redis.call('HEXISTS', KEYS[3], eventKey) == 1 then
  return {'replayed', redis.call('HGETALL', KEYS[1])}
end
local cur = redis.call('HMGET', KEYS[1], 'state', 'version', 'id')
local state, version, id = cur[1], cur[2], cur[3]
if not member(ARGV[2], state) then return {'state-mismatch', redis.call('HGETALL', KEYS[1])} end
if ARGV[5] ~= '' and ARGV[5] ~= version then
  return {'version-mismatch', redis.call('HGETALL', KEYS[1])}
end
if not member(ARGV[3], state) then return {'not-allowed', redis.call('HGETALL', KEYS[1])} end
local to = ARGV[4]
redis.call('HSET', KEYS[1], 'state', to, 'version', tonumber(version) + 1, 'updatedAt', ARGV[7])
local envAction = ARGV[6]
if envAction == 'clear' then
  redis.call('HDEL', KEYS[1], 'currentEnv')
elseif envAction ~= 'keep' then
  redis.call('HSET', KEYS[1], 'currentEnv', string.sub(envAction, 5))
end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'reason', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'supersededBy', ARGV[12]) end
redis.call('ZREM', PREFIX .. ':idx:state:' .. state, id)
redis.call('ZADD', PREFIX .. ':idx:state:' .. to, 0, id)
-- States are enum words (no quotes), so splicing "from" into the object literal is safe.
local entry = string.sub(ARGV[8], 1, -2) .. ',"from":"' .. state .. '"}'
local seq = redis.call('RPUSH', KEYS[2], entry)
if eventKey ~= '' then redis.call('HSET', KEYS[3], eventKey, seq) end
touch(ARGV[10])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: 1 prefix, 2 event JSON, 3 event key ('' = none), 4 ttl ms, 5 max events per run.
 * Returns {status, seq}; status is appended | duplicate | dropped | not-found.
 */
export const APPEND_EVENT_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', 0} end
local eventKey = ARGV[3]
if eventKey ~= '' then
  local seen = redis.call('HGET', KEYS[3], eventKey)
  if seen then return {'duplicate', tonumber(seen)} end
end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[5]) then
  redis.call('HINCRBY', KEYS[1], 'droppedEvents', 1)
  return {'dropped', 0}
end
local seq = redis.call('RPUSH', KEYS[2], ARGV[2])
if eventKey ~= '' then redis.call('HSET', KEYS[3], eventKey, seq) end
touch(ARGV[4])
return {'appended', seq}
`;

/**
 * ARGV: 1 prefix, 2 expected version ('' = any), 3 updatedAt, 4 ttl ms, 5.. field/value pairs.
 * Returns {status, hgetall}; status is ok | not-found | version-mismatch.
 */
export const UPDATE_FIELDS_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', {}} end
if ARGV[2] ~= '' and ARGV[2] ~= redis.call('HGET', KEYS[1], 'version') then
  return {'version-mismatch', redis.call('HGETALL', KEYS[1])}
end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
touch(ARGV[4])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: 1 prefix, 2 step key, 3 claimedAt, 4 ttl ms.
 * Returns 1 when this call claimed the step, 0 when it was claimed before, -1 when the run is unknown.
 */
export const CLAIM_STEP_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local claimed = redis.call('HSETNX', KEYS[4], ARGV[2], ARGV[3])
touch(ARGV[4])
return claimed
`;

/**
 * ARGV: 1 prefix, 2 step key. Drops a claim that has no recorded result.
 * Returns 1 when released, 0 when a result exists (the step happened) or there was no claim.
 */
export const RELEASE_STEP_LUA = `
if redis.call('HEXISTS', KEYS[5], ARGV[2]) == 1 then return 0 end
return redis.call('HDEL', KEYS[4], ARGV[2])
`;

/**
 * ARGV: 1 prefix, 2 step key, 3 result JSON, 4 claimedAt (used if the step was not claimed), 5 ttl ms.
 * Returns 1, or -1 when the run is unknown.
 */
export const RECORD_STEP_RESULT_LUA = `
local PREFIX = ARGV[1]
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSETNX', KEYS[4], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[5], ARGV[2], ARGV[3])
touch(ARGV[5])
return 1
`;
