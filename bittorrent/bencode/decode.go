package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// DefaultMaxDepth is how deeply lists and dictionaries may nest when a
// [Decoder] does not say otherwise. Real torrents and tracker replies nest
// four or five levels; the limit only stops hostile input.
const DefaultMaxDepth = 64

// maxLengthDigits is the most digits a string length may have: 18 digits
// cannot overflow an int64, and no buffer is that long anyway.
const maxLengthDigits = 18

// A SyntaxError reports input that is not strict bencoding.
type SyntaxError struct {
	Offset int64  // where in the input the problem was found
	msg    string // what was wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bencode: syntax error at offset %d: %s", e.Offset, e.msg)
}

// An UnmarshalTypeError reports a bencoded value that does not fit the Go
// value it was to be stored in.
type UnmarshalTypeError struct {
	Value  string       // "integer", "string", "list", "dictionary", or a description
	Type   reflect.Type // the Go type it could not be stored in
	Offset int64        // where the value starts in the input
	Field  string       // the dictionary keys leading to the value, dot-separated
}

func (e *UnmarshalTypeError) Error() string {
	where := ""
	if e.Field != "" {
		where = " in field " + e.Field
	}
	return fmt.Sprintf("bencode: cannot store %s at offset %d%s in Go value of type %v", e.Value, e.Offset, where, e.Type)
}

// An InvalidUnmarshalError reports a target that Unmarshal cannot write to:
// nil, or not a pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "bencode: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "bencode: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "bencode: Unmarshal(nil " + e.Type.String() + ")"
}

// Unmarshaler is implemented by types that decode their own bencoding. The
// argument is one complete, valid value; implementations copy it if they
// keep it.
type Unmarshaler interface {
	UnmarshalBencode(data []byte) error
}

// RawMessage is a bencoded value kept as the exact bytes it was read from.
// Decoding into a RawMessage copies the value's bytes; encoding one writes
// them unchanged (after checking they are one valid value).
type RawMessage []byte

// MarshalBencode returns m unchanged.
func (m RawMessage) MarshalBencode() ([]byte, error) {
	if len(m) == 0 {
		return nil, errors.New("bencode: empty RawMessage")
	}
	return m, nil
}

// UnmarshalBencode stores a copy of data in m.
func (m *RawMessage) UnmarshalBencode(data []byte) error {
	if m == nil {
		return errors.New("bencode: UnmarshalBencode on nil *RawMessage")
	}
	*m = append((*m)[:0], data...)
	return nil
}

// Unmarshal decodes the single bencoded value in data into v, which must be
// a non-nil pointer. Data after the value is an error.
func Unmarshal(data []byte, v any) error {
	d := NewDecoder(data)
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.off != len(data) {
		return &SyntaxError{int64(d.off), "data after the top-level value"}
	}
	return nil
}

// Valid reports whether data is exactly one strictly encoded value.
func Valid(data []byte) bool {
	d := NewDecoder(data)
	_, err := d.ReadValue()
	return err == nil && d.off == len(data)
}

// A Decoder reads bencoded values one after another from a buffer, for
// input that holds more than one value or a value followed by other data
// (a BEP 9 metadata message carries a dictionary and then raw bytes).
type Decoder struct {
	// MaxDepth bounds how deeply lists and dictionaries may nest;
	// zero means DefaultMaxDepth.
	MaxDepth int

	data   []byte
	off    int
	fields fieldCache
}

// NewDecoder returns a Decoder that reads from data. The Decoder does not
// copy data; the caller must not change it while decoding.
func NewDecoder(data []byte) *Decoder {
	return &Decoder{data: data}
}

// InputOffset returns how many bytes of the input have been consumed: the
// offset where the next value starts.
func (d *Decoder) InputOffset() int64 { return int64(d.off) }

// More reports whether any input remains.
func (d *Decoder) More() bool { return d.off < len(d.data) }

// Remaining returns the input not yet consumed.
func (d *Decoder) Remaining() []byte { return d.data[d.off:] }

// ReadValue checks the next value and returns its exact bytes, a slice of
// the decoder's input (not a copy). The value spans
// [InputOffset() before the call, InputOffset() after it).
func (d *Decoder) ReadValue() (RawMessage, error) {
	start := d.off
	end, err := d.scan(start, 0)
	if err != nil {
		return nil, err
	}
	d.off = end
	return RawMessage(d.data[start:end:end]), nil
}

