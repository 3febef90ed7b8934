package dash

import (
	"fmt"
	"time"
)

// PlayState is the playout state of a client: the slides' "continuous
// playout constraint" holds while Playing; a Stalled player has run out of
// buffered video and waits (rebuffering).
type PlayState int

// Playout states.
const (
	Starting PlayState = iota // waiting for the first chunk (or after a seek)
	Playing                   // the playhead advances in real time
	Stalled                   // buffer ran dry: rebuffering
	Paused                    // the viewer paused; the buffer keeps filling
	Ended                     // every chunk played
)

func (s PlayState) String() string {
	switch s {
	case Starting:
		return "starting"
	case Playing:
		return "playing"
	case Stalled:
		return "stalled"
	case Paused:
		return "paused"
	case Ended:
		return "ended"
	}
	return fmt.Sprintf("PlayState(%d)", int(s))
}

// Playout is the client-side playout buffer as a model in time: chunks go
// in with Push, time passes with Advance, and it accounts start-up delay
// and stalls. It does no I/O and reads no clock, so the player (in real
// time) and the simulator (in virtual time) share it.
type Playout struct {
	// StartAfter is how much video must be buffered before playout starts
	// or resumes after a stall; zero means as soon as a chunk is in.
	StartAfter time.Duration

	state      PlayState
	resume     PlayState // what Resume returns to
	buffer     time.Duration
	position   time.Duration // playhead, in presentation time
	clock      time.Duration // time since the session began
	started    bool
	startup    time.Duration
	stalls     int
	stallTime  time.Duration
	seekWait   time.Duration
	pausedTime time.Duration
}

// State returns the playout state.
func (p *Playout) State() PlayState { return p.state }

// Buffer returns the video buffered ahead of the playhead.
func (p *Playout) Buffer() time.Duration { return p.buffer }

// Position returns the playhead in presentation time.
func (p *Playout) Position() time.Duration { return p.position }

// Clock returns the time passed since the session began.
func (p *Playout) Clock() time.Duration { return p.clock }

// StartupDelay returns the time from the beginning to the start of playout.
func (p *Playout) StartupDelay() time.Duration { return p.startup }

// Stalls returns how many times playout stalled, and for how long in all.
func (p *Playout) Stalls() (int, time.Duration) { return p.stalls, p.stallTime }

// Advance lets d of time pass and returns how much of it was spent stalled
// (waiting to start, at the beginning or after a seek, is not a stall).
func (p *Playout) Advance(d time.Duration) (waited time.Duration) {
	if d <= 0 {
		return 0
	}
	p.clock += d
	switch p.state {
	case Starting:
		if p.started {
			p.seekWait += d
		} else {
			p.startup += d
		}
		return 0
	case Playing:
		if p.buffer >= d {
			p.buffer -= d
			p.position += d
			return 0
		}
		short := d - p.buffer
		p.position += p.buffer
		p.buffer = 0
		p.state = Stalled
		p.stalls++
		p.stallTime += short
		return short
	case Stalled:
		p.stallTime += d
		return d
	case Paused:
		p.pausedTime += d
	}
	return 0
}

// Push adds a chunk of duration d to the buffer; playout starts or resumes
// once StartAfter of video is in.
func (p *Playout) Push(d time.Duration) {
	p.buffer += d
	switch p.state {
	case Starting, Stalled:
		if p.buffer >= p.StartAfter && p.buffer > 0 {
			p.state = Playing
			p.started = true
		}
	case Paused:
		if p.resume == Starting || p.resume == Stalled {
			if p.buffer >= p.StartAfter {
				p.resume = Playing
			}
		}
	}
}

// Pause stops the playhead; the buffer keeps what it has and may grow.
func (p *Playout) Pause() {
	if p.state == Paused || p.state == Ended {
		return
	}
	p.resume = p.state
	p.state = Paused
}

// Resume continues after Pause.
func (p *Playout) Resume() {
	if p.state != Paused {
		return
	}
	p.state = p.resume
}

// Seek jumps the playhead to pos: what was buffered is dropped, and the
// player waits for the chunk at pos as it did at the start (the wait is not
// a stall).
func (p *Playout) Seek(pos time.Duration) {
	p.buffer = 0
	p.position = pos
	if p.state == Paused {
		p.resume = Starting
		return
	}
	if p.state != Ended {
		p.state = Starting
	}
}

// Finish plays out what is left in the buffer after the last chunk and
// ends the session.
func (p *Playout) Finish() {
	if p.state == Playing {
		p.clock += p.buffer
		p.position += p.buffer
		p.buffer = 0
	}
	p.state = Ended
}
