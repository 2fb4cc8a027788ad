package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/salamhq/salam/core/presence"
)

var _ presence.Store = (*Presence)(nil)

// Presence is presence.Store in Redis (standalone or Cluster), shared by
// every core process. See the package doc for the keys and their costs.
type Presence struct {
	conn   *conn
	opt    Options
	shards []string      // expiry index keys, by shard number
	turn   atomic.Uint32 // first shard Expire takes candidates from
}

// Open connects to Redis at addr (host:port; for a Cluster, several seed
// addresses separated by commas) and returns a Presence that owns the
// connection: Close closes it.
func Open(addr string, opt Options) (*Presence, error) {
	opt = opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:  strings.Split(addr, ","),
		DisableCache: true, // no client-side caching: presence is read once per fan-out
	})
	if err != nil {
		return nil, fmt.Errorf("redis: connect %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := checkVersion(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	p, _ := NewPresence(c, opt) // opt already valid
	p.conn.own = true
	return p, nil
}

// NewPresence returns a Presence over an existing client, which Close
// leaves open (share one client between Presence and Limiter).
func NewPresence(c rueidis.Client, opt Options) (*Presence, error) {
	opt = opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	p := &Presence{conn: &conn{c: c}, opt: opt, shards: make([]string, opt.Shards)}
	for i := range p.shards {
		p.shards[i] = opt.Prefix + "{pexp:" + strconv.Itoa(i) + "}"
	}
	return p, nil
}

// checkVersion fails unless every node runs Redis 7.0 or later (PEXPIRE GT).
func checkVersion(ctx context.Context, c rueidis.Client) error {
	for addr, node := range c.Nodes() {
		info, err := node.Do(ctx, node.B().Info().Section("server").Build()).ToString()
		if err != nil {
			return fmt.Errorf("redis: INFO on %s: %w", addr, err)
		}
		var major int
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
				major, _ = strconv.Atoi(strings.SplitN(v, ".", 2)[0])
			}
		}
		if major < 7 {
			return fmt.Errorf("%w: %s runs Redis %d, need 7.0 or later", ErrUnsupported, addr, major)
		}
	}
	return nil
}

// Client returns the Redis client, to build a Limiter on the same
// connection.
func (p *Presence) Client() rueidis.Client { return p.conn.c }

// Close closes the client if Open created it.
func (p *Presence) Close() {
	if p.conn.own {
		p.conn.c.Close()
	}
}

// Keys. A user's keys share the hash tag {u:<user>}: whatever bytes the id
// holds, both keys hash on the same text, so a script given both runs on
// one Cluster slot.
func (p *Presence) edgesKey(user string) string { return p.opt.Prefix + "{u:" + user + "}:edges" }
func (p *Presence) infoKey(user string) string  { return p.opt.Prefix + "{u:" + user + "}:info" }

// shard is FNV-1a of the user id modulo the shard count.
func (p *Presence) shard(user string) int {
	h := uint32(2166136261)
	for i := 0; i < len(user); i++ {
		h ^= uint32(user[i])
		h *= 16777619
	}
	return int(h % uint32(len(p.shards)))
}

