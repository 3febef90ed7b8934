// Package mpd reads and writes the DASH Media Presentation Description
// (ISO/IEC 23009-1), the slides' "manifest file" that "provides URLs for
// different chunks".
//
// A DASH server divides a video into chunks and stores each chunk encoded at
// several rates; the manifest tells the client what exists and where. An
// [MPD] holds [Period]s (stretches of time), each holding [AdaptationSet]s
// (one per kind of content, such as the video track), each holding
// [Representation]s: the same content at one rate (its bandwidth, codecs and
// resolution). How a Representation's chunks are addressed is said by one of
// three elements, which may sit at any of the three levels and are inherited
// downwards:
//
//   - [SegmentTemplate]: a URL pattern such as
//     "video-$RepresentationID$-$Number%05d$.m4s", with either a fixed
//     segment duration or a [SegmentTimeline] of (start, duration, repeat)
//     entries for $Time$;
//   - [SegmentList]: every segment's URL written out;
//   - [SegmentBase]: one file per Representation, read by byte ranges.
//     The MPD names only the byte range of the file's segment index (the
//     MP4 'sidx' box), which lists the chunks: [MPD.Tracks] gives such a
//     track as one segment with its [Track.Index], and a player that has
//     read the index cuts it with [Track.SetSubsegments] (package dash's
//     Player does).
//
// [BaseURL]s may appear at every level too; each is resolved against the
// one above it, ending with the URL the MPD itself was fetched from. Several
// BaseURLs at one level are alternatives: the same chunks on other servers,
// which is how a client chooses "where" to fetch from.
//
// [Parse] reads an MPD with limits on its size and on everything it can make
// a client allocate; [MPD.Tracks] expands it into the exact list of segment
// URLs with their start times and durations; [MPD.Marshal] writes it back.
package mpd
