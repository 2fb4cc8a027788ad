package tuning

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteList writes one line per embedded profile: name and summary.
func WriteList(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range Names() {
		p, err := Load(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Summary)
	}
	return tw.Flush()
}

// WriteCheck writes the results of checking p as a table (key, current,
// wanted, status, note) followed by a one-line summary.
func WriteCheck(w io.Writer, p *Profile, rs []Result) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tCURRENT\tWANTED\tSTATUS\tNOTE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Entry.Name(), orDash(r.Current),
			r.Entry.Rule.Show(r.Entry.Value), r.Status, r.Note)
	}
	tw.Flush()
	// An empty note leaves the padded status at the end of the line.
	for line := range strings.Lines(b.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, Summary(p, rs))
	return err
}

// Summary is one line: "edge-50k: 9 ok, 6 short, 0 unreadable, 1 n/a,
// 3 advice".
func Summary(p *Profile, rs []Result) string {
	n := map[Status]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	return fmt.Sprintf("%s: %d ok, %d short, %d unreadable, %d n/a, %d advice", p.Name,
		n[StatusOK], n[StatusShort], n[StatusUnreadable], n[StatusNotApplicable], n[StatusAdvice])
}

// WriteChanges writes what Apply did, or with dryRun would do, one line
// per entry.
func WriteChanges(w io.Writer, cs []Change, dryRun bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cs {
		act := string(c.Action)
		var detail string
		switch c.Action {
		case ActionWrite:
			if dryRun {
				act = "would write"
			}
			detail = c.From + " -> " + c.To
		case ActionNone:
			detail = c.From + " (" + c.Entry.Rule.Show(c.Entry.Value) + ")"
		case ActionManual:
			detail = c.Entry.Rule.Show(c.Entry.Value) + ": " + c.Note
		default:
			detail = c.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", act, c.Entry.Name(), detail)
	}
	return tw.Flush()
}

// WriteExplain writes each entry with its profile, wanted value, why and
// how, wrapped to 80 columns.
func WriteExplain(w io.Writer, es []Entry) error {
	for i, e := range es {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s [%s] %s (%s)\n", e.Name(), e.Profile, e.Rule.Show(e.Value), e.Kind)
		wrap(w, e.Why, "    ", 80)
		if e.How != "" {
			wrap(w, "how: "+e.How, "    ", 80)
		}
	}
	return nil
}

// wrap writes text word-wrapped to width, each line after indent.
func wrap(w io.Writer, text, indent string, width int) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		fmt.Fprintln(w, line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
