package peer_test

import (
	"bytes"
	"fmt"

	"appnet.dev/bittorrent/peer"
)

// A request for the first 16 KiB block of piece 417, as it goes on the
// wire, and read back.
func ExampleAppendMessage() {
	b := peer.AppendMessage(nil, peer.Message{Type: peer.Request, Index: 417, Begin: 0, Length: 16384})
	fmt.Printf("% x\n", b)
	m, _, err := peer.ReadMessage(bytes.NewReader(b), nil, 0)
	fmt.Println(m, err)
	// Output:
	// 00 00 00 0d 06 00 00 01 a1 00 00 00 00 00 00 40 00
	// request 417 0 16384 <nil>
}
