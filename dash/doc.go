// Package dash implements video streaming as the lecture tells it: a toy
// video codec, DASH (Dynamic, Adaptive Streaming over HTTP, ISO/IEC
// 23009-1) content, server and player, the client's playout buffer and its
// adaptive-bitrate (ABR) rules, and a trace-driven simulator.
//
// # Video: images at a constant rate, pixels as bits
//
// A [Frame] is an array of pixels. The toy codec uses the two kinds of
// redundancy the slides name. Spatial coding, within an image: instead of
// sending N values of the same colour (all purple), send two values, the
// colour and N ([AppendRuns]). Temporal coding, from one image to the next:
// instead of sending the complete frame i+1, send only its differences from
// frame i ([AppendFrame] with [DeltaFrame]). A quantizer step trades quality
// for bits; [EncodeGroup] keeps it constant, so the rate varies with the
// content (VBR), and [EncodeGroupCBR] varies it to hold the rate constant
// (CBR). [DecodeGroup] gives back exactly the frames the encoder quantized.
// [Synthetic] makes the video: moving shapes on shaded backgrounds, with
// scene cuts.
//
// # DASH server: chunks at several rates, and a manifest
//
// The server "divides video file into multiple chunks; each chunk stored,
// encoded at different rates; manifest file: provides URLs for different
// chunks". [Content.Encode] is that segmenter: it cuts the video into
// chunks, codes each at every [Rate] and writes the manifest, an MPD
// (package [appnet.dev/dash/mpd]). [Server] serves the files over HTTP,
// ours or any other DASH directory such as ffmpeg's.
//
// The chunks need not be files of their own. In the on-demand layout each
// rate is one MP4 file and the MPD names only where in it the segment index
// is; [ParseSegmentIndex] reads that index (an MP4 'sidx' box: each
// chunk's byte range and duration), and the [Player] then fetches chunks
// by byte range. Sound usually comes in an AdaptationSet of its own; the
// Player fetches one audio rate beside the video ([SelectAudio]) and adapts
// the video alone.
//
// An MPD may splice several pieces into one programme, a film and an
// advertisement say, as Periods one after another on the presentation
// timeline (each starts at its start attribute, or where the one before it
// ends). The Player plays them all as one session: the chunks of each
// Period in turn, numbered on from the last, with one playout buffer and
// one rule. Each Period brings its own Representations and initialization
// segments; the rule sees one ladder, the Periods' Representations joined
// by rank ([SelectTracks] in each), and the [Report] says where each
// Period begins ([PeriodLog]).
//
// # DASH client: the intelligence is at the client
//
// The client "periodically measures server-to-client bandwidth; consulting
// manifest, requests one chunk at a time; chooses maximum coding rate
// sustainable given current bandwidth". It decides when to request (the
// [Player] waits while its buffer is full), what encoding rate (a [Rule]:
// [Throughput], [BBA], [BOLA], [MPC] and RobustMPC, [StochasticMPC] (it
// plans for several possible futures at once, switches up only for a gain
// that does not rest on one lucky sample, and believes a step up at once),
// [Fugu] (the same planning, with futures a [Predictor] learned from past
// sessions; level with StochasticMPC with abandonment, ahead of it on
// held-out traces without), [Rollout] (StochasticMPC corrected by a table
// of what moving its choice a step down or up gained in simulated
// sessions), [Learned] (StochasticMPC's expected QoE of each rate plus a
// correction whose weights were trained on the QoE itself), [Dynamic]; and
// [Abandon] for a chunk that arrives too slowly, judged on a rate watched
// for longer the more buffer there is, since a short fade is no reason to
// waste a chunk) and where from (one of
// several BaseURLs or servers: [ChooseServer], [FirstHealthy]). Rules are
// pure functions of a [State]; every [Decision] carries its reason, and
// each [ChunkLog] keeps the state it was made from. Bandwidth is measured per chunk and smoothed
// by an [Estimator] ([EWMA] with two half-lives, [HarmonicMean]).
//
// The three decisions are made in one place, the chunk loop of client.go:
// one step per chunk (build the State, choose the rate, pick the server,
// download, measure, log, wait while the buffer is full). The [Player] runs
// it over HTTP with a [Clock], the [Simulator] over a bandwidth [Trace] in
// virtual time, so what a simulation shows is what the player does.
//
// On loopback the network is as fast as memory; [LimitedClient] throttles
// the player's connections in process to a rate or a [Trace], and a
// [SkipClock] skips the waits with a full buffer so a demo runs quickly.
//
// # Playout buffering
//
// Once playout begins it must keep the original timing (the continuous
// playout constraint), but network delay varies, so the client buffers.
// [Playout] is that buffer as a model: start-up delay, stalls
// (rebuffering) counted and timed, pause and seek. A [Summary] scores a
// session with the QoE metrics of MPC and Pensieve ([QoELin], [QoELog],
// [QoEHD]).
//
// # Simulation
//
// [Simulator] streams a [Video] over a bandwidth [Trace] in virtual time
// with the same chunk loop, rules and buffer, and [Simulator.Optimum] computes the best
// any rule could have done, knowing the trace in advance. Traces load from
// Mahimahi and "cooked" files, or come from [GenerateTrace].
//
// The simulator also trains. [TrainPredictor] runs sessions over training
// traces and counts what followed each kind of history; the result, a
// table of throughput distributions written by [WritePredictor], is what
// Fugu plans with. The one shipped ([DefaultPredictor]) was trained on
// synthetic traces of the same four kinds as the test set but with other
// seeds: like Puffer's Fugu, it learned on the network it serves.
//
// [TrainRollout] learns from experience in another way: policy improvement
// by rollouts. It runs StochasticMPC's sessions and, at every decision,
// runs the session again with that choice (and the next three) one step
// lower, and again one step higher, StochasticMPC deciding the rest; what
// each move gained or lost is counted by the kind of decision (how much is
// buffered, the quality chosen, whether it was a switch up, a switch down
// or staying). [Rollout] chooses as StochasticMPC, then makes a move where
// the table says it gained on average by more than its noise. The shipped
// table ([DefaultRolloutTable]) says StochasticMPC switches too readily: up
// with a few seconds buffered, down with tens of seconds buffered. Moving
// one decision alone tells little: the session after it goes another way
// by chance, and the gain is lost in that noise; a second round, trained
// on the improved rule's sessions, found nothing more.
//
// [TrainLearned] learns end to end, Pensieve's idea: the rule's score is
// the mean QoE_lin of a thousand simulated sessions, and the cross-entropy
// method searches the fourteen weights of [Learned] (bonuses for Rollout's
// and StochasticMPC's choices, and features of rate, buffer, switch and
// stall) for the highest score, with no model of the link and no
// gradient. The shipped weights ([DefaultLearnedWeights]) mostly follow
// Rollout, and they trust the slowest recent sample less than
// StochasticMPC does: on held-out traces the rule gains about 0.3 points
// of the optimum over Rollout, on the fast links, and loses a little on
// the slow, persistent ones.
package dash