// Decode reads the next value and stores it in v, which must be a non-nil
// pointer. The whole value is checked before anything is stored.
func (d *Decoder) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{reflect.TypeOf(v)}
	}
	start := d.off
	end, err := d.scan(start, 0)
	if err != nil {
		return err
	}
	if _, err := d.decode(start, rv); err != nil {
		var te *UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			te.Field = d.keyPath(start, int(te.Offset))
		}
		return err
	}
	d.off = end
	return nil
}

func (d *Decoder) maxDepth() int {
	if d.MaxDepth > 0 {
		return d.MaxDepth
	}
	return DefaultMaxDepth
}

func (d *Decoder) syntax(off int, format string, args ...any) error {
	return &SyntaxError{int64(off), fmt.Sprintf(format, args...)}
}

// scan checks the value at off strictly and returns where it ends.
func (d *Decoder) scan(off, depth int) (int, error) {
	if off >= len(d.data) {
		return 0, d.syntax(off, "unexpected end of input")
	}
	switch c := d.data[off]; {
	case c == 'i':
		_, end, err := d.parseInt(off)
		return end, err
	case c >= '0' && c <= '9':
		_, end, err := d.parseString(off)
		return end, err
	case c == 'l':
		if depth >= d.maxDepth() {
			return 0, d.syntax(off, "nested deeper than %d", d.maxDepth())
		}
		off++
		for {
			if off >= len(d.data) {
				return 0, d.syntax(off, "unexpected end of input in list")
			}
			if d.data[off] == 'e' {
				return off + 1, nil
			}
			end, err := d.scan(off, depth+1)
			if err != nil {
				return 0, err
			}
			off = end
		}
	case c == 'd':
		if depth >= d.maxDepth() {
			return 0, d.syntax(off, "nested deeper than %d", d.maxDepth())
		}
		off++
		var prev []byte
		first := true
		for {
			if off >= len(d.data) {
				return 0, d.syntax(off, "unexpected end of input in dictionary")
			}
			if d.data[off] == 'e' {
				return off + 1, nil
			}
			if c := d.data[off]; c < '0' || c > '9' {
				return 0, d.syntax(off, "dictionary key is not a string")
			}
			key, end, err := d.parseString(off)
			if err != nil {
				return 0, err
			}
			if !first {
				switch cmp := bytes.Compare(prev, key); {
				case cmp == 0:
					return 0, d.syntax(off, "duplicate dictionary key %q", key)
				case cmp > 0:
					return 0, d.syntax(off, "dictionary key %q out of order after %q", key, prev)
				}
			}
			first, prev = false, key
			if end, err = d.scan(end, depth+1); err != nil {
				return 0, err
			}
			off = end
		}
	default:
		return 0, d.syntax(off, "invalid byte %q at the start of a value", c)
	}
}

// parseInt parses the strict integer at off ('i' ... 'e').
func (d *Decoder) parseInt(off int) (int64, int, error) {
	start := off
	off++ // 'i'
	neg := false
	if off < len(d.data) && d.data[off] == '-' {
		neg = true
		off++
	}
	digits := off
	var u uint64
	for off < len(d.data) && d.data[off] >= '0' && d.data[off] <= '9' {
		if off-digits >= 19 {
			return 0, 0, d.syntax(start, "integer does not fit in 64 bits")
		}
		u = u*10 + uint64(d.data[off]-'0')
		off++
	}
	switch {
	case off >= len(d.data):
		return 0, 0, d.syntax(off, "unexpected end of input in integer")
	case d.data[off] != 'e':
		return 0, 0, d.syntax(off, "invalid byte %q in integer", d.data[off])
	case off == digits:
		return 0, 0, d.syntax(start, "integer without digits")
	case d.data[digits] == '0' && off-digits > 1:
		return 0, 0, d.syntax(start, "integer with a leading zero")
	case neg && u == 0:
		return 0, 0, d.syntax(start, "negative zero")
	}
	if neg {
		if u > 1<<63 {
			return 0, 0, d.syntax(start, "integer does not fit in 64 bits")
		}
		return -int64(u), off + 1, nil
	}
	if u > 1<<63-1 {
		return 0, 0, d.syntax(start, "integer does not fit in 64 bits")
	}
	return int64(u), off + 1, nil
}

