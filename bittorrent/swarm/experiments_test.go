package swarm

import (
	"math"
	"testing"
	"time"
)

func TestCompareSelection(t *testing.T) {
	t.Parallel()
	out, err := CompareSelection(broadbandConfig(30))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]SelectionOutcome{}
	for _, o := range out {
		t.Log(o)
		by[o.Selection] = o
	}
	rarest, inorder := by[RarestFirst], by[Sequential]
	if rarest.Availability < 0.95 {
		t.Errorf("rarest first: steady-state peer availability %.3f, want ≥ 0.95", rarest.Availability)
	}
	if !(rarest.Availability > inorder.Availability) {
		t.Errorf("rarest first availability %.3f not above in-order's %.3f", rarest.Availability, inorder.Availability)
	}
	if !(rarest.Time < inorder.Time) {
		t.Errorf("rarest first took %v, in-order %v: want rarest first faster", rarest.Time, inorder.Time)
	}
}

func TestCompareChoking(t *testing.T) {
	t.Parallel()
	base := broadbandConfig(30)
	base.FreeRiders = 6
	out, err := CompareChoking(base)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]ChokingOutcome{}
	for _, o := range out {
		t.Log(o)
		by[o.Choking] = o
		if math.IsNaN(o.SeedFairness) || o.SeedFairness <= 0 || o.SeedFairness > 1 {
			t.Errorf("%s: seed fairness %v outside (0, 1]", o.Choking, o.SeedFairness)
		}
	}
	none := by[NoChoking]
	for _, ch := range []string{ChokeBEP3, ChokeMainline, ChokeSlides} {
		o := by[ch]
		// Tit-for-tat gives back to those who give: reciprocation is
		// stronger than without choking, and free riders get less.
		if !(o.Reciprocation > none.Reciprocation) {
			t.Errorf("%s: reciprocation %.2f not above no choking's %.2f", ch, o.Reciprocation, none.Reciprocation)
		}
		if !(o.FreeRiderShare < none.FreeRiderShare) {
			t.Errorf("%s: %.3f of uploads to free riders, no choking %.3f", ch, o.FreeRiderShare, none.FreeRiderShare)
		}
	}
}

func TestCompareChurn(t *testing.T) {
	t.Parallel()
	base := broadbandConfig(30)
	selfish := Churn{Selfish: true}
	quitters := Churn{Interarrival: 30 * time.Second, Abort: 3 * time.Minute}
	out, err := CompareChurn(base, selfish, quitters)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		t.Log(o)
	}
	if len(out) != 3 || out[1].Churn != selfish || out[2].Churn != quitters {
		t.Fatalf("outcomes: %v", out)
	}
	if out[0].Completed != 30 || out[1].Completed != 30 {
		t.Errorf("completed %d and %d of 30 without aborts", out[0].Completed, out[1].Completed)
	}
	// Peers that leave as soon as they finish take their upload with them:
	// the last peers finish later than in a swarm where everyone stays.
	if !(out[1].Time > out[0].Time) {
		t.Errorf("selfish peers: last finished at %v, without churn at %v", out[1].Time, out[0].Time)
	}
	// Leechers that give up after 3 minutes on average, in a download
	// that takes longer, do not all finish.
	if out[2].Completed >= 30 {
		t.Errorf("with aborts all %d peers completed", out[2].Completed)
	}
}
