package auth

import "testing"

func BenchmarkVerifyHS256(b *testing.B) { benchVerify(b, AlgHS256) }
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, AlgRS256) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, AlgEdDSA) }

func benchVerify(b *testing.B, alg string) {
	f := newFixture(b)
	v := f.verifier(f.config(alg))
	var token string
	switch alg {
	case AlgHS256:
		token = f.hs()
	case AlgRS256:
		token = f.rs()
	case AlgEdDSA:
		token = f.eddsa()
	}
	if _, err := v.Verify(token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenFromRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if TokenFromRequest("", "v=1&token=abc.def.ghi") == "" {
			b.Fatal("no token")
		}
	}
}
