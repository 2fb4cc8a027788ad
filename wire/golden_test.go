package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// goldenFile is testdata/golden.json, the vectors every SDK runs. The
// vectors were generated once and are checked below by an independent
// reading (the msgpack library's own decoder and encoder, encoding/json):
// never regenerate them from the codec under test, since a change to their
// bytes is a change to protocol v1.
type goldenFile struct {
	Version    int            `json:"version"`
	Canonical  []goldenVector `json:"canonical"`
	DecodeOnly []goldenVector `json:"decode_only"`
	Invalid    []goldenVector `json:"invalid"`
}

type goldenVector struct {
	Name         string  `json:"name"`
	Note         string  `json:"note"`
	InputJSON    *string `json:"input_json"`    // decode_only, invalid
	InputMsgpack *string `json:"input_msgpack"` // decode_only, invalid; hex
	JSON         string  `json:"json"`          // canonical JSON text
	Msgpack      string  `json:"msgpack"`       // canonical msgpack, hex
	Error        string  `json:"error"`         // invalid: "malformed" or "too_large"
}

func loadGolden(t testing.TB) goldenFile {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Version != 1 || len(g.Canonical) == 0 || len(g.DecodeOnly) == 0 || len(g.Invalid) == 0 {
		t.Fatalf("golden.json: version %d, %d canonical, %d decode_only, %d invalid",
			g.Version, len(g.Canonical), len(g.DecodeOnly), len(g.Invalid))
	}
	return g
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normFrame makes nil and empty Data compare equal.
func normFrame(f Frame) Frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	return f
}

func framesEqual(a, b Frame) bool { return reflect.DeepEqual(normFrame(a), normFrame(b)) }

func TestGoldenCanonical(t *testing.T) {
	g := loadGolden(t)
	seen := map[string]bool{}
	for _, v := range g.Canonical {
		t.Run(v.Name, func(t *testing.T) {
			want, ok := goldenFrames[v.Name]
			if !ok {
				t.Fatalf("no goldenFrames entry")
			}
			seen[v.Name] = true
			mp := mustHex(t, v.Msgpack)
			checkCanonical(t, v.JSON, mp)
			checkIndependent(t, v.JSON, mp)

			if got := Msgpack.Append(nil, &want); !bytes.Equal(got, mp) {
				t.Errorf("Msgpack.Append = %x, want %x", got, mp)
			}
			if got := JSON.Append(nil, &want); string(got) != v.JSON {
				t.Errorf("JSON.Append = %s, want %s", got, v.JSON)
			}
			if got, err := msgpack.Marshal(&want); err != nil || !bytes.Equal(got, mp) {
				t.Errorf("msgpack.Marshal = %x, %v; want %x", got, err, mp)
			}
			var viaLib Frame
			if err := msgpack.Unmarshal(mp, &viaLib); err != nil || !framesEqual(viaLib, want) {
				t.Errorf("msgpack.Unmarshal = %+v, %v; want %+v", viaLib, err, want)
			}
		})
	}
	for name := range goldenFrames {
		if !seen[name] {
			t.Errorf("goldenFrames[%q] has no vector in golden.json", name)
		}
	}
}

func TestGoldenDecodeOnly(t *testing.T) {
	for _, v := range loadGolden(t).DecodeOnly {
		t.Run(v.Name, func(t *testing.T) {
			codec, input := goldenInput(t, v)
			checkWellFormed(t, codec, input)
			var f Frame
			if err := codec.Decode(input, &f); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := Msgpack.Append(nil, &f); hex.EncodeToString(got) != v.Msgpack {
				t.Errorf("canonical msgpack = %x, want %s", got, v.Msgpack)
			}
			if got := JSON.Append(nil, &f); string(got) != v.JSON {
				t.Errorf("canonical JSON = %s, want %s", got, v.JSON)
			}
			mp := mustHex(t, v.Msgpack)
			checkCanonical(t, v.JSON, mp)
			checkIndependent(t, v.JSON, mp)
		})
	}
}

func TestGoldenInvalid(t *testing.T) {
	for _, v := range loadGolden(t).Invalid {
		t.Run(v.Name, func(t *testing.T) {
			want := map[string]error{"malformed": ErrMalformed, "too_large": ErrTooLarge}[v.Error]
			if want == nil {
				t.Fatalf("unknown error class %q", v.Error)
			}
			codec, input := goldenInput(t, v)
			f := Frame{Data: make([]byte, 0, 8)}
			err := codec.Decode(input, &f)
			if !errors.Is(err, want) {
				t.Fatalf("Decode = %v, want %v", err, want)
			}
			// Through the library: it treats nil as "no value", reads a
			// stream (bytes after the value belong to the next one) and
			// reads the whole value before Frame.DecodeMsgpack sees it, so
			// only the failure, not its class, is comparable.
			if codec == Msgpack && !hasTrailing(input) && !bytes.Equal(input, []byte{mpNil}) {
				if err := msgpack.Unmarshal(input, &f); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Errorf("msgpack.Unmarshal = %v, want a wire error", err)
				}
			}
		})
	}
}

