package smtp

import "testing"

// Every state belongs to one of the slides' three phases.
func TestStatePhases(t *testing.T) {
	for _, tt := range []struct {
		s    state
		want string
	}{
		{stateGreeted, "handshaking/greeted"},
		{stateReady, "transfer/ready"},
		{stateMail, "transfer/mail"},
		{stateRcpt, "transfer/rcpt"},
		{stateClosed, "closure/closed"},
		{state(42), "state(42)"},
	} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%d: String() = %q, want %q", int(tt.s), got, tt.want)
		}
	}
}
