package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	secret := strings.Repeat("s", MinSecretLen)
	tests := []struct {
		name  string
		cfg   Config
		field string // "" means valid; else the YAML name the error must mention
	}{
		{name: "HS256 by default", cfg: Config{Secret: secret}},
		{name: "HS256 explicit", cfg: Config{Algorithm: "HS256", Secret: secret, Issuer: "i", Audience: "a"}},
		{name: "RS256", cfg: Config{Algorithm: "RS256", PublicKeyFile: "/k.pem"}},
		{name: "EdDSA", cfg: Config{Algorithm: "EdDSA", PublicKeyFile: "/k.pem"}},
		{name: "leeway max", cfg: Config{Secret: secret, Leeway: time.Minute}},
		{name: "zero config", cfg: Config{}, field: "secret"},
		{name: "secret one byte short", cfg: Config{Secret: secret[1:]}, field: "secret"},
		{name: "algorithm lower case", cfg: Config{Algorithm: "hs256", Secret: secret}, field: "algorithm"},
		{name: "algorithm none", cfg: Config{Algorithm: "none", Secret: secret}, field: "algorithm"},
		{name: "algorithm HS512", cfg: Config{Algorithm: "HS512", Secret: secret}, field: "algorithm"},
		{name: "HS256 with key file", cfg: Config{Secret: secret, PublicKeyFile: "/k.pem"}, field: "public_key_file"},
		{name: "RS256 without key file", cfg: Config{Algorithm: "RS256"}, field: "public_key_file"},
		{name: "EdDSA without key file", cfg: Config{Algorithm: "EdDSA"}, field: "public_key_file"},
		{name: "RS256 with secret", cfg: Config{Algorithm: "RS256", PublicKeyFile: "/k.pem", Secret: secret}, field: "secret"},
		{name: "negative leeway", cfg: Config{Secret: secret, Leeway: -time.Second}, field: "leeway"},
		{name: "leeway too large", cfg: Config{Secret: secret, Leeway: time.Minute + 1}, field: "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("Validate = %q, does not name field %q", err, tt.field)
			}
		})
	}
}

func TestConfigEnsureDefaults(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if c.Algorithm != AlgHS256 || c.Leeway != DefaultLeeway {
		t.Errorf("defaults = %+v", c)
	}
	c = Config{Algorithm: AlgEdDSA, Leeway: time.Second}
	c.EnsureDefaults()
	if c.Algorithm != AlgEdDSA || c.Leeway != time.Second {
		t.Errorf("EnsureDefaults overwrote set fields: %+v", c)
	}
}

func TestConfigStringRedactsSecret(t *testing.T) {
	c := Config{Secret: "very-secret-value-that-must-not-leak"}
	for _, s := range []string{c.String(), (&c).String()} {
		if strings.Contains(s, c.Secret) || !strings.Contains(s, "redacted") {
			t.Errorf("String() = %q", s)
		}
	}
}
