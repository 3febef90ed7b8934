package bencode_test

import (
	"fmt"

	"appnet.dev/bittorrent/bencode"
)

// A tracker's reply, as the slides' Alice would receive it when she joins
// the torrent: how long to wait, and some peers to try.
func ExampleMarshal() {
	type peer struct {
		IP   string `bencode:"ip"`
		Port int    `bencode:"port"`
	}
	reply := struct {
		Interval int    `bencode:"interval"`
		Peers    []peer `bencode:"peers"`
		Warning  string `bencode:"warning message,omitempty"`
	}{
		Interval: 1800,
		Peers:    []peer{{"127.0.0.2", 6881}, {"127.0.0.3", 6881}},
	}
	b, err := bencode.Marshal(reply)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", b)
	// Output:
	// d8:intervali1800e5:peersld2:ip9:127.0.0.24:porti6881eed2:ip9:127.0.0.34:porti6881eeee
}

func ExampleUnmarshal() {
	var v struct {
		Failure string `bencode:"failure reason"`
	}
	err := bencode.Unmarshal([]byte("d14:failure reason17:torrent not founde"), &v)
	fmt.Println(v.Failure, err)

	// Strict: one spelling per value.
	var n int
	fmt.Println(bencode.Unmarshal([]byte("i03e"), &n))
	// Output:
	// torrent not found <nil>
	// bencode: syntax error at offset 0: integer with a leading zero
}

// The info hash is the SHA-1 of the info dictionary's bytes as they appear
// in the file; a RawMessage keeps them.
func ExampleRawMessage() {
	var torrent struct {
		Info bencode.RawMessage `bencode:"info"`
	}
	data := []byte("d8:announce14:http://t/annou4:infod6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces0:ee")
	if err := bencode.Unmarshal(data, &torrent); err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", torrent.Info)
	// Output:
	// d6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces0:e
}
