package loadgen

import (
	"os"
	"testing"
)

const fakeStatus = `Name:	salam
Umask:	0022
State:	S (sleeping)
Tgid:	4242
VmPeak:	 1234567 kB
VmSize:	 1200000 kB
VmHWM:	  900000 kB
VmRSS:	  812345 kB
RssAnon:	  800000 kB
Threads:	12
`

func TestParseRSS(t *testing.T) {
	got, err := parseRSS([]byte(fakeStatus))
	if err != nil || got != 812345*1024 {
		t.Fatalf("parseRSS = %d, %v; want %d", got, err, 812345*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseRSS([]byte(bad)); err == nil {
			t.Errorf("parseRSS(%q) succeeded", bad)
		}
	}
}

func TestParseCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (salam (edge) 1) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 1200000000 203086 18446744073709551615\n"
	got, err := parseCPU([]byte(stat))
	if err != nil || got != 3.25 {
		t.Fatalf("parseCPU = %v, %v; want 3.25 (325 ticks)", got, err)
	}
	for _, bad := range []string{"4242 salam S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x y"} {
		if _, err := parseCPU([]byte(bad)); err == nil {
			t.Errorf("parseCPU(%q) succeeded", bad)
		}
	}
}

func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	rss, err := readRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("readRSS(self) = %d, %v", rss, err)
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Errorf("readCPU(self): %v", err)
	}
}
