package bucket

import "testing"

func TestBucket(t *testing.T) {
	const sec = int64(1e9)
	var b Bucket
	now := 10 * sec
	for i := 0; i < 3; i++ {
		if !b.Allow(now, 1, 3) {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if b.Allow(now, 1, 3) {
		t.Fatal("fourth token allowed with burst 3")
	}
	if !b.Allow(now+sec, 1, 3) {
		t.Fatal("token not refilled after 1s at rate 1")
	}
	if b.Allow(now+sec, 1, 3) {
		t.Fatal("refill gave more than one token")
	}
	// A long pause refills only up to the burst.
	now += 100 * sec
	for i := 0; i < 3; i++ {
		b.Allow(now, 1, 3)
	}
	if b.Allow(now, 1, 3) {
		t.Fatal("refill exceeded burst")
	}
}
