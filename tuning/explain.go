package tuning

import (
	"fmt"
	"strings"
)

// Explain returns every entry, across all profiles (in Names order), whose
// key or table name equals key, ignoring case. When none does, it returns
// those whose key contains it, so "keepalive" finds all three keepalive
// sysctls. No match is an error wrapping ErrUnknownKey.
func Explain(key string) ([]Entry, error) {
	key = strings.ToLower(strings.TrimSpace(key))
	var all []Entry
	for _, name := range Names() {
		p, err := Load(name)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Entries...)
	}
	var exact, partial []Entry
	for _, e := range all {
		k := strings.ToLower(e.Key)
		switch {
		case k == key || strings.ToLower(e.Name()) == key:
			exact = append(exact, e)
		case key != "" && strings.Contains(k, key):
			partial = append(partial, e)
		}
	}
	if len(exact) > 0 {
		return exact, nil
	}
	if len(partial) > 0 {
		return partial, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKey, key)
}
