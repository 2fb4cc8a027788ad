package tuning

import (
	"errors"
	"io/fs"
	"strconv"
)

// Status is the outcome of checking one entry.
type Status string

const (
	// StatusOK: the current value satisfies the entry.
	StatusOK Status = "ok"
	// StatusShort: the current value falls short of the entry.
	StatusShort Status = "short"
	// StatusUnreadable: the value could not be read or parsed, so the
	// entry cannot be confirmed; it counts as a failure.
	StatusUnreadable Status = "unreadable"
	// StatusNotApplicable: the entry does not apply here (an if_present
	// sysctl that is absent, no systemd, unit not installed).
	StatusNotApplicable Status = "n/a"
	// StatusAdvice: an advisory entry (NIC) that Check does not verify.
	StatusAdvice Status = "advice"
)

// Result is the outcome of checking one entry against a host.
type Result struct {
	Entry Entry
	// Current is the value found, "" when none was read.
	Current string
	Status  Status
	// Note says why an entry is unreadable or not applicable, or how to
	// act on advice.
	Note string
}

// OK reports whether the entry is satisfied.
func (r Result) OK() bool { return r.Status == StatusOK }

// Fails reports whether the entry keeps the host from meeting the
// profile: short or unreadable. Not-applicable and advice never fail.
func (r Result) Fails() bool { return r.Status == StatusShort || r.Status == StatusUnreadable }

// Failing counts the results that fail.
func Failing(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Fails() {
			n++
		}
	}
	return n
}

// Check compares every entry of p with h, in profile order. It only
// reads.
func Check(p *Profile, h Host) []Result {
	rs := make([]Result, 0, len(p.Entries))
	for _, e := range p.Entries {
		rs = append(rs, checkEntry(e, h))
	}
	return rs
}

func checkEntry(e Entry, h Host) Result {
	r := Result{Entry: e}
	switch e.Kind {
	case NIC:
		r.Status, r.Note = StatusAdvice, e.How
		return r
	case Sysctl:
		v, err := h.Sysctl(e.Key)
		switch {
		case errors.Is(err, fs.ErrNotExist) && e.IfPresent:
			r.Status, r.Note = StatusNotApplicable, "absent: module not loaded"
			return r
		case errors.Is(err, fs.ErrNotExist):
			r.Status, r.Note = StatusUnreadable, "absent: older kernel or another network namespace"
			return r
		case err != nil:
			r.Status, r.Note = StatusUnreadable, err.Error()
			return r
		}
		r.Current = v
	case Ulimit:
		soft, hard, err := h.NoFile()
		if err != nil {
			r.Status, r.Note = StatusUnreadable, err.Error()
			return r
		}
		r.Current, r.Note = formatLimit(hard), "hard limit of this process"
		if soft != hard {
			r.Note += ", soft " + formatLimit(soft)
		}
	case Systemd:
		v, err := h.SystemdProperty(e.Unit, e.Key)
		switch {
		case errors.Is(err, ErrNoSystemd):
			r.Status, r.Note = StatusNotApplicable, "systemd not running"
			return r
		case errors.Is(err, ErrNoUnit):
			r.Status, r.Note = StatusNotApplicable, "unit not installed"
			return r
		case err != nil:
			r.Status, r.Note = StatusUnreadable, err.Error()
			return r
		}
		r.Current = v
	}
	ok, err := e.Rule.Satisfied(r.Current, e.Value)
	switch {
	case err != nil:
		r.Status, r.Note = StatusUnreadable, err.Error()
	case ok:
		r.Status = StatusOK
	default:
		r.Status = StatusShort
	}
	return r
}

func formatLimit(v uint64) string {
	if v == Infinity {
		return "infinity"
	}
	return strconv.FormatUint(v, 10)
}
