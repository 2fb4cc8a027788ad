package tuning

import (
	"errors"
	"testing"
)

func TestRules(t *testing.T) {
	for _, c := range []struct {
		rule            Rule
		current, wanted string
		ok              bool
		target          string // "" when the rule is satisfied and nothing would be written
		err             bool
	}{
		{rule: AtLeast, current: "4096", wanted: "16384", target: "16384"},
		{rule: AtLeast, current: "16384", wanted: "16384", ok: true},
		{rule: AtLeast, current: "65535", wanted: "16384", ok: true},
		{rule: AtLeast, current: "9223372036854775807", wanted: "262144", ok: true},
		{rule: AtLeast, current: "18446744073709551615", wanted: "1", ok: true}, // beyond int64
		{rule: AtLeast, current: "infinity", wanted: "2097152", ok: true},
		{rule: AtLeast, current: "unlimited", wanted: "2097152", ok: true},
		{rule: AtLeast, current: "-1", wanted: "0", target: "0"},
		{rule: AtLeast, current: "lots", wanted: "1", err: true},
		{rule: AtLeast, current: "1 2", wanted: "1", err: true},
		{rule: AtLeast, current: "", wanted: "1", err: true},
		{rule: AtMost, current: "7200", wanted: "60", target: "60"},
		{rule: AtMost, current: "60", wanted: "60", ok: true},
		{rule: AtMost, current: "30", wanted: "60", ok: true},
		{rule: Equal, current: "2", wanted: "1", target: "1"},
		{rule: Equal, current: "1", wanted: "1", ok: true},
		{rule: Equal, current: "01", wanted: "1", ok: true},
		{rule: Equal, current: "on", wanted: "on", ok: true},
		{rule: Equal, current: "a \t b", wanted: "a b", ok: true},
		{rule: Equal, current: "cubic", wanted: "bbr", target: "bbr"},
		{rule: RangeCovers, current: "32768 60999", wanted: "10000 65535", target: "10000 65535"},
		{rule: RangeCovers, current: "1024 65535", wanted: "10000 65535", ok: true},
		{rule: RangeCovers, current: "10000\t65535", wanted: "10000 65535", ok: true},
		{rule: RangeCovers, current: "1024 60999", wanted: "10000 65535", target: "1024 65535"},   // keeps the wider low end
		{rule: RangeCovers, current: "20000 65535", wanted: "10000 65535", target: "10000 65535"}, // low end too high
		{rule: RangeCovers, current: "32768", wanted: "10000 65535", err: true},
		{rule: TripleAtLeast, current: "93069 124092 186138", wanted: "196608 262144 393216", target: "196608 262144 393216"},
		{rule: TripleAtLeast, current: "288459\t384612\t576918", wanted: "196608 262144 393216", ok: true},
		{rule: TripleAtLeast, current: "196608 262144 393216", wanted: "196608 262144 393216", ok: true},
		// One field short fails the triple; the target keeps the larger fields.
		{rule: TripleAtLeast, current: "4096 131072 33554432", wanted: "4096 131072 6291456", ok: true},
		{rule: TripleAtLeast, current: "4096 87380 33554432", wanted: "4096 131072 6291456", target: "4096 131072 33554432"},
		{rule: TripleAtLeast, current: "300000 200000 600000", wanted: "196608 262144 393216", target: "300000 262144 600000"},
		{rule: TripleAtLeast, current: "1 2", wanted: "1 2 3", err: true},
		{rule: Advice, current: "", wanted: "on", err: true}, // no target
	} {
		ok, err := c.rule.Satisfied(c.current, c.wanted)
		if c.err && c.rule != Advice {
			if err == nil || !errors.Is(err, ErrBadValue) {
				t.Errorf("%s(%q, %q): err = %v, want ErrBadValue", c.rule, c.current, c.wanted, err)
			}
			continue
		}
		if err != nil || ok != c.ok {
			t.Errorf("%s(%q, %q) = %v, %v; want %v", c.rule, c.current, c.wanted, ok, err, c.ok)
		}
		target, err := c.rule.Target(c.current, c.wanted)
		if c.rule == Advice {
			if err == nil {
				t.Errorf("advice has a target %q", target)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.Target(%q, %q): %v", c.rule, c.current, c.wanted, err)
			continue
		}
		// The target always satisfies the rule...
		if ok, _ := c.rule.Satisfied(target, c.wanted); !ok {
			t.Errorf("%s.Target(%q, %q) = %q, which does not satisfy it", c.rule, c.current, c.wanted, target)
		}
		// ...and is what we expect when a write is needed.
		if !c.ok && target != c.target {
			t.Errorf("%s.Target(%q, %q) = %q, want %q", c.rule, c.current, c.wanted, target, c.target)
		}
	}
}

func TestRuleCheckWanted(t *testing.T) {
	for _, c := range []struct {
		rule   Rule
		wanted string
		ok     bool
	}{
		{AtLeast, "1", true},
		{AtLeast, "infinity", true},
		{AtLeast, "1.5", false},
		{AtLeast, "", false},
		{RangeCovers, "10000 65535", true},
		{RangeCovers, "65535 10000", false},
		{TripleAtLeast, "1 2 3", true},
		{TripleAtLeast, "1 3 2", false},
		{TripleAtLeast, "1 2", false},
		{Equal, "anything at all", true},
		{Advice, "rx max", true},
		{Rule("about"), "1", false},
	} {
		if err := c.rule.checkWanted(c.wanted); (err == nil) != c.ok {
			t.Errorf("%s %q: err = %v, want ok=%v", c.rule, c.wanted, err, c.ok)
		}
	}
}

func TestRuleShow(t *testing.T) {
	for rule, want := range map[Rule]string{
		AtLeast: ">= 1 2", AtMost: "<= 1 2", Equal: "= 1 2", RangeCovers: "covers 1 2",
		TripleAtLeast: ">= 1 2", Advice: "1 2",
	} {
		if got := rule.Show("1\t 2"); got != want {
			t.Errorf("%s.Show = %q, want %q", rule, got, want)
		}
	}
}
