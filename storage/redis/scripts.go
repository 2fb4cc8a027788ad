package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sync/atomic"

	"github.com/redis/rueidis"
)

// Each script touches the keys of one hash tag only, so it runs on one
// Redis Cluster slot. Scores and times are Unix milliseconds (microseconds
// for the limiter), integers well inside a double's exact range.

// The info hash holds: ls (last seen, ms), on ("1" from the Beat that
// brought the user online until the Leave or Expire that took them
// offline), st (status), inv ("1" when invisible). The edge set exists
// exactly while the user is online, except when its key TTL ran out with no
// Expire in time (the backstop): then on is still "1" and the user's latest
// expiry is only in the expiry index.

// beatLua records one (user, edge) entry when the pipelined refresh could
// not (the entry was absent): the user may be coming online.
// KEYS: edges, info. ARGV: edge, expiry, now, edges key TTL, info key TTL.
// Returns 1 if the user was offline (their edge set was empty).
const beatLua = `
local was = redis.call('ZCARD', KEYS[1])
if was > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3]) end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if was == 0 then redis.call('HSET', KEYS[2], 'on', '1') end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if was == 0 then return 1 end
return 0`

// leaveLua removes one (user, edge) entry.
// KEYS: edges, info. ARGV: edge, at, info key TTL.
// Returns 1 if the user went offline.
const leaveLua = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('HSET', KEYS[2], 'ls', ARGV[2], 'on', '0')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`

// expireLua expires one user if every entry expired.
// KEYS: edges, info. ARGV: now, info key TTL, the user's index score.
// Returns {-1} when the user is offline already, {0, latest expiry} when an
// entry is live (expired ones are dropped), {1, last seen, status,
// invisible} when this call took the user offline. A user whose edge set
// vanished by key TTL (on is still "1") is taken offline here too, late,
// with the index score as last seen.
const expireLua = `
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ls
if #top == 0 then
  if redis.call('HGET', KEYS[2], 'on') ~= '1' then return {-1} end
  ls = ARGV[3]
elseif tonumber(top[2]) > tonumber(ARGV[1]) then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  return {0, top[2]}
else
  ls = top[2]
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[2], 'ls', ls, 'on', '0')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local h = redis.call('HMGET', KEYS[2], 'st', 'inv')
return {1, ls, h[1] or '', h[2] or ''}`

// unindexLua removes members from an expiry index shard, each only if its
// score is still ≤ now: a concurrent Beat that re-indexed a user wins.
// KEYS: shard. ARGV: now, member...
const unindexLua = `
local now, n = tonumber(ARGV[1]), 0
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= now then n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return n`

// getLua reads one user. KEYS: edges, info.
// Returns {online 0/1, last seen, status, invisible, on} (” for absent
// fields).
const getLua = `
local h = redis.call('HMGET', KEYS[2], 'ls', 'st', 'inv', 'on')
return {redis.call('EXISTS', KEYS[1]), h[1] or '', h[2] or '', h[3] or '', h[4] or ''}`

// statusLua sets status and invisible together. KEYS: info.
// ARGV: status, invisible 0/1, info key TTL.
const statusLua = `
redis.call('HSET', KEYS[1], 'st', ARGV[1], 'inv', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`

// allowLua is GCRA: the key holds the theoretical arrival time (TAT) in
// microseconds; a request is admitted if TAT + emission − tolerance ≤ now,
// and then TAT advances by one emission interval. The key lives until the
// bucket would be full again (TAT − now).
// KEYS: limiter key. ARGV: now, emission interval, tolerance (emission × burst).
// Returns 1 if admitted.
const allowLua = `
local now, t, tol = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new = tat + t
if new - tol > now then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.max(1, math.ceil((new - now) / 1000)))
return 1`

// script is a Lua script run with EVALSHA. It is not rueidis.Lua because
// Lua.ExecMulti sends SCRIPT LOAD to every node on each call; conn.run
// loads scripts only after a NOSCRIPT reply (a restart, failover or SCRIPT
// FLUSH) and keeps each batch to one pipeline.
type script struct {
	src, sha string
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

var scripts = struct {
	beat, leave, expire, unindex, get, status, allow *script
}{
	newScript(beatLua), newScript(leaveLua), newScript(expireLua), newScript(unindexLua),
	newScript(getLua), newScript(statusLua), newScript(allowLua),
}

func (s *script) cmd(c rueidis.Client, keys []string, args ...string) rueidis.Completed {
	return c.B().Evalsha().Sha1(s.sha).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
}

// conn is a client plus the batch runner shared by Presence and Limiter.
type conn struct {
	c     rueidis.Client
	own   bool          // Close closes c
	sent  atomic.Uint64 // commands sent, retries included (benchmarks read it)
	trips atomic.Uint64 // pipelines sent: DoMulti and Do calls
}

// run builds n commands with build, sends them in one pipeline and returns
// their results in order. Commands answered NOSCRIPT did not run: they are
// rebuilt and sent once more after every script is loaded on every node.
// A zero n sends nothing.
func (c *conn) run(ctx context.Context, n int, build func(i int) rueidis.Completed) []rueidis.RedisResult {
	if n == 0 {
		return nil
	}
	cmds := make(rueidis.Commands, n)
	for i := range cmds {
		cmds[i] = build(i)
	}
	c.sent.Add(uint64(n))
	c.trips.Add(1)
	res := c.c.DoMulti(ctx, cmds...)
	var retry []int
	for i := range res {
		if isNoScript(res[i]) {
			retry = append(retry, i)
		}
	}
	if len(retry) == 0 {
		return res
	}
	if err := c.load(ctx); err != nil {
		for _, i := range retry {
			res[i] = rueidis.NewErrorResult(err)
		}
		return res
	}
	cmds = cmds[:0]
	for _, i := range retry {
		cmds = append(cmds, build(i))
	}
	c.sent.Add(uint64(len(cmds)))
	c.trips.Add(1)
	for j, r := range c.c.DoMulti(ctx, cmds...) {
		res[retry[j]] = r
	}
	return res
}

// do runs one command through rueidis's auto-pipelining (concurrent
// callers share network writes), with the same NOSCRIPT retry as run.
func (c *conn) do(ctx context.Context, build func() rueidis.Completed) rueidis.RedisResult {
	c.sent.Add(1)
	c.trips.Add(1)
	r := c.c.Do(ctx, build())
	if !isNoScript(r) {
		return r
	}
	if err := c.load(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	c.sent.Add(1)
	c.trips.Add(1)
	return c.c.Do(ctx, build())
}

func isNoScript(r rueidis.RedisResult) bool {
	e, ok := rueidis.IsRedisErr(r.Error())
	return ok && e.IsNoScript()
}

// load sends SCRIPT LOAD of every script to every node.
func (c *conn) load(ctx context.Context) error {
	all := []*script{scripts.beat, scripts.leave, scripts.expire, scripts.unindex, scripts.get, scripts.status, scripts.allow}
	for _, node := range c.c.Nodes() {
		cmds := make(rueidis.Commands, len(all))
		for i, s := range all {
			cmds[i] = node.B().ScriptLoad().Script(s.src).Build()
		}
		c.sent.Add(uint64(len(cmds)))
		for _, r := range node.DoMulti(ctx, cmds...) {
			if err := r.Error(); err != nil {
				return err
			}
		}
	}
	return nil
}
