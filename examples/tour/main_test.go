package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The tour is the main job: every chapter must run to the end.
func TestTour(t *testing.T) {
	for _, c := range chapters() {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			if code := run(ctx, &out, false, c.name); code != 0 {
				t.Fatalf("chapter %s exited %d:\n%s", c.name, code, out.String())
			}
			if !strings.Contains(out.String(), "== Summary ==") {
				t.Errorf("chapter %s printed no summary", c.name)
			}
		})
	}
}

func TestTourList(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), &out, true, ""); code != 0 {
		t.Fatalf("-list exited %d", code)
	}
	for _, c := range chapters() {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("-list does not name %s", c.name)
		}
	}
}

func TestTourUnknownChapter(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), &out, false, "no-such-chapter"); code == 0 {
		t.Error("an unknown chapter exited 0")
	}
}
