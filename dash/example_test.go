package dash_test

import (
	"fmt"
	"time"

	"appnet.dev/dash"
)

// The slides' DASH client on a link that drops from 3 Mbit/s to 1 Mbit/s
// after 24 s, in virtual time: every decision with its reason.
func ExampleSimulator() {
	tr, _ := dash.NewTrace("drop", []dash.TracePoint{
		{At: 0, Bandwidth: 3e6},
		{At: 24 * time.Second, Bandwidth: 1e6},
	}, 10*time.Minute)
	sim := dash.Simulator{Video: dash.Video{
		Bitrates:        []float64{300e3, 750e3, 1200e3, 1850e3, 2850e3},
		SegmentDuration: 4 * time.Second,
		Count:           14,
	}}
	res := sim.Run(tr, dash.Throughput{})
	for _, c := range res.Chunks {
		fmt.Printf("%5.1fs chunk %2d at %s, buffer %4.1fs: %s\n", c.Start.Seconds(), c.Index, dash.Mbps(c.Bitrate), c.Buffer.Seconds(), c.Decision.Reason)
	}
	s := res.Summary
	fmt.Printf("mean %s, %d switches, %d stalls, QoE_lin %.2f per chunk\n", dash.Mbps(s.AvgBitrate), s.Switches, s.Rebuffers, s.QoELin)
	// Output:
	//   0.0s chunk  0 at 0.30 Mbps, buffer  4.0s: no measurement yet: lowest rate
	//   0.5s chunk  1 at 1.85 Mbps, buffer  5.5s: estimate 2.50 Mbps × 0.9 = 2.25 Mbps
	//   3.0s chunk  2 at 1.85 Mbps, buffer  6.9s: estimate 2.85 Mbps × 0.9 = 2.56 Mbps
	//   5.6s chunk  3 at 1.85 Mbps, buffer  8.4s: estimate 2.88 Mbps × 0.9 = 2.59 Mbps
	//   8.1s chunk  4 at 1.85 Mbps, buffer  9.8s: estimate 2.89 Mbps × 0.9 = 2.60 Mbps
	//  10.7s chunk  5 at 1.85 Mbps, buffer 11.3s: estimate 2.89 Mbps × 0.9 = 2.60 Mbps
	//  13.2s chunk  6 at 1.85 Mbps, buffer 12.7s: estimate 2.90 Mbps × 0.9 = 2.61 Mbps
	//  15.8s chunk  7 at 1.85 Mbps, buffer 14.2s: estimate 2.90 Mbps × 0.9 = 2.61 Mbps
	//  18.3s chunk  8 at 1.85 Mbps, buffer 15.6s: estimate 2.90 Mbps × 0.9 = 2.61 Mbps
	//  20.9s chunk  9 at 1.85 Mbps, buffer 17.1s: estimate 2.90 Mbps × 0.9 = 2.61 Mbps
	//  23.4s chunk 10 at 1.85 Mbps, buffer 14.6s: estimate 2.90 Mbps × 0.9 = 2.61 Mbps
	//  29.8s chunk 11 at 1.20 Mbps, buffer 13.8s: estimate 1.54 Mbps × 0.9 = 1.39 Mbps
	//  34.7s chunk 12 at 0.75 Mbps, buffer 14.7s: estimate 1.17 Mbps × 0.9 = 1.05 Mbps
	//  37.8s chunk 13 at 0.75 Mbps, buffer 15.6s: estimate 1.07 Mbps × 0.9 = 0.96 Mbps
	// mean 1.54 Mbps, 3 switches, 0 stalls, QoE_lin 1.20 per chunk
}

// The DASH server's side: two seconds of video cut into chunks at two
// rates, and the manifest that gives their URLs.
func ExampleContent_Encode() {
	c := dash.Content{
		Title:           "netcinema.com/6Y7B23V",
		Source:          dash.Synthetic{FPS: 24, Seed: 1},
		Duration:        2 * time.Second,
		SegmentDuration: time.Second,
		Rates: []dash.Rate{
			{ID: "low", Width: 80, Height: 45, Step: 32},
			{ID: "high", Width: 160, Height: 90, Step: 2},
		},
	}
	e, err := c.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range []string{"low", "high"} {
		fmt.Printf("%s: chunks of %v bytes\n", id, e.Sizes[id])
	}
	fmt.Print(string(e.Files[dash.ManifestName]))
	// Output:
	// low: chunks of [2183 2710] bytes
	// high: chunks of [29248 29525] bytes
	// <?xml version="1.0" encoding="UTF-8"?>
	// <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT2S" minBufferTime="PT2S" maxSegmentDuration="PT1S">
	//   <ProgramInformation>
	//     <Title>netcinema.com/6Y7B23V</Title>
	//   </ProgramInformation>
	//   <Period id="0" start="PT0S">
	//     <AdaptationSet id="0" contentType="video" mimeType="video/x-toy" codecs="toyv" segmentAlignment="true" startWithSAP="1" maxWidth="160" maxHeight="90" frameRate="24">
	//       <SegmentTemplate timescale="24" duration="24" startNumber="1" media="$RepresentationID$/$Number%05d$.toy" initialization="$RepresentationID$/init.toy"></SegmentTemplate>
	//       <Representation id="low" bandwidth="21680" width="80" height="45"></Representation>
	//       <Representation id="high" bandwidth="236200" width="160" height="90"></Representation>
	//     </AdaptationSet>
	//   </Period>
	// </MPD>
}
