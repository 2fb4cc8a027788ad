package main

import (
	"testing"

	"github.com/salamhq/salam/loadgen"
)

func TestLoadgenVerdict(t *testing.T) {
	tests := []struct {
		name string
		r    loadgen.Report
		fail bool
	}{
		{"clean", loadgen.Report{ConnectionsRequested: 1000}, false},
		{"a lost delivery", loadgen.Report{ConnectionsRequested: 1000, MessagesLost: 1}, true},
		{"errors within the rate", loadgen.Report{ConnectionsRequested: 1000, ConnectErrors: 10}, false},
		{"errors past the rate", loadgen.Report{ConnectionsRequested: 1000, ConnectErrors: 6, ConnectionsDropped: 5}, true},
	}
	for _, tt := range tests {
		err := verdict(&tt.r, 0.01)
		if (err != nil) != tt.fail {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && err.(*exitError).ExitCode() != 1 {
			t.Errorf("%s: exit code %d", tt.name, err.(*exitError).ExitCode())
		}
	}
}
