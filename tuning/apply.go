package tuning

import (
	"errors"
	"fmt"
	"io/fs"
)

// Action is what Apply did, or in a dry run would do, for one entry.
type Action string

const (
	// ActionWrite: the sysctl was (or would be) written.
	ActionWrite Action = "write"
	// ActionNone: the sysctl already satisfies the entry; nothing written.
	ActionNone Action = "ok"
	// ActionManual: Apply cannot set this kind (limits, systemd, NIC);
	// Change.Note says how.
	ActionManual Action = "manual"
	// ActionSkip: an if_present sysctl this kernel does not have.
	ActionSkip Action = "n/a"
	// ActionFailed: reading or writing failed; Note has the error.
	ActionFailed Action = "failed"
)

// Change is the outcome of applying one entry.
type Change struct {
	Entry Entry
	// From is the value read before, To the value written (or that would
	// be written); both "" when not known or not relevant.
	From, To string
	Action   Action
	Note     string
}

// Apply brings every sysctl of p up to the profile through w, in profile
// order, never weakening a value that already satisfies its entry (see
// Rule.Target). With dryRun it reads but writes nothing. Entries of other
// kinds come back as ActionManual with their How. It carries on past a
// failed entry and returns every failure joined.
func Apply(p *Profile, w Writer, dryRun bool) ([]Change, error) {
	var errs []error
	cs := make([]Change, 0, len(p.Entries))
	for _, e := range p.Entries {
		c, err := applyEntry(e, w, dryRun)
		if err != nil {
			c.Action, c.Note = ActionFailed, err.Error()
			errs = append(errs, fmt.Errorf("tuning: %s: %w", e.Key, err))
		}
		cs = append(cs, c)
	}
	return cs, errors.Join(errs...)
}

func applyEntry(e Entry, w Writer, dryRun bool) (Change, error) {
	c := Change{Entry: e}
	if e.Kind != Sysctl {
		c.Action, c.Note = ActionManual, e.How
		return c, nil
	}
	cur, err := w.Sysctl(e.Key)
	if errors.Is(err, fs.ErrNotExist) && e.IfPresent {
		c.Action, c.Note = ActionSkip, "absent: module not loaded"
		return c, nil
	}
	if err != nil {
		return c, err
	}
	c.From = cur
	if ok, err := e.Rule.Satisfied(cur, e.Value); err != nil || ok {
		c.Action = ActionNone
		return c, err
	}
	if c.To, err = e.Rule.Target(cur, e.Value); err != nil {
		return c, err
	}
	c.Action = ActionWrite
	if dryRun {
		return c, nil
	}
	return c, w.SetSysctl(e.Key, c.To)
}
