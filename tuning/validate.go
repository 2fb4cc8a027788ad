package tuning

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var (
	sysctlKeyRe = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
	systemdRe   = regexp.MustCompile(`^Limit[A-Z]+$`)
	nicKeyRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Validate checks every entry: a known kind with a key of the right
// shape, a rule that fits the kind and a value that parses under it, a
// non-empty why, How where Apply cannot act, and no key twice. The error
// names the profile and the entry.
func (p *Profile) Validate() error {
	var errs []error
	if strings.TrimSpace(p.Summary) == "" {
		errs = append(errs, errors.New("summary is empty"))
	}
	if len(p.Entries) == 0 {
		errs = append(errs, errors.New("no entries"))
	}
	seen := map[string]bool{}
	for i, e := range p.Entries {
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("entry %d (%s): %w", i, e.Name(), err))
		}
		if seen[e.Name()] {
			errs = append(errs, fmt.Errorf("entry %d (%s): duplicate", i, e.Name()))
		}
		seen[e.Name()] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalidProfile, p.Name, err)
	}
	return nil
}

func (e Entry) validate() error {
	switch e.Kind {
	case Sysctl:
		if !sysctlKeyRe.MatchString(e.Key) {
			return errors.New("key is not a dotted sysctl name")
		}
	case Ulimit:
		if e.Key != "nofile" {
			return errors.New(`ulimit key must be "nofile"`)
		}
	case Systemd:
		if !systemdRe.MatchString(e.Key) {
			return errors.New("systemd key must be a Limit* property")
		}
		if !strings.HasSuffix(e.Unit, ".service") {
			return errors.New("systemd entry needs unit: NAME.service")
		}
	case NIC:
		if !nicKeyRe.MatchString(e.Key) {
			return errors.New("nic key must be a lowercase word")
		}
	default:
		return fmt.Errorf("unknown kind %q", string(e.Kind))
	}
	if e.Unit != "" && e.Kind != Systemd {
		return errors.New("unit is for systemd entries only")
	}
	if e.IfPresent && e.Kind != Sysctl {
		return errors.New("if_present is for sysctl entries only")
	}
	if (e.Kind == NIC) != (e.Rule == Advice) {
		return errors.New("nic entries, and only they, use rule advice")
	}
	if (e.Kind == Ulimit || e.Kind == Systemd) && e.Rule != AtLeast {
		return errors.New("limits use rule at_least")
	}
	if err := e.Rule.checkWanted(e.Value); err != nil {
		return err
	}
	if strings.TrimSpace(e.Why) == "" {
		return errors.New("why is empty")
	}
	if e.Kind != Sysctl && strings.TrimSpace(e.How) == "" {
		return errors.New("how is empty (Apply cannot set this kind)")
	}
	return nil
}
