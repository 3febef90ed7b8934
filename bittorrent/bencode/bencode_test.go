package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnmarshalGeneric(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"i42e", int64(42)},
		{"i0e", int64(0)},
		{"i-7e", int64(-7)},
		{"i9223372036854775807e", int64(9223372036854775807)},
		{"i-9223372036854775808e", int64(-9223372036854775808)},
		{"0:", ""},
		{"4:spam", "spam"},
		{"le", []any{}},
		{"l4:spami42ee", []any{"spam", int64(42)}},
		{"de", map[string]any{}},
		{"d3:cow3:moo4:spam4:eggse", map[string]any{"cow": "moo", "spam": "eggs"}},
		{"d4:spaml1:a1:bee", map[string]any{"spam": []any{"a", "b"}}},
		{"d0:i1ee", map[string]any{"": int64(1)}},
	}
	for _, tt := range tests {
		var got any
		if err := Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Unmarshal(%q) (-want +got):\n%s", tt.in, diff)
		}
		// Every strictly valid input re-encodes to itself.
		out, err := Marshal(got)
		if err != nil || string(out) != tt.in {
			t.Errorf("Marshal(Unmarshal(%q)) = %q, %v", tt.in, out, err)
		}
	}
}

func TestUnmarshalStrict(t *testing.T) {
	tests := []struct {
		in, why string
	}{
		{"", "end of input"},
		{"i03e", "leading zero"},
		{"i00e", "leading zero"},
		{"i-0e", "negative zero"},
		{"i-03e", "leading zero"},
		{"ie", "without digits"},
		{"i-e", "without digits"},
		{"i1", "end of input"},
		{"i1.5e", "invalid byte"},
		{"i+1e", "invalid byte"},
		{"i9223372036854775808e", "64 bits"},
		{"i-9223372036854775809e", "64 bits"},
		{"i123456789012345678901e", "64 bits"},
		{"03:abc", "leading zero"},
		{"00:", "leading zero"},
		{"5:abc", "past the end"},
		{"99999999999999999999:x", "too many digits"},
		{"4spam", "invalid byte"},
		{"-1:a", "invalid byte"},
		{"l", "end of input in list"},
		{"li1e", "end of input in list"},
		{"d", "end of input in dictionary"},
		{"d1:ai1e", "end of input in dictionary"},
		{"d1:b1:x1:a1:ye", "out of order"},
		{"d1:a1:x1:a1:ye", "duplicate"},
		{"d2:ab1:x1:b1:y1:a1:ze", "out of order"},
		{"di1e1:xe", "not a string"},
		{"d1:ae", "invalid byte"},
		{"i1ei2e", "after the top-level value"},
		{"4:spamx", "after the top-level value"},
		{"x", "invalid byte"},
		{"e", "invalid byte"},
		{strings.Repeat("l", DefaultMaxDepth+1) + strings.Repeat("e", DefaultMaxDepth+1), "nested deeper"},
	}
	for _, tt := range tests {
		var got any
		err := Unmarshal([]byte(tt.in), &got)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Unmarshal(%q) = %v, want a SyntaxError (%s)", tt.in, err, tt.why)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Unmarshal(%q) = %v, want it to mention %q", tt.in, err, tt.why)
		}
		if Valid([]byte(tt.in)) {
			t.Errorf("Valid(%q) = true", tt.in)
		}
	}
	// The deepest allowed nesting is accepted.
	ok := strings.Repeat("l", DefaultMaxDepth) + strings.Repeat("e", DefaultMaxDepth)
	if !Valid([]byte(ok)) {
		t.Errorf("nesting of exactly DefaultMaxDepth rejected")
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	var v any
	err := Unmarshal([]byte("d1:ai1e1:bi03ee"), &v)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 10 {
		t.Fatalf("got %v, want a SyntaxError at offset 10", err)
	}
}

