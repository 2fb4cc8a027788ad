package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// The shared conformance vectors (PROTOCOL.md, "Golden vectors"), read from
// the repository so that there is one copy.
const goldenPath = "../../../wire/testdata/golden.json"

type vector struct {
	Name         string  `json:"name"`
	InputJSON    *string `json:"input_json"`
	InputMsgpack *string `json:"input_msgpack"`
	JSON         string  `json:"json"`
	Msgpack      string  `json:"msgpack"`
	Error        string  `json:"error"`
}

func loadVectors(t *testing.T) (canonical, decodeOnly, invalid []vector) {
	b, err := os.ReadFile(goldenPath)
	if os.IsNotExist(err) {
		t.Skip("not inside the salam repository")
	}
	var g struct {
		Version                        int
		Canonical, DecodeOnly, Invalid []vector
	}
	if err == nil {
		err = json.Unmarshal(bytes.ReplaceAll(b, []byte(`"decode_only"`), []byte(`"DecodeOnly"`)), &g)
	}
	if err != nil || g.Version != 1 || len(g.Canonical) == 0 || len(g.DecodeOnly) == 0 || len(g.Invalid) == 0 {
		t.Fatalf("golden.json: %v (version %d)", err, g.Version)
	}
	return g.Canonical, g.DecodeOnly, g.Invalid
}

// expectBoth decodes input with codec and checks that the frame re-encodes
// to exactly the canonical JSON text and msgpack bytes.
func expectBoth(t *testing.T, codec Codec, input []byte, wantJSON string, wantMsgpack []byte) {
	t.Helper()
	var f Frame
	if err := codec.Decode(input, &f); err != nil {
		t.Fatalf("%s decode: %v", codec.Subprotocol(), err)
	}
	if got := JSON.Append(nil, &f); string(got) != wantJSON {
		t.Errorf("as JSON:\n got %s\nwant %s", got, wantJSON)
	}
	if got := Msgpack.Append(nil, &f); !bytes.Equal(got, wantMsgpack) {
		t.Errorf("as msgpack:\n got %x\nwant %x", got, wantMsgpack)
	}
}

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	canonical, decodeOnly, invalid := loadVectors(t)
	for _, v := range canonical {
		t.Run("canonical/"+v.Name, func(t *testing.T) {
			mp := unhex(t, v.Msgpack)
			expectBoth(t, Msgpack, mp, v.JSON, mp)
			expectBoth(t, JSON, []byte(v.JSON), v.JSON, mp)
		})
	}
	for _, v := range decodeOnly {
		t.Run("decode_only/"+v.Name, func(t *testing.T) {
			if v.InputMsgpack != nil {
				expectBoth(t, Msgpack, unhex(t, *v.InputMsgpack), v.JSON, unhex(t, v.Msgpack))
			} else {
				expectBoth(t, JSON, []byte(*v.InputJSON), v.JSON, unhex(t, v.Msgpack))
			}
		})
	}
	for _, v := range invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			var f Frame
			var err error
			if v.InputMsgpack != nil {
				err = Msgpack.Decode(unhex(t, *v.InputMsgpack), &f)
			} else {
				err = JSON.Decode([]byte(*v.InputJSON), &f)
			}
			want := map[string]error{"malformed": ErrMalformed, "too_large": ErrTooLarge}[v.Error]
			if !errors.Is(err, want) {
				t.Errorf("decode = %v, want %s", err, v.Error)
			}
		})
	}
}
