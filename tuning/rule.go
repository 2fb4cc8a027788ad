package tuning

import (
	"fmt"
	"math/big"
	"strings"
)

// Rule says how an entry's wanted value is compared with the current one.
// Every rule but Equal is satisfied by a value "stronger" than wanted, and
// Apply never weakens a value that already satisfies it.
type Rule string

const (
	// AtLeast: one integer, current >= wanted.
	AtLeast Rule = "at_least"
	// AtMost: one integer, current <= wanted.
	AtMost Rule = "at_most"
	// Equal: current == wanted, as integers when both are, else as text
	// with runs of whitespace collapsed.
	Equal Rule = "equal"
	// RangeCovers: "LO HI" (ip_local_port_range); the current range
	// contains the wanted one.
	RangeCovers Rule = "range_covers"
	// TripleAtLeast: "A B C" (tcp_mem, tcp_rmem, udp_mem); each current
	// field >= the wanted field.
	TripleAtLeast Rule = "triple_at_least"
	// Advice: never compared; the entry is a recommendation (NIC settings).
	Advice Rule = "advice"
)

// Infinity is how "infinity" and "unlimited" parse: RLIM_INFINITY.
const Infinity = ^uint64(0)

// arity is the number of integers a rule's values have; 0 means free text.
func (r Rule) arity() int {
	switch r {
	case AtLeast, AtMost:
		return 1
	case RangeCovers:
		return 2
	case TripleAtLeast:
		return 3
	}
	return 0
}

func (r Rule) known() bool {
	switch r {
	case AtLeast, AtMost, Equal, RangeCovers, TripleAtLeast, Advice:
		return true
	}
	return false
}

// checkWanted reports whether wanted is a well-formed value for the rule.
func (r Rule) checkWanted(wanted string) error {
	if !r.known() {
		return fmt.Errorf("%w: unknown rule %q", ErrBadValue, string(r))
	}
	if strings.TrimSpace(wanted) == "" {
		return fmt.Errorf("%w: empty value", ErrBadValue)
	}
	if r.arity() == 0 {
		return nil
	}
	w, err := parseInts(wanted, r.arity())
	if err != nil {
		return err
	}
	if len(w) > 1 && !ascending(w) {
		return fmt.Errorf("%w: %q is not in ascending order", ErrBadValue, wanted)
	}
	return nil
}

// Satisfied reports whether current meets wanted under the rule. Advice is
// never satisfied; an unparsable value is an error wrapping ErrBadValue.
func (r Rule) Satisfied(current, wanted string) (bool, error) {
	if r == Advice {
		return false, nil
	}
	if r == Equal {
		return equalValues(current, wanted), nil
	}
	c, w, err := r.parsePair(current, wanted)
	if err != nil {
		return false, err
	}
	switch r {
	case AtLeast, TripleAtLeast:
		for i := range w {
			if c[i].Cmp(w[i]) < 0 {
				return false, nil
			}
		}
		return true, nil
	case AtMost:
		return c[0].Cmp(w[0]) <= 0, nil
	case RangeCovers:
		return c[0].Cmp(w[0]) <= 0 && c[1].Cmp(w[1]) >= 0, nil
	}
	return false, fmt.Errorf("%w: unknown rule %q", ErrBadValue, string(r))
}

// Target returns the value to write so that the rule is satisfied without
// weakening current: the larger of the two for AtLeast (field by field for
// TripleAtLeast), the smaller for AtMost, the union for RangeCovers, wanted
// for Equal. It is an error for Advice.
func (r Rule) Target(current, wanted string) (string, error) {
	switch r {
	case Advice:
		return "", fmt.Errorf("%w: advice has no target", ErrBadValue)
	case Equal:
		return normalize(wanted), nil
	}
	c, w, err := r.parsePair(current, wanted)
	if err != nil {
		return "", err
	}
	out := make([]*big.Int, len(w))
	for i := range w {
		larger := c[i].Cmp(w[i]) >= 0
		switch {
		case r == AtMost, r == RangeCovers && i == 0:
			larger = !larger
		}
		if larger {
			out[i] = c[i]
		} else {
			out[i] = w[i]
		}
	}
	return joinInts(out), nil
}

// Show renders wanted with the rule, for tables: ">= 16384".
func (r Rule) Show(wanted string) string {
	wanted = normalize(wanted)
	switch r {
	case AtLeast, TripleAtLeast:
		return ">= " + wanted
	case AtMost:
		return "<= " + wanted
	case Equal:
		return "= " + wanted
	case RangeCovers:
		return "covers " + wanted
	}
	return wanted
}

func (r Rule) parsePair(current, wanted string) (c, w []*big.Int, err error) {
	if w, err = parseInts(wanted, r.arity()); err != nil {
		return nil, nil, fmt.Errorf("wanted: %w", err)
	}
	if c, err = parseInts(current, r.arity()); err != nil {
		return nil, nil, fmt.Errorf("current: %w", err)
	}
	return c, w, nil
}

// parseInts parses n whitespace-separated integers; "infinity" and
// "unlimited" stand for Infinity.
func parseInts(s string, n int) ([]*big.Int, error) {
	f := strings.Fields(s)
	if len(f) != n {
		return nil, fmt.Errorf("%w: %q: want %d integer(s)", ErrBadValue, s, n)
	}
	out := make([]*big.Int, n)
	for i, x := range f {
		if x == "infinity" || x == "unlimited" {
			out[i] = new(big.Int).SetUint64(Infinity)
			continue
		}
		v, ok := new(big.Int).SetString(x, 10)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not an integer", ErrBadValue, x)
		}
		out[i] = v
	}
	return out, nil
}

func ascending(v []*big.Int) bool {
	for i := 1; i < len(v); i++ {
		if v[i].Cmp(v[i-1]) < 0 {
			return false
		}
	}
	return true
}

func joinInts(v []*big.Int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

func equalValues(a, b string) bool {
	x, errX := parseInts(a, 1)
	y, errY := parseInts(b, 1)
	if errX == nil && errY == nil {
		return x[0].Cmp(y[0]) == 0
	}
	return normalize(a) == normalize(b)
}

// normalize collapses runs of whitespace (sysctl files separate fields
// with tabs) to one space and trims the ends.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
