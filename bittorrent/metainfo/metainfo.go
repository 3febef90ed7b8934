package metainfo

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"appnet.dev/bittorrent/bencode"
)

// MaxSize is the largest .torrent file [Read] and [Load] accept. The
// biggest real torrents (hundreds of thousands of files) stay well below.
const MaxSize = 64 << 20

// MaxPieceLength bounds a torrent's piece length: a peer buffers whole
// pieces, so a hostile torrent must not ask for gigabytes each.
const MaxPieceLength = 256 << 20

// maxTotalLength bounds the sum of a torrent's file lengths so offsets
// never overflow (2^56 bytes is 64 PiB).
const maxTotalLength = 1 << 56

// A MetaInfo is a .torrent file.
type MetaInfo struct {
	Announce     string     // the tracker's announce URL
	AnnounceList [][]string // tiers of trackers (BEP 12); optional
	URLList      []string   // web seeds (BEP 19); optional
	Comment      string
	CreatedBy    string
	CreationDate time.Time // zero when the file has none

	// Info is the decoded info dictionary. It is a view of InfoBytes:
	// change it through SetInfo so the two agree.
	Info Info

	// InfoBytes is the info dictionary exactly as it appears in the file.
	// Write puts these bytes back unchanged, and InfoHash hashes them.
	InfoBytes []byte
}

// An Info is a torrent's info dictionary: what is shared, cut into pieces.
type Info struct {
	Name        string // file name, or the top directory of a multi-file torrent
	PieceLength int64  // bytes per piece; the last piece may be shorter
	Pieces      []byte // the pieces' SHA-1 hashes, 20 bytes each, in order
	Length      int64  // a single-file torrent's length
	Files       []File // a multi-file torrent's files (nil for a single file)
	Private     bool   // BEP 27: peers only from the tracker (no DHT, no PEX)
	Source      string // optional tag some trackers require in private torrents
}

// A File is one file of a multi-file torrent.
type File struct {
	Length int64
	Path   []string // under Info.Name, one element per directory level
}

// wire forms: the exact keys BEP 3 and its extensions use.
type wireTorrent struct {
	Announce     string             `bencode:"announce,omitempty"`
	AnnounceList [][]string         `bencode:"announce-list,omitempty"`
	Comment      string             `bencode:"comment,omitempty"`
	CreatedBy    string             `bencode:"created by,omitempty"`
	CreationDate int64              `bencode:"creation date,omitempty"`
	Info         bencode.RawMessage `bencode:"info"`
	URLList      urlList            `bencode:"url-list,omitempty"`
}

type wireInfo struct {
	Files       []wireFile `bencode:"files,omitempty"`
	Length      *int64     `bencode:"length"`
	Name        string     `bencode:"name"`
	PieceLength int64      `bencode:"piece length"`
	Pieces      []byte     `bencode:"pieces"`
	Private     bool       `bencode:"private,omitempty"`
	Source      string     `bencode:"source,omitempty"`
}

type wireFile struct {
	Length int64    `bencode:"length"`
	Path   []string `bencode:"path"`
}

// urlList is BEP 19's url-list: a list of URLs, or a single URL string
// (as mktorrent writes when given one web seed).
type urlList []string

func (u *urlList) UnmarshalBencode(b []byte) error {
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		var s string
		if err := bencode.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "" {
			*u = urlList{s}
		}
		return nil
	}
	var list []string
	if err := bencode.Unmarshal(b, &list); err != nil {
		return err
	}
	*u = list
	return nil
}

// Parse reads a .torrent file's contents and checks them.
func Parse(data []byte) (*MetaInfo, error) {
	var w wireTorrent
	if err := bencode.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	if len(w.Info) == 0 {
		return nil, errors.New("metainfo: no info dictionary")
	}
	info, err := ParseInfo(w.Info)
	if err != nil {
		return nil, err
	}
	m := &MetaInfo{
		Announce:     w.Announce,
		AnnounceList: w.AnnounceList,
		URLList:      w.URLList,
		Comment:      w.Comment,
		CreatedBy:    w.CreatedBy,
		Info:         *info,
		InfoBytes:    w.Info,
	}
	if w.CreationDate != 0 {
		m.CreationDate = time.Unix(w.CreationDate, 0).UTC()
	}
	return m, nil
}

