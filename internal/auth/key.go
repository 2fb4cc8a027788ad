package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// loadPublicKey reads the first public key or certificate in the PEM file at
// path and checks it suits alg. Errors wrap ErrInvalidConfig and name the
// public_key_file field.
func loadPublicKey(path, alg string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: public_key_file: %w", ErrInvalidConfig, err)
	}
	key, err := parsePublicKeyPEM(data)
	if err == nil {
		err = checkKeyFits(key, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: public_key_file %q: %w", ErrInvalidConfig, path, err)
	}
	return key, nil
}

func parsePublicKeyPEM(data []byte) (any, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("no PEM \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\" block")
		}
		switch block.Type {
		case "PUBLIC KEY":
			return x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			return x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, err
			}
			return cert.PublicKey, nil
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			// Refuse rather than derive: a private key has no business on
			// the verifying side.
			return nil, fmt.Errorf("holds a private key (%q); configure the public key instead", block.Type)
		}
	}
}

func checkKeyFits(key any, alg string) error {
	switch alg {
	case AlgRS256:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("RS256 needs an RSA public key, got %T", key)
		}
		if k.N.BitLen() < minRSAKeyBits {
			return fmt.Errorf("RSA key has %d bits, need at least %d", k.N.BitLen(), minRSAKeyBits)
		}
	case AlgEdDSA:
		if _, ok := key.(ed25519.PublicKey); !ok {
			return fmt.Errorf("EdDSA needs an Ed25519 public key, got %T", key)
		}
	default:
		return fmt.Errorf("algorithm %q does not use a public key", alg)
	}
	return nil
}