// checkWellFormed checks a hand-written input with the msgpack library or
// encoding/json: it must be exactly one well-formed map or object.
func checkWellFormed(t *testing.T, codec Codec, input []byte) {
	t.Helper()
	if codec == JSON {
		var m map[string]any
		if err := json.Unmarshal(input, &m); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		return
	}
	r := bytes.NewReader(input)
	dec := msgpack.NewDecoder(r)
	c, err := dec.PeekCode()
	if err == nil {
		err = dec.Skip()
	}
	if isMap := msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32; err != nil || !isMap || r.Len() != 0 {
		t.Fatalf("msgpack library: code %x, %v, %d bytes left", c, err, r.Len())
	}
}

// hasTrailing reports whether the msgpack library finds bytes after the
// first value of b.
func hasTrailing(b []byte) bool {
	r := bytes.NewReader(b)
	if err := msgpack.NewDecoder(r).Skip(); err != nil {
		return false
	}
	return r.Len() > 0
}

func goldenInput(t *testing.T, v goldenVector) (Codec, []byte) {
	t.Helper()
	switch {
	case v.InputMsgpack != nil && v.InputJSON == nil:
		return Msgpack, mustHex(t, *v.InputMsgpack)
	case v.InputJSON != nil && v.InputMsgpack == nil:
		return JSON, []byte(*v.InputJSON)
	}
	t.Fatalf("want exactly one of input_msgpack and input_json")
	return nil, nil
}

// checkCanonical checks that the pair (json, mp) encode the same frame and
// re-encode to themselves through both codecs.
func checkCanonical(t *testing.T, js string, mp []byte) {
	t.Helper()
	var fm, fj Frame
	if err := Msgpack.Decode(mp, &fm); err != nil {
		t.Fatalf("Msgpack.Decode: %v", err)
	}
	if err := JSON.Decode([]byte(js), &fj); err != nil {
		t.Fatalf("JSON.Decode: %v", err)
	}
	if !framesEqual(fm, fj) {
		t.Errorf("msgpack decodes to %+v, JSON to %+v", fm, fj)
	}
	if got := JSON.Append(nil, &fm); string(got) != js {
		t.Errorf("msgpack → JSON = %s, want %s", got, js)
	}
	if got := Msgpack.Append(nil, &fj); !bytes.Equal(got, mp) {
		t.Errorf("JSON → msgpack = %x, want %x", got, mp)
	}
}

// schema is what the independent checker knows of a map: its keys in
// canonical order, for keys whose value is a map or an array of maps, the
// schema of that map, and the keys whose value is an array of strings.
type schema struct {
	keys    []string
	maps    map[string]*schema // key → schema of its map value
	arrays  map[string]*schema // key → schema of the maps in its array value
	strings map[string]bool    // keys of arrays of strings
}

var (
	limitsSchema     = &schema{keys: []string{"mf", "pr", "pb", "pi", "ms"}}
	attachmentSchema = &schema{keys: []string{"url", "mime", "size", "name"}}
	reactionSchema   = &schema{keys: []string{"e", "n"}}
	presenceSchema   = &schema{keys: []string{"u", "k", "ts", "tx", "iv"}}
	messageSchema    = &schema{
		keys:   []string{"s", "f", "m", "ct", "d", "d64", "rt", "at", "ts", "et", "x", "p", "rx"},
		arrays: map[string]*schema{"at": attachmentSchema, "rx": reactionSchema},
	}
	envelopeSchema = &schema{
		keys: []string{"t", "i", "c", "d", "d64", "s", "m", "f", "ts", "e", "r", "sid", "u", "cl", "a", "l",
			"ct", "rt", "at", "k", "st", "hb", "ha", "hr", "n", "o", "mo", "ms", "rx", "us", "ps",
			"cid", "to", "mid", "sf", "er"},
		maps: map[string]*schema{"l": limitsSchema},
		arrays: map[string]*schema{"at": attachmentSchema, "ms": messageSchema, "rx": reactionSchema,
			"ps": presenceSchema},
		strings: map[string]bool{"us": true},
	}
)

