package bencode

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that any input either fails cleanly or decodes to a
// value that encodes back to exactly the same bytes: strict bencoding has
// one spelling per value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"i42e", "i-0e", "i03e", "4:spam", "03:abc", "l4:spami42ee",
		"d3:cow3:moo4:spam4:eggse", "d1:b1:x1:a1:ye", "d1:a1:x1:a1:ye",
		"d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e",
		"d8:announce30:http://127.0.0.1:6969/announce4:infod6:lengthi5e4:name5:hello12:piece lengthi262144e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
		"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllleeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
		"99999999999999999999:", "i9223372036854775808e",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		err := Unmarshal(data, &v)
		if Valid(data) != (err == nil) {
			t.Fatalf("Valid and Unmarshal disagree on %q: %v", data, err)
		}
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", v, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip changed %q into %q", data, out)
		}
		var raw RawMessage
		if err := Unmarshal(data, &raw); err != nil || !bytes.Equal(raw, data) {
			t.Fatalf("RawMessage of %q = %q, %v", data, raw, err)
		}
	})
}