// Beat implements presence.Store in one pipeline in the steady state:
//
//   - per user, plain commands refresh an entry that exists: ZADD XX CH of
//     the edge set (1 when the entry was there and moved), PEXPIRE GT of the
//     edge set (ttl + Grace) and PEXPIRE of the info hash (LastSeenTTL);
//   - per expiry shard touched, one ZADD listing its users.
//
// An entry that exists means the user is online, so those users need no
// transition. Users whose entry was absent (new on this edge, or back after
// going offline) get a second pipeline: one EVALSHA each, which adds the
// entry and makes the offline→online transition atomically. Steady state:
// 3·len(users) + ≤ Shards commands and one round trip, no Lua.
func (p *Presence) Beat(ctx context.Context, edge string, users []string, ttl time.Duration, now time.Time) ([]string, error) {
	if err := checkIDs(edge, users); err != nil {
		return nil, err
	}
	if err := presence.ValidTTL(ttl); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, nil
	}
	c := p.conn.c
	expMs := now.Add(ttl).UnixMilli()
	edgesTTL, infoTTL := (ttl + p.opt.Grace).Milliseconds(), p.opt.LastSeenTTL.Milliseconds()

	// Group users by shard for one ZADD per shard.
	byShard := make([][]string, len(p.shards))
	for _, u := range users {
		s := p.shard(u)
		byShard[s] = append(byShard[s], u)
	}
	var zadds []int // shard of each ZADD, in command order after the refreshes
	for s, us := range byShard {
		if len(us) > 0 {
			zadds = append(zadds, s)
		}
	}
	score := float64(expMs)
	n := 3 * len(users)
	edgesKeys := make([]string, len(users)) // each used twice
	for i, u := range users {
		edgesKeys[i] = p.edgesKey(u)
	}
	res := p.conn.run(ctx, n+len(zadds), func(i int) rueidis.Completed {
		if i < n {
			u := users[i/3]
			switch i % 3 {
			case 0:
				return c.B().Zadd().Key(edgesKeys[i/3]).Xx().Ch().ScoreMember().ScoreMember(score, edge).Build()
			case 1:
				return c.B().Pexpire().Key(edgesKeys[i/3]).Milliseconds(edgesTTL).Gt().Build()
			default:
				return c.B().Pexpire().Key(p.infoKey(u)).Milliseconds(infoTTL).Build()
			}
		}
		s := zadds[i-n]
		z := c.B().Zadd().Key(p.shards[s]).ScoreMember()
		for _, u := range byShard[s] {
			z = z.ScoreMember(score, u)
		}
		return z.Build()
	})
	var errs []error
	var absent []int // users (by index) whose entry the refresh did not find
	for i, r := range res {
		v, err := r.AsInt64()
		switch {
		case err != nil:
			errs = append(errs, err)
		case i < n && i%3 == 0 && v == 0:
			absent = append(absent, i/3)
		}
	}
	if len(errs) > 0 || len(absent) == 0 {
		return nil, wrapErrs("beat", errs)
	}

	exp, nowS := strconv.FormatInt(expMs, 10), strconv.FormatInt(now.UnixMilli(), 10)
	edgesTTLS, infoTTLS := strconv.FormatInt(edgesTTL, 10), strconv.FormatInt(infoTTL, 10)
	res = p.conn.run(ctx, len(absent), func(i int) rueidis.Completed {
		u := users[absent[i]]
		return scripts.beat.cmd(c, []string{edgesKeys[absent[i]], p.infoKey(u)}, edge, exp, nowS, edgesTTLS, infoTTLS)
	})
	var came []string
	for i, r := range res {
		v, err := r.AsInt64()
		switch {
		case err != nil:
			errs = append(errs, err)
		case v == 1:
			came = append(came, users[absent[i]])
		}
	}
	return came, wrapErrs("beat", errs)
}

// Leave implements presence.Store with one EVALSHA per user, in one
// pipeline. It leaves the user's expiry index entry: Expire drops it once
// its score has passed, and removing it here could race a Beat of another
// edge that re-indexed the user.
func (p *Presence) Leave(ctx context.Context, edge string, users []string, at time.Time) ([]string, error) {
	if err := checkIDs(edge, users); err != nil {
		return nil, err
	}
	c := p.conn.c
	atS := strconv.FormatInt(at.UnixMilli(), 10)
	infoTTL := strconv.FormatInt(p.opt.LastSeenTTL.Milliseconds(), 10)
	res := p.conn.run(ctx, len(users), func(i int) rueidis.Completed {
		u := users[i]
		return scripts.leave.cmd(c, []string{p.edgesKey(u), p.infoKey(u)}, edge, atS, infoTTL)
	})
	var went []string
	var errs []error
	for i, r := range res {
		n, err := r.AsInt64()
		switch {
		case err != nil:
			errs = append(errs, err)
		case n == 1:
			went = append(went, users[i])
		}
	}
	return went, wrapErrs("leave", errs)
}