// parseString parses the byte string at off and returns its contents (a
// slice of the input). The length is checked against the input before use.
func (d *Decoder) parseString(off int) ([]byte, int, error) {
	start := off
	n := 0
	for off < len(d.data) && d.data[off] >= '0' && d.data[off] <= '9' {
		if off-start >= maxLengthDigits {
			return nil, 0, d.syntax(start, "string length has too many digits")
		}
		n = n*10 + int(d.data[off]-'0')
		off++
	}
	switch {
	case off >= len(d.data):
		return nil, 0, d.syntax(off, "unexpected end of input in string length")
	case d.data[off] != ':':
		return nil, 0, d.syntax(off, "invalid byte %q in string length", d.data[off])
	case d.data[start] == '0' && off-start > 1:
		return nil, 0, d.syntax(start, "string length with a leading zero")
	}
	off++ // ':'
	if n > len(d.data)-off {
		return nil, 0, d.syntax(start, "string length %d runs past the end of the input (%d bytes left)", n, len(d.data)-off)
	}
	return d.data[off : off+n : off+n], off + n, nil
}

// skip returns the end of the already-checked value at off.
func (d *Decoder) skip(off int) int {
	switch c := d.data[off]; {
	case c == 'i':
		return off + bytes.IndexByte(d.data[off:], 'e') + 1
	case c == 'l' || c == 'd':
		off++
		for d.data[off] != 'e' {
			off = d.skip(off)
		}
		return off + 1
	default:
		_, end, _ := d.parseString(off)
		return end
	}
}

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	byteType        = reflect.TypeFor[byte]()
)

func kindName(c byte) string {
	switch {
	case c == 'i':
		return "integer"
	case c == 'l':
		return "list"
	case c == 'd':
		return "dictionary"
	}
	return "string"
}

