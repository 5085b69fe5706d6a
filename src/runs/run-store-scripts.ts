/**
 * Lua for the run store. Each script is one atomic step on one Redis Cluster slot and does a
 * constant number of O(1)/O(log n) commands, so the cost of a call does not grow with the
 * number of runs or the length of a run's log (HGETALL of the record is bounded by RUN_LIMITS).
 * Every key a script touches arrives in KEYS (nothing is built from a prefix inside Lua), so
 * Redis Cluster can check that they share a slot.
 *
 * Every run script takes the same five KEYS, all tagged `{run:<id>}`:
 *   1 run hash, 2 events list, 3 event-keys hash, 4 steps hash, 5 step-results hash
 * and refreshes the TTL of all of them on every write, so a run's keys expire together.
 * The idempotency key and the indexes (tag `{idx}`) are written by their own scripts.
 */

const TOUCH = `
local function touch(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function member(csv, value)
  for item in string.gmatch(csv, '[^,]+') do
    if item == value then return true end
  end
  return false
end
`;

/**
 * Step 1 of createRun, on the `{idx}` slot. KEYS: 1 idempotency key. ARGV: 1 new run id, 2 ttl ms.
 * Returns the run id the key names: the existing one, or ARGV[1] when this call claimed it.
 */
export const CLAIM_IDEMPOTENCY_LUA = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

/**
 * Step 2 of createRun, on the run's slot: writes the record unless it exists. Two callers with
 * one idempotency key get the same id from step 1, so exactly one of them creates the run, and
 * a caller that finds a claimed id without a record (its first claimer died, or is still
 * between the steps) completes it.
 * ARGV: 1 ttl ms, 2 created-event JSON, 3.. field/value pairs.
 * Returns {1, hgetall} when created, {0, hgetall} when the run already existed.
 */
