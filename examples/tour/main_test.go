package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
			if code := run(ctx, &out, options{only: c.name}); code != 0 {
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
	if code := run(context.Background(), &out, options{list: true}); code != 0 {
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
	if code := run(context.Background(), &out, options{only: "no-such-chapter"}); code == 0 {
		t.Error("an unknown chapter exited 0")
	}
}

// With -keep the chapter's directory outlives the run and its path is
// printed; without it the directory is gone.
func TestTourKeep(t *testing.T) {
	for _, keep := range []bool{true, false} {
		var out bytes.Buffer
		if code := run(context.Background(), &out, options{only: "p2p", keep: keep}); code != 0 {
			t.Fatalf("keep=%v: exited %d:\n%s", keep, code, out.String())
		}
		i := strings.Index(out.String(), "plot ")
		if i < 0 {
			t.Fatalf("keep=%v: no plot path in:\n%s", keep, out.String())
		}
		svg := strings.Fields(out.String()[i+len("plot "):])[0]
		_, err := os.Stat(svg)
		if keep && err != nil {
			t.Errorf("keep=true: %s is gone: %v", svg, err)
		}
		if !keep && err == nil {
			t.Errorf("keep=false: %s is still there", svg)
		}
		if keep {
			os.RemoveAll(filepath.Dir(svg))
		}
	}
}