// Expire implements presence.Store in three pipelined round trips:
//
//  1. ZRANGEBYSCORE of every shard for members with score ≤ now; at most
//     limit candidates are kept, taken shard by shard from a rotating start.
//  2. One EVALSHA per candidate on the user's keys: the atomic check that
//     every entry expired, and the transition. Only one caller's script can
//     see the entries and delete them, so only one caller returns the user.
//  3. Index upkeep: candidates still live are re-scored to their latest
//     expiry (ZADD GT); the others are removed from their shard, each only
//     if its score is still ≤ now (a concurrent Beat may have re-indexed it).
//
// An index score is a hint no later than the user's latest expiry, so a
// live user found early costs one script and a re-score, never a missed
// expiry.
func (p *Presence) Expire(ctx context.Context, now time.Time, limit int) ([]presence.State, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: Expire limit %d, want ≥ 1", presence.ErrInvalid, limit)
	}
	c := p.conn.c
	nowS := strconv.FormatInt(now.UnixMilli(), 10)
	infoTTL := strconv.FormatInt(p.opt.LastSeenTTL.Milliseconds(), 10)

	// 1. Candidates.
	n := len(p.shards)
	start := int(p.turn.Add(1)) % n
	ranges := p.conn.run(ctx, n, func(i int) rueidis.Completed {
		return c.B().Zrangebyscore().Key(p.shards[(start+i)%n]).Min("-inf").Max(nowS).Withscores().Limit(0, int64(limit)).Build()
	})
	type candidate struct {
		user, score string
		shard       int
	}
	var cands []candidate
	for i, r := range ranges {
		zs, err := r.AsZScores()
		if err != nil {
			return nil, fmt.Errorf("redis: expire: scan shard: %w", err)
		}
		for _, z := range zs {
			if len(cands) == limit {
				break
			}
			cands = append(cands, candidate{z.Member, strconv.FormatInt(int64(z.Score), 10), (start + i) % n})
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}

	// 2. Transitions.
	res := p.conn.run(ctx, len(cands), func(i int) rueidis.Completed {
		u := cands[i].user
		return scripts.expire.cmd(c, []string{p.edgesKey(u), p.infoKey(u)}, nowS, infoTTL, cands[i].score)
	})
	var out []presence.State
	var errs []error
	unindex := make(map[int][]string) // shard → users to drop
	type rescore struct {
		shard int
		user  string
		score float64
	}
	var live []rescore
	for i, r := range res {
		arr, err := r.ToArray()
		if err == nil && len(arr) == 0 {
			err = ErrReply
		}
		var code int64
		if err == nil {
			code, err = arr[0].AsInt64()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cd := cands[i]
		switch {
		case code == -1:
			unindex[cd.shard] = append(unindex[cd.shard], cd.user)
		case code == 0 && len(arr) == 2:
			ms, err := msOf(arr[1])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			live = append(live, rescore{cd.shard, cd.user, float64(ms)})
		case code == 1 && len(arr) == 4:
			s, err := expiredState(cd.user, arr[1:])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, s)
			unindex[cd.shard] = append(unindex[cd.shard], cd.user)
		default:
			errs = append(errs, fmt.Errorf("%w: expire script returned %d with %d values", ErrReply, code, len(arr)))
		}
	}

	// 3. Index upkeep.
	var shardsOut []int
	for s := range unindex {
		shardsOut = append(shardsOut, s)
	}
	upkeep := p.conn.run(ctx, len(shardsOut)+len(live), func(i int) rueidis.Completed {
		if i < len(shardsOut) {
			s := shardsOut[i]
			return scripts.unindex.cmd(c, []string{p.shards[s]}, append([]string{nowS}, unindex[s]...)...)
		}
		l := live[i-len(shardsOut)]
		return c.B().Zadd().Key(p.shards[l.shard]).Gt().ScoreMember().ScoreMember(l.score, l.user).Build()
	})
	for _, r := range upkeep {
		if err := r.Error(); err != nil {
			errs = append(errs, err)
		}
	}
	return out, wrapErrs("expire", errs)
}

