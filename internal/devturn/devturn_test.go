package devturn

import "testing"

// The dev TURN server never listens beyond loopback.
func TestConfigRefusesNonLoopback(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:3478", ":3478", "10.0.0.1:3478", "localhost:3478"} {
		c := Config{Listen: listen}
		if c.Validate() == nil {
			t.Errorf("%s accepted", listen)
		}
	}
}

func TestStartsOnAFreeLoopbackPort(t *testing.T) {
	srv, err := Start(Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	stun, turn := srv.URLs()
	if len(srv.Secret) < 32 || stun[0] != "stun:"+srv.Addr() || turn[0] != "turn:"+srv.Addr()+"?transport=udp" {
		t.Fatalf("%s %v %v", srv.Addr(), stun, turn)
	}
}
