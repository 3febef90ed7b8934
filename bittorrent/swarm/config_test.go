package swarm

import (
	"testing"
	"time"
)

func TestParseChurn(t *testing.T) {
	tests := []struct {
		in      string
		want    Churn
		wantErr bool
	}{
		{"", Churn{}, false},
		{"none", Churn{}, false},
		{"arrive=30s", Churn{Interarrival: 30 * time.Second}, false},
		{"arrive=20s,selfish,abort=2h", Churn{20 * time.Second, true, 2 * time.Hour}, false},
		{" selfish , arrive=1m ", Churn{Interarrival: time.Minute, Selfish: true}, false},
		{"selfish,selfish", Churn{}, true},
		{"arrive", Churn{}, true},
		{"arrive=-1s", Churn{}, true},
		{"arrive=0s", Churn{}, true},
		{"abort=soon", Churn{}, true},
		{"selfish=yes", Churn{}, true},
		{"leave", Churn{}, true},
	}
	for _, tt := range tests {
		got, err := ParseChurn(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseChurn(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseChurn(f *testing.F) {
	for _, s := range []string{"", "none", "arrive=30s,selfish", "abort=1h", "arrive=1ns,abort=1ns,selfish", "x=y,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseChurn(s)
		if err != nil {
			return
		}
		// What parses formats back to itself.
		again, err := ParseChurn(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseChurn(%q) = %+v; its String %q gives %+v, %v", s, c, c.String(), again, err)
		}
	})
}