// Get implements presence.Store with one EVALSHA per user (an atomic read
// of both keys), in one pipeline. A user whose edge set vanished by key TTL
// before any Expire reads offline, with the latest expiry from the expiry
// index as LastSeen (one more ZSCORE each, in a second pipeline).
func (p *Presence) Get(ctx context.Context, users []string) ([]presence.State, error) {
	for _, u := range users {
		if err := presence.ValidID("user", u); err != nil {
			return nil, err
		}
	}
	c := p.conn.c
	res := p.conn.run(ctx, len(users), func(i int) rueidis.Completed {
		u := users[i]
		return scripts.get.cmd(c, []string{p.edgesKey(u), p.infoKey(u)})
	})
	out := make([]presence.State, len(users))
	var lapsed []int // users offline by key TTL, not yet through Expire
	for i, r := range res {
		s, on, err := gotState(users[i], r)
		if err != nil {
			return nil, fmt.Errorf("redis: get %q: %w", users[i], err)
		}
		out[i] = s
		if !s.Online && on {
			lapsed = append(lapsed, i)
		}
	}
	res = p.conn.run(ctx, len(lapsed), func(i int) rueidis.Completed {
		u := users[lapsed[i]]
		return c.B().Zscore().Key(p.shards[p.shard(u)]).Member(u).Build()
	})
	for j, r := range res {
		score, err := r.AsFloat64()
		if rueidis.IsRedisNil(err) {
			continue // Expire is taking the user offline right now
		}
		if err != nil {
			return nil, fmt.Errorf("redis: get %q: %w", users[lapsed[j]], err)
		}
		out[lapsed[j]].LastSeen = time.UnixMilli(int64(score)).UTC()
	}
	return out, nil
}

// SetStatus implements presence.Store with one EVALSHA on the user's info
// hash.
func (p *Presence) SetStatus(ctx context.Context, user, status string, invisible bool) error {
	if err := presence.ValidID("user", user); err != nil {
		return err
	}
	if err := presence.ValidStatus(status); err != nil {
		return err
	}
	inv := "0"
	if invisible {
		inv = "1"
	}
	infoTTL := strconv.FormatInt(p.opt.LastSeenTTL.Milliseconds(), 10)
	r := p.conn.do(ctx, func() rueidis.Completed {
		return scripts.status.cmd(p.conn.c, []string{p.infoKey(user)}, status, inv, infoTTL)
	})
	if err := r.Error(); err != nil {
		return fmt.Errorf("redis: set status: %w", err)
	}
	return nil
}

// gotState decodes getLua's reply; on reports the info hash's on flag.
func gotState(user string, r rueidis.RedisResult) (s presence.State, on bool, err error) {
	arr, err := r.ToArray()
	if err != nil {
		return s, false, err
	}
	if len(arr) != 5 {
		return s, false, fmt.Errorf("%w: get script returned %d values", ErrReply, len(arr))
	}
	exists, err := arr[0].AsInt64()
	if err != nil {
		return s, false, err
	}
	s = presence.State{User: user, Online: exists == 1}
	if err := fillInfo(&s, arr[1:4]); err != nil {
		return s, false, err
	}
	flag, err := arr[4].ToString()
	if err != nil {
		return s, false, err
	}
	if s.Online {
		s.LastSeen = time.Time{}
	}
	return s, flag == "1", nil
}

// expiredState decodes expireLua's {last seen, status, invisible}.
func expiredState(user string, vals []rueidis.RedisMessage) (presence.State, error) {
	s := presence.State{User: user}
	return s, fillInfo(&s, vals)
}

// fillInfo sets LastSeen, Status and Invisible from {ls, st, inv} strings
// ("" when the field is absent).
func fillInfo(s *presence.State, vals []rueidis.RedisMessage) error {
	ls, err := vals[0].ToString()
	if err != nil {
		return err
	}
	if ls != "" {
		ms, err := strconv.ParseInt(ls, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: last seen %q", ErrReply, ls)
		}
		s.LastSeen = time.UnixMilli(ms).UTC()
	}
	if s.Status, err = vals[1].ToString(); err != nil {
		return err
	}
	inv, err := vals[2].ToString()
	s.Invisible = inv == "1"
	return err
}

// msOf parses a score string holding integer milliseconds.
func msOf(m rueidis.RedisMessage) (int64, error) {
	str, err := m.ToString()
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: score %q", ErrReply, str)
	}
	return ms, nil
}

func checkIDs(edge string, users []string) error {
	if err := presence.ValidID("edge", edge); err != nil {
		return err
	}
	for _, u := range users {
		if err := presence.ValidID("user", u); err != nil {
			return err
		}
	}
	return nil
}

// wrapErrs reports the first of errs and how many commands failed.
func wrapErrs(op string, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("redis: %s: %w", op, errs[0])
	}
	return fmt.Errorf("redis: %s: %d commands failed: %w", op, len(errs), errors.Join(errs[0], errs[1]))
}
