package bittorrent

import "fmt"

// BlockSize is the size of the requests every client sends: 16 KiB. BEP 3
// lets a peer close the connection on requests larger than this.
const BlockSize = 16 * 1024

// A Layout is how a torrent of Length bytes is cut into pieces of
// PieceLength bytes (the last one shorter) and pieces into blocks of
// BlockSize bytes, the unit of a request.
type Layout struct {
	Length      int64 // total bytes of the torrent's content
	PieceLength int64 // bytes of every piece but the last
}

// NumPieces is the number of pieces.
func (l Layout) NumPieces() int {
	if l.PieceLength <= 0 {
		return 0
	}
	return int((l.Length + l.PieceLength - 1) / l.PieceLength)
}

// PieceSize is the size of piece i; the last piece holds what is left.
func (l Layout) PieceSize(i int) int64 {
	if i < 0 || i >= l.NumPieces() {
		return 0
	}
	if i == l.NumPieces()-1 {
		return l.Length - int64(i)*l.PieceLength
	}
	return l.PieceLength
}

// NumBlocks is the number of blocks of piece i.
func (l Layout) NumBlocks(i int) int {
	return int((l.PieceSize(i) + BlockSize - 1) / BlockSize)
}

// Block returns the j-th block of piece i.
func (l Layout) Block(i, j int) Block {
	size := l.PieceSize(i)
	begin := int64(j) * BlockSize
	n := min(int64(BlockSize), size-begin)
	return Block{Piece: i, Begin: int(begin), Length: int(n)}
}

// Valid reports whether b is one of the blocks of the layout, or a
// sub-range of a piece a peer may ask for: inside the piece and no longer
// than maxLength bytes.
func (l Layout) Valid(b Block, maxLength int) bool {
	size := l.PieceSize(b.Piece)
	return b.Piece >= 0 && b.Piece < l.NumPieces() && b.Begin >= 0 && b.Length > 0 &&
		b.Length <= maxLength && int64(b.Begin)+int64(b.Length) <= size
}

// A Block is a range of one piece, the unit of request, piece and cancel
// messages.
type Block struct {
	Piece  int // piece index
	Begin  int // byte offset inside the piece
	Length int // bytes
}

func (b Block) String() string {
	return fmt.Sprintf("piece %d [%d+%d]", b.Piece, b.Begin, b.Length)
}