// ParseInfo decodes and checks an info dictionary, as received from a
// .torrent file or from peers (BEP 9 metadata exchange).
func ParseInfo(data []byte) (*Info, error) {
	var w wireInfo
	if err := bencode.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("metainfo: info: %w", err)
	}
	info := &Info{
		Name:        w.Name,
		PieceLength: w.PieceLength,
		Pieces:      w.Pieces,
		Private:     w.Private,
		Source:      w.Source,
	}
	switch {
	case w.Files != nil && w.Length != nil:
		return nil, errors.New("metainfo: info: both length and files")
	case w.Files != nil:
		info.Files = make([]File, len(w.Files))
		for i, f := range w.Files {
			info.Files[i] = File(f)
		}
	case w.Length != nil:
		info.Length = *w.Length
	default:
		return nil, errors.New("metainfo: info: neither length nor files")
	}
	if err := info.Validate(); err != nil {
		return nil, err
	}
	return info, nil
}

// Read reads a .torrent file of at most MaxSize bytes from r.
func Read(r io.Reader) (*MetaInfo, error) {
	return readLimited(r, MaxSize)
}

func readLimited(r io.Reader, limit int64) (*MetaInfo, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("metainfo: torrent larger than %d bytes", limit)
	}
	return Parse(data)
}

// Load reads the .torrent file at path.
func Load(path string) (*MetaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	defer f.Close()
	m, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// InfoHash returns the SHA-1 of the info dictionary's bytes: the torrent's
// identity in announces, handshakes and magnet links.
func (m *MetaInfo) InfoHash() Hash {
	return sha1.Sum(m.InfoBytes)
}

// SetInfo checks info, encodes it into InfoBytes and stores it in Info.
// Use it to build a torrent by hand; a parsed torrent already has both.
func (m *MetaInfo) SetInfo(info Info) error {
	if err := info.Validate(); err != nil {
		return err
	}
	b, err := info.marshal()
	if err != nil {
		return err
	}
	m.Info = info
	m.InfoBytes = b
	return nil
}

func (info *Info) marshal() ([]byte, error) {
	w := wireInfo{
		Name:        info.Name,
		PieceLength: info.PieceLength,
		Pieces:      info.Pieces,
		Private:     info.Private,
		Source:      info.Source,
	}
	if info.Files != nil {
		w.Files = make([]wireFile, len(info.Files))
		for i, f := range info.Files {
			w.Files[i] = wireFile(f)
		}
	} else {
		n := info.Length
		w.Length = &n
	}
	b, err := bencode.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("metainfo: info: %w", err)
	}
	return b, nil
}

// Bytes returns the .torrent file's encoding. InfoBytes is written as it
// is, so a parsed torrent keeps its info hash.
func (m *MetaInfo) Bytes() ([]byte, error) {
	if len(m.InfoBytes) == 0 {
		return nil, errors.New("metainfo: no info dictionary (use SetInfo)")
	}
	w := wireTorrent{
		Announce:     m.Announce,
		AnnounceList: m.AnnounceList,
		Comment:      m.Comment,
		CreatedBy:    m.CreatedBy,
		Info:         m.InfoBytes,
		URLList:      m.URLList,
	}
	if !m.CreationDate.IsZero() {
		w.CreationDate = m.CreationDate.Unix()
	}
	b, err := bencode.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	return b, nil
}