type announce struct {
	Interval    int64      `bencode:"interval"`
	MinInterval int64      `bencode:"min interval,omitempty"`
	Peers       []peerDict `bencode:"peers"`
	Failure     string     `bencode:"failure reason,omitempty"`
	Complete    *int       `bencode:"complete"`
	Private     bool       `bencode:"private,omitempty"`
	Hash        [4]byte    `bencode:"hash,omitempty"`
	Blob        []byte     `bencode:"blob,omitempty"`
	Skipped     string     `bencode:"-"`
	NoTag       uint16
}

type peerDict struct {
	ID   string `bencode:"peer id"`
	IP   string `bencode:"ip"`
	Port int    `bencode:"port"`
}

func TestMarshalStruct(t *testing.T) {
	five := 5
	v := announce{
		Interval: 1800,
		Peers:    []peerDict{{"-AP0001-abcdefghijkl", "127.0.0.2", 6881}},
		Complete: &five,
		Private:  true,
		Hash:     [4]byte{'a', 'b', 'c', 'd'},
		Skipped:  "never",
		NoTag:    7,
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "d5:NoTagi7e8:completei5e4:hash4:abcd8:intervali1800e5:peersld2:ip9:127.0.0.27:peer id20:-AP0001-abcdefghijkl4:porti6881eee7:privatei1ee"
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
	var back announce
	if err := Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	v.Skipped = ""
	if diff := cmp.Diff(v, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestUnmarshalTypeErrors(t *testing.T) {
	tests := []struct {
		in    string
		into  any
		field string
	}{
		{"d8:intervali-1ee", new(struct {
			I uint `bencode:"interval"`
		}), "interval"},
		{"d8:interval3:abce", new(announce), "interval"},
		{"d5:NoTagi70000ee", new(announce), "NoTag"},
		{"d4:hash3:abce", new(announce), "hash"},
		{"d7:privatei2ee", new(announce), "private"},
		{"d5:peersld4:port1:xeee", new(announce), "peers.port"},
		{"li1ei2ei3ee", new([2]int), ""},
		{"le", new(map[string]int), ""},
	}
	for _, tt := range tests {
		err := Unmarshal([]byte(tt.in), tt.into)
		var te *UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("Unmarshal(%q, %T) = %v, want an UnmarshalTypeError", tt.in, tt.into, err)
			continue
		}
		if te.Field != tt.field {
			t.Errorf("Unmarshal(%q): field %q, want %q (%v)", tt.in, te.Field, tt.field, err)
		}
	}
	var ie *InvalidUnmarshalError
	if err := Unmarshal([]byte("i1e"), 3); !errors.As(err, &ie) {
		t.Errorf("Unmarshal into a non-pointer: %v", err)
	}
}

func TestRawMessage(t *testing.T) {
	in := []byte("d4:infod4:name1:x6:lengthi1ee1:zi1ee") // unsorted inside the raw value
	var v struct {
		Info RawMessage `bencode:"info"`
		Z    int        `bencode:"z"`
	}
	if err := Unmarshal(in, &v); err == nil {
		t.Fatalf("unsorted keys inside a raw value were accepted")
	}
	in = []byte("d4:infod6:lengthi1e4:name1:xe1:zi1ee")
	if err := Unmarshal(in, &v); err != nil {
		t.Fatal(err)
	}
	if string(v.Info) != "d6:lengthi1e4:name1:xe" {
		t.Errorf("raw info = %q", v.Info)
	}
	in[10] = '9' // the RawMessage is a copy, not an alias
	if string(v.Info) != "d6:lengthi1e4:name1:xe" {
		t.Errorf("raw info aliases the input: %q", v.Info)
	}
	out, err := Marshal(v)
	if err != nil || string(out) != "d4:infod6:lengthi1e4:name1:xe1:zi1ee" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
	if _, err := Marshal(struct{ R RawMessage }{RawMessage("i1ei2e")}); err == nil {
		t.Errorf("Marshal accepted a RawMessage with two values")
	}
	if _, err := Marshal(struct{ R RawMessage }{RawMessage("i01e")}); err == nil {
		t.Errorf("Marshal accepted an invalid RawMessage")
	}
}

func TestDecoderSpans(t *testing.T) {
	in := []byte("d8:msg_typei1e5:piecei0eeRAWDATA")
	d := NewDecoder(in)
	var msg struct {
		Type  int `bencode:"msg_type"`
		Piece int `bencode:"piece"`
	}
	if err := d.Decode(&msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != 1 || d.InputOffset() != 25 || string(d.Remaining()) != "RAWDATA" {
		t.Errorf("got %+v offset %d rest %q", msg, d.InputOffset(), d.Remaining())
	}

	d = NewDecoder([]byte("i1e4:spamli2ee"))
	var spans []string
	for d.More() {
		start := d.InputOffset()
		raw, err := d.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		spans = append(spans, fmt.Sprintf("%d-%d:%s", start, d.InputOffset(), raw))
	}
	want := []string{"0-3:i1e", "3-9:4:spam", "9-14:li2ee"}
	if diff := cmp.Diff(want, spans); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}

	d = NewDecoder([]byte("llleee"))
	d.MaxDepth = 2
	if _, err := d.ReadValue(); err == nil {
		t.Errorf("MaxDepth 2 accepted depth 3")
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, v := range []any{
		nil,
		1.5,
		map[int]string{1: "x"},
		(*int)(nil),
		make(chan int),
		struct {
			A int `bencode:"x"`
			B int `bencode:"x"`
		}{},
	} {
		if out, err := Marshal(v); err == nil {
			t.Errorf("Marshal(%#v) = %q, want an error", v, out)
		}
	}
}

func TestMarshalMapSortedAndNils(t *testing.T) {
	m := map[string]any{"b": 1, "a": "x", "c": nil, "": []int{1}}
	out, err := Marshal(m)
	if err != nil || string(out) != "d0:li1ee1:a1:x1:bi1ee" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

type upper string

func (u upper) MarshalBencode() ([]byte, error) {
	return AppendString(nil, strings.ToUpper(string(u))), nil
}

func (u *upper) UnmarshalBencode(b []byte) error {
	var s string
	if err := Unmarshal(b, &s); err != nil {
		return err
	}
	*u = upper(strings.ToLower(s))
	return nil
}

func TestMarshalerInterfaces(t *testing.T) {
	v := struct {
		U upper   `bencode:"u"`
		P *upper  `bencode:"p"`
		L []upper `bencode:"l"`
	}{}
	if err := Unmarshal([]byte("d1:ll2:ABe1:p2:CD1:u2:EFe"), &v); err != nil {
		t.Fatal(err)
	}
	if v.U != "ef" || *v.P != "cd" || v.L[0] != "ab" {
		t.Errorf("got %+v", v)
	}
	out, err := Marshal(v)
	if err != nil || string(out) != "d1:ll2:ABe1:p2:CD1:u2:EFe" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

type Inner struct {
	A int `bencode:"a"`
	B int `bencode:"b"`
}

func TestEmbedded(t *testing.T) {
	v := struct {
		Inner
		B int `bencode:"b"` // shadows Inner.B
	}{Inner{1, 2}, 3}
	out, err := Marshal(v)
	if err != nil || string(out) != "d1:ai1e1:bi3ee" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestAppendHelpers(t *testing.T) {
	b := []byte{'d'}
	b = AppendString(b, "interval")
	b = AppendInt(b, -1800)
	b = AppendString(b, "peers")
	b = AppendBytes(b, []byte{127, 0, 0, 1, 0x1a, 0xe1})
	b = append(b, 'e')
	if !Valid(b) || !bytes.Equal(b, []byte("d8:intervali-1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e")) {
		t.Errorf("got %q", b)
	}
}

func TestUnmarshalReusedSlice(t *testing.T) {
	v := []peerDict{{ID: "old", IP: "127.0.0.9", Port: 1}, {ID: "old2"}}
	if err := Unmarshal([]byte("ld4:porti6881eee"), &v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]peerDict{{Port: 6881}}, v); diff != "" {
		t.Errorf("reused slice (-want +got):\n%s", diff)
	}
	var empty []int
	if err := Unmarshal([]byte("le"), &empty); err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty list gave %#v, %v", empty, err)
	}
}