// checkIndependent verifies the vector without the codec under test: it
// walks mp with the msgpack library, requires canonical key order at every
// level, non-zero values and smallest encodings (by re-encoding with the
// library's encoder), and compares every value, by path, with what
// encoding/json reads from js.
func checkIndependent(t *testing.T, js string, mp []byte) {
	t.Helper()
	fromMP := map[string]string{}
	var re bytes.Buffer
	dec := msgpack.NewDecoder(bytes.NewReader(mp))
	enc := msgpack.NewEncoder(&re)
	libMap(t, dec, enc, envelopeSchema, "", false, fromMP)
	if !bytes.Equal(re.Bytes(), mp) {
		t.Errorf("not in smallest form: library re-encodes %x as %x", mp, re.Bytes())
	}
	if _, err := dec.PeekCode(); err == nil {
		t.Errorf("trailing bytes in %x", mp)
	}

	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(js)); err != nil || compact.String() != js {
		t.Errorf("JSON not compact or invalid (%v): %s", err, js)
	}
	checkJSONEscapes(t, js)
	fromJSON := map[string]string{}
	jd := json.NewDecoder(strings.NewReader(js))
	jd.UseNumber()
	jsonObject(t, jd, envelopeSchema, "", fromJSON)
	if !reflect.DeepEqual(fromMP, fromJSON) {
		t.Errorf("msgpack and JSON disagree:\n msgpack %v\n json    %v", fromMP, fromJSON)
	}
	if fromMP["t"] == "" {
		t.Errorf("no \"t\"")
	}
}

func keyIndex(keys []string, k string) int {
	for i, c := range keys {
		if c == k {
			return i
		}
	}
	return -1
}

// libMap reads one msgpack map with the library, re-encoding it into enc,
// and records each value as text under prefix+key; arrays record their
// length under key+".len" and their maps under key+".<index>.". JSON's
// "d64" is mapped onto msgpack's "d" so the two can be compared. An empty
// map is canonical only as an array element (elem).
func libMap(t *testing.T, dec *msgpack.Decoder, enc *msgpack.Encoder, sc *schema, prefix string, elem bool, out map[string]string) {
	t.Helper()
	n, err := dec.DecodeMapLen()
	if err != nil {
		t.Fatalf("library: %s: %v", prefix, err)
	}
	_ = enc.EncodeMapLen(n)
	last := -1
	for range n {
		k, err := dec.DecodeString()
		if err != nil {
			t.Fatalf("library: key: %v", err)
		}
		_ = enc.EncodeString(k)
		i := keyIndex(sc.keys, k)
		if i <= last || k == "d64" {
			t.Fatalf("key %q out of canonical order or unknown", prefix+k)
		}
		last = i
		if sub := sc.maps[k]; sub != nil {
			libMap(t, dec, enc, sub, prefix+k+".", false, out)
			continue
		}
		if sc.strings[k] {
			var ss []string
			if err := dec.Decode(&ss); err != nil || len(ss) == 0 {
				t.Fatalf("library: %q: %v, want a non-empty array of strings", prefix+k, err)
			}
			_ = enc.Encode(ss)
			recordStrings(out, prefix+k, ss)
			continue
		}
		if sub := sc.arrays[k]; sub != nil {
			l, err := dec.DecodeArrayLen()
			if err != nil {
				t.Fatalf("library: %q: %v", prefix+k, err)
			}
			_ = enc.EncodeArrayLen(l)
			if l <= 0 {
				t.Errorf("%q is empty: canonical form omits it", prefix+k)
			}
			out[prefix+k+".len"] = strconv.Itoa(l)
			for j := range l {
				libMap(t, dec, enc, sub, prefix+k+"."+strconv.Itoa(j)+".", true, out)
			}
			continue
		}
		v, err := dec.DecodeInterface()
		if err != nil {
			t.Fatalf("library: %q: %v", prefix+k, err)
		}
		var s string
		switch v := v.(type) {
		case string:
			_ = enc.EncodeString(v)
			s = v
		case []byte:
			_ = enc.EncodeBytes(v)
			if k != "d" {
				t.Errorf("%q is bin", prefix+k)
			}
			if utf8.Valid(v) {
				s = string(v)
			} else {
				s = "base64:" + base64.StdEncoding.EncodeToString(v)
			}
		case bool:
			_ = enc.EncodeBool(v)
			s = strconv.FormatBool(v)
		case int8, int16, int32, int64:
			i := reflect.ValueOf(v).Int()
			_ = enc.EncodeInt(i)
			s = jsonNumber(i)
		case uint8, uint16, uint32, uint64:
			u := reflect.ValueOf(v).Uint()
			_ = enc.EncodeUint(u)
			s = jsonNumber(u)
		default:
			t.Fatalf("%q: unexpected %T", prefix+k, v)
		}
		_, isString := v.(string) // the string "0" (an sdpMid) is not zero
		if s == "" || (s == "0" && !isString) || s == "false" {
			t.Errorf("%q is zero: canonical form omits it", prefix+k)
		}
		out[prefix+k] = s
	}
	if n == 0 && !elem {
		t.Errorf("%sempty map", prefix)
	}
}

