package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestNewVerifierKeys(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()

	pkcs1, _ := writePEM(t, dir, "pkcs1.pem", "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsa.PublicKey))
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "salam test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "salam test"}}, f.ed.Public(), f.ed)
	if err != nil {
		t.Fatal(err)
	}
	edCert, _ := writePEM(t, dir, "ed-cert.pem", "CERTIFICATE", certDER)
	rsaCertDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2)},
		&x509.Certificate{SerialNumber: big.NewInt(2)}, &f.rsa.PublicKey, f.rsa)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, _ := writePEM(t, dir, "rsa-cert.pem", "CERTIFICATE", rsaCertDER)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(f.ed)
	if err != nil {
		t.Fatal(err)
	}
	private, _ := writePEM(t, dir, "private.pem", "PRIVATE KEY", pkcs8)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallRSA, _ := writePEM(t, dir, "small.pem", "PUBLIC KEY", mustPKIX(t, &small.PublicKey))
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a pem file"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A leading block of another type is skipped.
	mixed := filepath.Join(dir, "mixed.pem")
	if err := os.WriteFile(mixed, append([]byte("-----BEGIN COMMENT-----\nAAAA\n-----END COMMENT-----\n"), f.edPEMRaw...), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		alg   string
		file  string
		token string // verified when the key loads; "" skips
		ok    bool
		msg   string // substring of the error
	}{
		{name: "PKIX RSA", alg: AlgRS256, file: f.rsaPEM, token: f.rs(), ok: true},
		{name: "PKCS1 RSA", alg: AlgRS256, file: pkcs1, token: f.rs(), ok: true},
		{name: "RSA certificate", alg: AlgRS256, file: rsaCert, token: f.rs(), ok: true},
		{name: "PKIX Ed25519", alg: AlgEdDSA, file: f.edPEM, token: f.eddsa(), ok: true},
		{name: "Ed25519 certificate", alg: AlgEdDSA, file: edCert, token: f.eddsa(), ok: true},
		{name: "other block first", alg: AlgEdDSA, file: mixed, token: f.eddsa(), ok: true},
		{name: "missing file", alg: AlgRS256, file: filepath.Join(dir, "nope.pem"), msg: "no such file"},
		{name: "not PEM", alg: AlgRS256, file: garbage, msg: "no PEM"},
		{name: "private key", alg: AlgEdDSA, file: private, msg: "private key"},
		{name: "Ed25519 key for RS256", alg: AlgRS256, file: f.edPEM, msg: "RSA public key"},
		{name: "RSA key for EdDSA", alg: AlgEdDSA, file: f.rsaPEM, msg: "Ed25519 public key"},
		{name: "RSA 1024 bits", alg: AlgRS256, file: smallRSA, msg: "1024 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Algorithm: tt.alg, PublicKeyFile: tt.file, Issuer: testIssuer, Audience: testAudience}
			v, err := newVerifier(cfg, func() time.Time { return testNow })
			if !tt.ok {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.msg) ||
					!strings.Contains(err.Error(), "public_key_file") {
					t.Fatalf("NewVerifier = %v, want ErrInvalidConfig naming public_key_file and containing %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if _, err := v.Verify(tt.token); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestNewVerifierRejectsInvalidConfig(t *testing.T) {
	_, err := NewVerifier(Config{Secret: "short"})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewVerifier = %v, want ErrInvalidConfig", err)
	}
}

// A verifier keeps the key it loaded even if the file changes later.
func TestNewVerifierLoadsKeyOnce(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(f.config(AlgRS256))
	if err := os.WriteFile(f.rsaPEM, []byte("gone"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, f.rsa, claims())); err != nil {
		t.Fatalf("Verify after key file changed: %v", err)
	}
}
