package calls

import (
	"strings"
	"testing"
)

// FuzzSignalPayloads feeds arbitrary bytes to the SDP and ICE candidate
// checks, which run on every offer, answer and candidate a client sends
// before anything is relayed: they must never panic, and what they accept
// must have the shape they promise (a candidate attribute; a session with
// ICE credentials and a fingerprint).
func FuzzSignalPayloads(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\n" +
		"a=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"))
	f.Add([]byte("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"))
	f.Add([]byte("candidate:"))
	f.Add([]byte("v=0\r\nm="))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkCandidate(data) == "" {
			if !strings.HasPrefix(string(data), "candidate:") || len(strings.Fields(string(data))) < 8 {
				t.Fatalf("accepted candidate %q", data)
			}
		}
		if checkSDP(data) == "" && !strings.Contains(string(data), "ice-ufrag") {
			t.Fatalf("accepted SDP without ICE credentials: %q", data)
		}
	})
}