// recordStrings records an array of strings as libMap and jsonObject do.
func recordStrings(out map[string]string, key string, ss []string) {
	out[key+".len"] = strconv.Itoa(len(ss))
	for j, s := range ss {
		out[key+"."+strconv.Itoa(j)] = s
	}
}

func jsonNumber(v any) string { b, _ := json.Marshal(v); return string(b) }

// jsonObject reads one JSON object with encoding/json in the same form.
func jsonObject(t *testing.T, d *json.Decoder, sc *schema, prefix string, out map[string]string) {
	t.Helper()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("json: %s: %v %v, want {", prefix, tok, err)
	}
	last := -1
	for d.More() {
		tok, _ := d.Token()
		k := tok.(string)
		i := keyIndex(sc.keys, k)
		if i <= last {
			t.Fatalf("json key %q out of canonical order or unknown", prefix+k)
		}
		last = i
		if sub := sc.maps[k]; sub != nil {
			jsonObject(t, d, sub, prefix+k+".", out)
			continue
		}
		if sc.strings[k] {
			var ss []string
			if err := d.Decode(&ss); err != nil {
				t.Fatalf("json: %q: %v", prefix+k, err)
			}
			recordStrings(out, prefix+k, ss)
			continue
		}
		if sub := sc.arrays[k]; sub != nil {
			if tok, err := d.Token(); err != nil || tok != json.Delim('[') {
				t.Fatalf("json: %q: %v %v, want [", prefix+k, tok, err)
			}
			l := 0
			for ; d.More(); l++ {
				jsonObject(t, d, sub, prefix+k+"."+strconv.Itoa(l)+".", out)
			}
			_, _ = d.Token()
			out[prefix+k+".len"] = strconv.Itoa(l)
			continue
		}
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case string:
			if k == "d64" {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil || utf8.Valid(b) {
					t.Errorf("d64 %q: %v; canonical d64 is for non-UTF-8 data only", v, err)
				}
				k, v = "d", "base64:"+v
			}
			out[prefix+k] = v
		case json.Number:
			out[prefix+k] = v.String()
		case bool:
			out[prefix+k] = strconv.FormatBool(v)
		default:
			t.Fatalf("json %q: unexpected %T", prefix+k, tok)
		}
	}
	_, _ = d.Token()
}

// checkJSONEscapes requires the only escapes RFC 8259 makes mandatory:
// \" \\ and \u00XX (lower-case hex) for control characters.
func checkJSONEscapes(t *testing.T, js string) {
	t.Helper()
	for i := 0; i < len(js); i++ {
		if js[i] != '\\' {
			continue
		}
		switch {
		case i+1 < len(js) && (js[i+1] == '"' || js[i+1] == '\\'):
			i++
		case i+5 < len(js) && js[i+1:i+4] == "u00" && strings.IndexByte("01", js[i+4]) >= 0 &&
			strings.IndexByte("0123456789abcdef", js[i+5]) >= 0:
			i += 5
		default:
			t.Errorf("non-canonical escape at %d in %s", i, js)
		}
	}
}

// The examples in PROTOCOL.md are golden vectors: every JSON line of a
// fenced block followed by a hex line must be a canonical pair.
func TestProtocolExamples(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string]string{}
	for _, v := range loadGolden(t).Canonical {
		pairs[v.JSON] = v.Msgpack
	}
	lines := strings.Split(string(doc), "\n")
	n := 0
	types := map[Type]bool{}
	for i := 0; i+1 < len(lines); i++ {
		js, mp := lines[i], lines[i+1]
		if !strings.HasPrefix(js, `{"t":`) {
			continue
		}
		n++
		if want, ok := pairs[js]; !ok || mp != want {
			t.Errorf("PROTOCOL.md line %d: %s / %s is not a golden vector", i+1, js, mp)
		}
		var f Frame
		if JSON.Decode([]byte(js), &f) == nil {
			types[f.Type] = true
		}
	}
	for ty := TypeConnect; ty.Known(); ty++ {
		if !types[ty] {
			t.Errorf("PROTOCOL.md has no example of %s (%d)", ty, ty)
		}
	}
}
