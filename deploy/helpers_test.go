package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/tuning"
)

// regions are the region overlays and NATS configs; each name is also the
// token that must appear in every host name of that region's files.
var regions = []string{"bahrain", "singapore"}

// abs returns the absolute path of a file under deploy/ (the test's working
// directory, until a test changes it).
var deployDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}()

func abs(rel string) string { return filepath.Join(deployDir, filepath.FromSlash(rel)) }

func repo(rel string) string { return filepath.Join(deployDir, "..", filepath.FromSlash(rel)) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkFor polls f until it returns nil or timeout passes (nats-server's
// test helper of the same name).
func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(interval)
	}
	t.Fatalf("after %v: %v", timeout, err)
}

// edgeProfile is tuning/profiles/edge-50k.yaml, the profile of edge nodes.
func edgeProfile(t *testing.T) *tuning.Profile {
	t.Helper()
	p, err := tuning.Load("edge-50k")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// profileEntry returns the entry of p with kind and key.
func profileEntry(t *testing.T, p *tuning.Profile, kind tuning.Kind, key string) tuning.Entry {
	t.Helper()
	for _, e := range p.Entries {
		if e.Kind == kind && e.Key == key {
			return e
		}
	}
	t.Fatalf("profile %s has no %s %s", p.Name, kind, key)
	return tuning.Entry{}
}

// otherRegions lists the regions other than r.
func otherRegions(r string) []string {
	return slices.DeleteFunc(slices.Clone(regions), func(s string) bool { return s == r })
}

// checkResidency fails when text, a file of region r, names another region.
func checkResidency(t *testing.T, name, r, text string) {
	t.Helper()
	for _, other := range otherRegions(r) {
		if strings.Contains(strings.ToLower(text), other) {
			t.Errorf("%s (region %s) mentions %s: a region's files point only at its own services", name, r, other)
		}
	}
}

// writePKI writes a CA and one server certificate (serverAuth and clientAuth,
// for TLS routes) into dir/tls/ under the names the NATS configs use. The
// certificate names the region's NATS hosts and 127.0.0.1, where the tests
// run them.
func writePKI(t *testing.T, dir, region string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "salam " + region + " test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "nats." + region + ".salam.internal"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	for i := 1; i <= 3; i++ {
		tmpl.DNSNames = append(tmpl.DNSNames, fmt.Sprintf("nats-%d.%s.salam.internal", i, region))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem":     {Type: "CERTIFICATE", Bytes: der},
		"server-key.pem": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(tlsDir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