// decode stores the already-checked value at off in v and returns its end.
func (d *Decoder) decode(off int, v reflect.Value) (int, error) {
	// Follow pointers, allocating as needed, and look for an Unmarshaler.
	for {
		if v.CanAddr() && v.Kind() != reflect.Pointer && v.Addr().Type().Implements(unmarshalerType) {
			end := d.skip(off)
			if err := v.Addr().Interface().(Unmarshaler).UnmarshalBencode(d.data[off:end:end]); err != nil {
				return 0, err
			}
			return end, nil
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().Implements(unmarshalerType) {
			end := d.skip(off)
			if err := v.Interface().(Unmarshaler).UnmarshalBencode(d.data[off:end:end]); err != nil {
				return 0, err
			}
			return end, nil
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Interface && v.NumMethod() == 0 {
		x, end := d.generic(off)
		v.Set(reflect.ValueOf(x))
		return end, nil
	}
	c := d.data[off]
	mismatch := func() (int, error) {
		return 0, &UnmarshalTypeError{Value: kindName(c), Type: v.Type(), Offset: int64(off)}
	}
	switch {
	case c == 'i':
		n, end, _ := d.parseInt(off)
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.OverflowInt(n) {
				return 0, &UnmarshalTypeError{Value: "integer " + strconv.FormatInt(n, 10), Type: v.Type(), Offset: int64(off)}
			}
			v.SetInt(n)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if n < 0 || v.OverflowUint(uint64(n)) {
				return 0, &UnmarshalTypeError{Value: "integer " + strconv.FormatInt(n, 10), Type: v.Type(), Offset: int64(off)}
			}
			v.SetUint(uint64(n))
		case reflect.Bool:
			if n != 0 && n != 1 {
				return 0, &UnmarshalTypeError{Value: "integer " + strconv.FormatInt(n, 10), Type: v.Type(), Offset: int64(off)}
			}
			v.SetBool(n == 1)
		default:
			return mismatch()
		}
		return end, nil
	case c >= '0' && c <= '9':
		s, end, _ := d.parseString(off)
		switch {
		case v.Kind() == reflect.String:
			v.SetString(string(s))
		case v.Kind() == reflect.Slice && v.Type().Elem() == byteType:
			v.SetBytes(append([]byte{}, s...))
		case v.Kind() == reflect.Array && v.Type().Elem() == byteType:
			if len(s) != v.Len() {
				return 0, &UnmarshalTypeError{Value: fmt.Sprintf("string of %d bytes", len(s)), Type: v.Type(), Offset: int64(off)}
			}
			reflect.Copy(v, reflect.ValueOf(s))
		default:
			return mismatch()
		}
		return end, nil
	case c == 'l':
		switch v.Kind() {
		case reflect.Slice:
			if v.Type().Elem() == byteType {
				return mismatch()
			}
			// Count the elements first (the value is already checked, so
			// skipping is cheap) and allocate the slice once.
			n := 0
			for p := off + 1; d.data[p] != 'e'; p = d.skip(p) {
				n++
			}
			v.SetLen(0)
			v.Grow(n)
			v.SetLen(n)
			if v.IsNil() { // an empty list is an empty slice, not nil
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			for i := range n {
				v.Index(i).SetZero() // no leftovers from a reused slice
			}
			off++
			for i := range n {
				end, err := d.decode(off, v.Index(i))
				if err != nil {
					return 0, err
				}
				off = end
			}
			return off + 1, nil
		case reflect.Array:
			if v.Type().Elem() == byteType {
				return mismatch()
			}
			start := off
			off++
			i := 0
			for ; d.data[off] != 'e'; i++ {
				if i >= v.Len() {
					return 0, &UnmarshalTypeError{Value: "list longer than " + strconv.Itoa(v.Len()), Type: v.Type(), Offset: int64(start)}
				}
				end, err := d.decode(off, v.Index(i))
				if err != nil {
					return 0, err
				}
				off = end
			}
			for ; i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
			return off + 1, nil
		}
		return mismatch()
	default: // 'd'
		switch v.Kind() {
		case reflect.Struct:
			fields := d.fields.get(v.Type())
			off++
			for d.data[off] != 'e' {
				key, end, _ := d.parseString(off)
				off = end
				f, ok := fields.byName[string(key)]
				if !ok {
					off = d.skip(off)
					continue
				}
				fv := v.FieldByIndex(f.index)
				end, err := d.decode(off, fv)
				if err != nil {
					return 0, err
				}
				off = end
			}
			return off + 1, nil
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return mismatch()
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			elem := v.Type().Elem()
			off++
			for d.data[off] != 'e' {
				key, end, _ := d.parseString(off)
				off = end
				ev := reflect.New(elem).Elem()
				end, err := d.decode(off, ev)
				if err != nil {
					return 0, err
				}
				off = end
				v.SetMapIndex(reflect.ValueOf(string(key)).Convert(v.Type().Key()), ev)
			}
			return off + 1, nil
		}
		return mismatch()
	}
}

// keyPath names the value at target inside the value at off by the
// dictionary keys that lead to it ("info.files.length"), for an error
// message; lists add no name. The input is already checked.
func (d *Decoder) keyPath(off, target int) string {
	var keys []string
	for off < target {
		c := d.data[off]
		if c != 'd' && c != 'l' {
			break
		}
		p, next := off+1, -1
		for d.data[p] != 'e' && next < 0 {
			var key []byte
			vstart := p
			if c == 'd' {
				key, vstart, _ = d.parseString(p)
			}
			vend := d.skip(vstart)
			if target >= vstart && target < vend {
				if c == 'd' {
					keys = append(keys, string(key))
				}
				next = vstart
			}
			p = vend
		}
		if next < 0 {
			break
		}
		off = next
	}
	return strings.Join(keys, ".")
}

// generic decodes the already-checked value at off into int64, string,
// []any or map[string]any.
func (d *Decoder) generic(off int) (any, int) {
	switch c := d.data[off]; {
	case c == 'i':
		n, end, _ := d.parseInt(off)
		return n, end
	case c == 'l':
		list := []any{}
		off++
		for d.data[off] != 'e' {
			x, end := d.generic(off)
			list = append(list, x)
			off = end
		}
		return list, off + 1
	case c == 'd':
		dict := map[string]any{}
		off++
		for d.data[off] != 'e' {
			key, end, _ := d.parseString(off)
			x, end := d.generic(end)
			dict[string(key)] = x
			off = end
		}
		return dict, off + 1
	default:
		s, end, _ := d.parseString(off)
		return string(s), end
	}
}