// Write writes the .torrent file's encoding to w.
func (m *MetaInfo) Write(w io.Writer) error {
	b, err := m.Bytes()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Trackers returns the announce URLs in the order a client tries them:
// the tiers of announce-list when there are any (BEP 12), else announce.
func (m *MetaInfo) Trackers() []string {
	var out []string
	seen := map[string]bool{}
	for _, tier := range m.AnnounceList {
		for _, u := range tier {
			if u != "" && !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	if m.Announce != "" && !seen[m.Announce] {
		out = append(out, m.Announce)
	}
	return out
}

// Validate checks an info dictionary the way Parse does.
func (info *Info) Validate() error {
	if err := checkComponent(info.Name); err != nil {
		return fmt.Errorf("metainfo: info: name: %w", err)
	}
	if info.PieceLength <= 0 || info.PieceLength > MaxPieceLength {
		return fmt.Errorf("metainfo: info: piece length %d out of range (1 to %d)", info.PieceLength, MaxPieceLength)
	}
	if len(info.Pieces)%sha1.Size != 0 {
		return fmt.Errorf("metainfo: info: pieces is %d bytes, not a multiple of 20", len(info.Pieces))
	}
	var total int64
	if info.Files == nil {
		if info.Length < 0 || info.Length > maxTotalLength {
			return fmt.Errorf("metainfo: info: length %d out of range", info.Length)
		}
		total = info.Length
	} else {
		if len(info.Files) == 0 {
			return errors.New("metainfo: info: empty file list")
		}
		seen := make(map[string]bool, len(info.Files))
		for i, f := range info.Files {
			if f.Length < 0 || f.Length > maxTotalLength-total {
				return fmt.Errorf("metainfo: info: file %d: length %d out of range", i, f.Length)
			}
			total += f.Length
			if err := CheckPath(f.Path); err != nil {
				return fmt.Errorf("metainfo: info: file %d: %w", i, err)
			}
			key := strings.Join(f.Path, "/")
			if seen[key] {
				return fmt.Errorf("metainfo: info: file %d: %q appears twice", i, key)
			}
			seen[key] = true
		}
	}
	if want := (total + info.PieceLength - 1) / info.PieceLength; int64(len(info.Pieces)/sha1.Size) != want {
		return fmt.Errorf("metainfo: info: %d piece hashes for %d bytes in pieces of %d (want %d)",
			len(info.Pieces)/sha1.Size, total, info.PieceLength, want)
	}
	return nil
}

// CheckPath reports whether a file's path components are safe to join
// under a download directory: at least one component, none empty, ".",
// or "..", none containing a slash, a backslash or a NUL byte (so none is
// absolute either).
func CheckPath(path []string) error {
	if len(path) == 0 {
		return errors.New("empty path")
	}
	for _, c := range path {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("path %q: %w", path, err)
		}
	}
	return nil
}

func checkComponent(c string) error {
	switch {
	case c == "":
		return errors.New("empty name")
	case c == "." || c == "..":
		return fmt.Errorf("name %q not allowed", c)
	case strings.ContainsAny(c, "/\\\x00"):
		return fmt.Errorf("name %q contains a separator or NUL", c)
	}
	return nil
}

// MultiFile reports whether the torrent is a directory of files.
func (info *Info) MultiFile() bool { return info.Files != nil }

// TotalLength returns the number of bytes the torrent shares.
func (info *Info) TotalLength() int64 {
	if info.Files == nil {
		return info.Length
	}
	var n int64
	for _, f := range info.Files {
		n += f.Length
	}
	return n
}

// NumPieces returns the number of pieces.
func (info *Info) NumPieces() int { return len(info.Pieces) / sha1.Size }

// PieceHash returns the SHA-1 hash piece i must have.
func (info *Info) PieceHash(i int) Hash {
	var h Hash
	copy(h[:], info.Pieces[i*sha1.Size:(i+1)*sha1.Size])
	return h
}

// PieceSize returns the length of piece i: PieceLength, except for a
// shorter last piece.
func (info *Info) PieceSize(i int) int64 {
	start := int64(i) * info.PieceLength
	return min(info.PieceLength, info.TotalLength()-start)
}

// A FileRange places one file in the torrent's byte stream: the pieces
// cover the files one after another, in order.
type FileRange struct {
	Path   []string // relative to the download directory, starting with Info.Name
	Offset int64    // where the file starts in the torrent's bytes
	Length int64
}

// FileRanges returns where each file lies in the stream of pieces. A
// single-file torrent has one range whose path is its name.
func (info *Info) FileRanges() []FileRange {
	if info.Files == nil {
		return []FileRange{{Path: []string{info.Name}, Length: info.Length}}
	}
	out := make([]FileRange, len(info.Files))
	var off int64
	for i, f := range info.Files {
		out[i] = FileRange{Path: append([]string{info.Name}, f.Path...), Offset: off, Length: f.Length}
		off += f.Length
	}
	return out
}
