package bencode

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Marshaler is implemented by types that encode themselves. The result
// must be exactly one valid value; Marshal checks it.
type Marshaler interface {
	MarshalBencode() ([]byte, error)
}

// An UnsupportedTypeError reports a Go type that has no bencoding: floats,
// complex numbers, channels, functions, maps with non-string keys.
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "bencode: unsupported type " + e.Type.String()
}

// An UnsupportedValueError reports a value that cannot be encoded, such as
// a nil pointer where a value is required.
type UnsupportedValueError struct {
	Why string
}

func (e *UnsupportedValueError) Error() string { return "bencode: unsupported value: " + e.Why }

// A MarshalerError reports an error from a MarshalBencode method, or
// output from one that is not a single valid value.
type MarshalerError struct {
	Type reflect.Type
	Err  error
}

func (e *MarshalerError) Error() string {
	return "bencode: MarshalBencode for type " + e.Type.String() + ": " + e.Err.Error()
}

func (e *MarshalerError) Unwrap() error { return e.Err }

// Marshal returns the bencoding of v.
//
// Integers (and bool, as i0e or i1e) become integers; strings, []byte and
// byte arrays become byte strings; other slices and arrays become lists;
// maps with string keys and structs become dictionaries with their keys
// sorted. A struct field's key is its `bencode:"name"` tag, or the field's
// name; the tag option omitempty leaves out zero values, and the tag "-"
// leaves the field out. Nil pointers and interfaces in struct fields and
// maps are left out, since bencoding has no null. Values implementing
// [Marshaler] encode themselves.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the bencoding of v to b, as [Marshal] describes.
func Append(b []byte, v any) ([]byte, error) {
	var e encoder
	return e.appendValue(b, reflect.ValueOf(v))
}

// An encoder holds what one call of Append has learnt about struct types.
type encoder struct {
	fields fieldCache
}

// A fieldCache remembers structFields for the length of one Marshal or
// Decoder, so a list of 5000 file dictionaries inspects its type once.
type fieldCache map[reflect.Type]fieldSet

func (c *fieldCache) get(t reflect.Type) fieldSet {
	if fs, ok := (*c)[t]; ok {
		return fs
	}
	if *c == nil {
		*c = fieldCache{}
	}
	fs := structFields(t)
	(*c)[t] = fs
	return fs
}

// AppendInt appends the integer n: i<n>e.
func AppendInt(b []byte, n int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, n, 10)
	return append(b, 'e')
}

// AppendString appends the byte string s: <len>:<s>.
func AppendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// AppendBytes appends the byte string s: <len>:<s>.
func AppendBytes(b []byte, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

var marshalerType = reflect.TypeFor[Marshaler]()

func (e *encoder) appendValue(b []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() {
		return b, &UnsupportedValueError{"nil"}
	}
	if v.Type().Implements(marshalerType) && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		return appendMarshaler(b, v.Interface().(Marshaler), v.Type())
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(marshalerType) {
		return appendMarshaler(b, v.Addr().Interface().(Marshaler), v.Addr().Type())
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, "i1e"...), nil
		}
		return append(b, "i0e"...), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendInt(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b = append(b, 'i')
		b = strconv.AppendUint(b, v.Uint(), 10)
		return append(b, 'e'), nil
	case reflect.String:
		return AppendString(b, v.String()), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem() == byteType {
			if v.Kind() == reflect.Slice {
				return AppendBytes(b, v.Bytes()), nil
			}
			b = strconv.AppendInt(b, int64(v.Len()), 10)
			b = append(b, ':')
			for i := range v.Len() {
				b = append(b, byte(v.Index(i).Uint()))
			}
			return b, nil
		}
		b = append(b, 'l')
		for i := range v.Len() {
			var err error
			if b, err = e.appendValue(b, v.Index(i)); err != nil {
				return b, err
			}
		}
		return append(b, 'e'), nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return b, &UnsupportedTypeError{v.Type()}
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
		b = append(b, 'd')
		for _, k := range keys {
			ev := v.MapIndex(k)
			if isNil(ev) {
				continue
			}
			b = AppendString(b, k.String())
			var err error
			if b, err = e.appendValue(b, ev); err != nil {
				return b, err
			}
		}
		return append(b, 'e'), nil
	case reflect.Struct:
		fields := e.fields.get(v.Type())
		if fields.err != nil {
			return b, fields.err
		}
		b = append(b, 'd')
		for _, f := range fields.list {
			fv := v.FieldByIndex(f.index)
			if isNil(fv) || f.omitEmpty && isEmpty(fv) {
				continue
			}
			b = AppendString(b, f.name)
			var err error
			if b, err = e.appendValue(b, fv); err != nil {
				return b, err
			}
		}
		return append(b, 'e'), nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return b, &UnsupportedValueError{"nil " + v.Type().String()}
		}
		return e.appendValue(b, v.Elem())
	}
	return b, &UnsupportedTypeError{v.Type()}
}

func appendMarshaler(b []byte, m Marshaler, t reflect.Type) ([]byte, error) {
	out, err := m.MarshalBencode()
	if err != nil {
		return b, &MarshalerError{t, err}
	}
	d := NewDecoder(out)
	if _, err := d.ReadValue(); err != nil {
		return b, &MarshalerError{t, err}
	}
	if d.More() {
		return b, &MarshalerError{t, fmt.Errorf("%d bytes after the value", len(d.Remaining()))}
	}
	return append(b, out...), nil
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

// field is one struct field as a dictionary entry.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

type fieldSet struct {
	list   []field // sorted by name
	byName map[string]field
	err    error // two fields with one key
}

// structFields lists t's encodable fields. Embedded structs without a tag
// contribute their fields, as in encoding/json (the shallower field wins).
func structFields(t reflect.Type) fieldSet {
	fs := fieldSet{byName: map[string]field{}}
	depthOf := map[string]int{}
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag, hasTag := sf.Tag.Lookup("bencode")
			if tag == "-" {
				continue
			}
			idx := append(slices.Clone(index), i)
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && !hasTag {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && depth < 8 && sf.Type.Kind() != reflect.Pointer {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := field{name: name, index: idx, omitEmpty: opts == "omitempty"}
			if d, dup := depthOf[name]; dup {
				if d == depth {
					fs.err = fmt.Errorf("bencode: struct %v has two fields with key %q", t, name)
				}
				if d <= depth {
					continue
				}
			}
			depthOf[name] = depth
			fs.byName[name] = f
		}
	}
	walk(t, nil, 0)
	for _, f := range fs.byName {
		fs.list = append(fs.list, f)
	}
	slices.SortFunc(fs.list, func(x, y field) int { return cmp.Compare(x.name, y.name) })
	return fs
}
