package auth

import "testing"

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name, header, query, want string
	}{
		{name: "bearer", header: "Bearer abc.def.ghi", want: "abc.def.ghi"},
		{name: "lower-case bearer", header: "bearer abc.def.ghi", want: "abc.def.ghi"},
		{name: "upper-case bearer", header: "BEARER abc", want: "abc"},
		{name: "extra spaces and tab", header: "  Bearer \t abc  ", want: "abc"},
		{name: "query param", query: "token=abc.def.ghi", want: "abc.def.ghi"},
		{name: "query param among others", query: "v=1&token=abc&x=2", want: "abc"},
		{name: "query param escaped", query: "token=a%2Eb%20c%2Bd", want: "a.b c+d"},
		{name: "query param plus is space", query: "token=a+b", want: "a b"},
		{name: "query key escaped", query: "%74oken=abc", want: "abc"},
		{name: "first query param wins", query: "token=one&token=two", want: "one"},
		{name: "header wins over query", header: "Bearer fromheader", query: "token=fromquery", want: "fromheader"},
		{name: "other scheme falls back to query", header: "Basic dXNlcjpwdw==", query: "token=q", want: "q"},
		{name: "empty bearer falls back to query", header: "Bearer ", query: "token=q", want: "q"},
		{name: "scheme without separator", header: "Bearerabc", want: ""},
		{name: "scheme only", header: "Bearer", want: ""},
		{name: "similar query key", query: "tokens=abc&xtoken=def", want: ""},
		{name: "bad escape", query: "token=%zz", want: ""},
		{name: "empty query value", query: "token=", want: ""},
		{name: "absent", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenFromRequest(tt.header, tt.query); got != tt.want {
				t.Errorf("TokenFromRequest(%q, %q) = %q, want %q", tt.header, tt.query, got, tt.want)
			}
		})
	}
}

// TokenFromRequest runs on every WebSocket upgrade; unescaped tokens must
// not allocate.
func TestTokenFromRequestAllocs(t *testing.T) {
	for _, in := range [][2]string{{"Bearer abc.def.ghi", ""}, {"", "v=1&token=abc.def.ghi"}} {
		if n := testing.AllocsPerRun(100, func() { TokenFromRequest(in[0], in[1]) }); n != 0 {
			t.Errorf("TokenFromRequest(%q, %q): %v allocs, want 0", in[0], in[1], n)
		}
	}
}