export const CREATE_RUN_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('HGETALL', KEYS[1])}
end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('RPUSH', KEYS[2], ARGV[2])
touch(ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
`;

/**
 * Step 3 of createRun and of every transition, on the `{idx}` slot: puts a run in its indexes.
 * KEYS: 1 version hash, 2 idempotency key, 3..(2+n) member indexes (all, repo, kind[, pr]),
 *       then every state index.
 * ARGV: 1 run id, 2 run version, 3 position in KEYS of the run's state index, 4 ttl ms,
 *       5 n (how many member indexes).
 * Member indexes only ever gain the id (ZADD is idempotent). The state entry moves only when
 * ARGV[2] is at least the version the indexes show: a late or repeated step of an older
 * transition cannot undo a newer one, and repeating the newest repairs a half-done move.
 * Returns 1 when the state entry was (re)applied, 0 when the indexes already show a newer version.
 */
export const INDEX_RUN_LUA = `
local id, version, target = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = tonumber(ARGV[5])
for i = 3, 2 + n do redis.call('ZADD', KEYS[i], 0, id) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local shown = tonumber(redis.call('HGET', KEYS[1], id) or '0')
if version < shown then return 0 end
redis.call('HSET', KEYS[1], id, version)
for i = 3 + n, #KEYS do
  if i == target then redis.call('ZADD', KEYS[i], 0, id) else redis.call('ZREM', KEYS[i], id) end
end
return 1
`;

/**
 * Drops ids whose record expired from one index and from the version hash, on the `{idx}` slot.
 * KEYS: 1 index, 2 version hash. ARGV: the ids.
 */
export const PRUNE_INDEX_LUA = `
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
return 0
`;

/**
 * ARGV: 1 from states (csv), 2 the subset of 1 allowed to reach 3 by the
 *       transition table (csv), 3 to state, 4 expected version ('' = any), 5 env action
 *       ('keep' | 'clear' | 'set:<env>'), 6 updatedAt, 7 event JSON object (without "from"),
 *       8 event key ('' = none), 9 ttl ms, 10 reason ('' = unchanged), 11 supersededBy ('' = unchanged)
 * Returns {status, hgetall}; status is ok | replayed | not-found | state-mismatch |
 * version-mismatch | not-allowed. The state index moves in a second step (INDEX_RUN_LUA).
 */
export const TRANSITION_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', {}} end
local eventKey = ARGV[8]
if eventKey ~= '' and redis.call('HEXISTS', KEYS[3], eventKey) == 1 then
  return {'replayed', redis.call('HGETALL', KEYS[1])}
end
local cur = redis.call('HMGET', KEYS[1], 'state', 'version')
local state, version = cur[1], cur[2]
if not member(ARGV[1], state) then return {'state-mismatch', redis.call('HGETALL', KEYS[1])} end
if ARGV[4] ~= '' and ARGV[4] ~= version then
  return {'version-mismatch', redis.call('HGETALL', KEYS[1])}
end
if not member(ARGV[2], state) then return {'not-allowed', redis.call('HGETALL', KEYS[1])} end
local to = ARGV[3]
redis.call('HSET', KEYS[1], 'state', to, 'version', tonumber(version) + 1, 'updatedAt', ARGV[6])
local envAction = ARGV[5]
if envAction == 'clear' then
  redis.call('HDEL', KEYS[1], 'currentEnv')
elseif envAction ~= 'keep' then
  redis.call('HSET', KEYS[1], 'currentEnv', string.sub(envAction, 5))
end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'reason', ARGV[10]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'supersededBy', ARGV[11]) end
-- States are enum words (no quotes), so splicing "from" into the object literal is safe.
local entry = string.sub(ARGV[7], 1, -2) .. ',"from":"' .. state .. '"}'
local seq = redis.call('RPUSH', KEYS[2], entry)
if eventKey ~= '' then redis.call('HSET', KEYS[3], eventKey, seq) end
touch(ARGV[9])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: 1 event JSON, 2 event key ('' = none), 3 ttl ms, 4 max events per run.
 * Returns {status, seq}; status is appended | duplicate | dropped | not-found.
 */
export const APPEND_EVENT_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', 0} end
local eventKey = ARGV[2]
if eventKey ~= '' then
  local seen = redis.call('HGET', KEYS[3], eventKey)
  if seen then return {'duplicate', tonumber(seen)} end
end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) then
  redis.call('HINCRBY', KEYS[1], 'droppedEvents', 1)
  return {'dropped', 0}
end
local seq = redis.call('RPUSH', KEYS[2], ARGV[1])
if eventKey ~= '' then redis.call('HSET', KEYS[3], eventKey, seq) end
touch(ARGV[3])
return {'appended', seq}
`;

/**
 * ARGV: 1 expected version ('' = any), 2 updatedAt, 3 ttl ms, 4.. field/value pairs.
 * Returns {status, hgetall}; status is ok | not-found | version-mismatch.
 */
export const UPDATE_FIELDS_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not-found', {}} end
if ARGV[1] ~= '' and ARGV[1] ~= redis.call('HGET', KEYS[1], 'version') then
  return {'version-mismatch', redis.call('HGETALL', KEYS[1])}
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2])
touch(ARGV[3])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: 1 step key, 2 claimedAt, 3 ttl ms.
 * Returns 1 when this call claimed the step, 0 when it was claimed before, -1 when the run is unknown.
 */
export const CLAIM_STEP_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local claimed = redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[2])
touch(ARGV[3])
return claimed
`;

/**
 * ARGV: 1 step key. Drops a claim that has no recorded result.
 * Returns 1 when released, 0 when a result exists (the step happened) or there was no claim.
 */
export const RELEASE_STEP_LUA = `
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return 0 end
return redis.call('HDEL', KEYS[4], ARGV[1])
`;

/**
 * ARGV: 1 step key, 2 result JSON, 3 claimedAt (used if the step was not claimed), 4 ttl ms.
 * Returns 1, or -1 when the run is unknown.
 */
export const RECORD_STEP_RESULT_LUA = `
${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
touch(ARGV[4])
return 1
`;
