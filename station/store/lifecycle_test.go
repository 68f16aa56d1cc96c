package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A closed auditorium takes no new page, no replacement and no deletion,
// and leaves no image behind; reopening it keeps the closing on record and
// lets pages in again.
func TestClosedPlaceRefusesPagesUntilReopened(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	place := Place{PPE: "0101", Auditorium: "0012"}
	if _, _, err := s.Add(ctx, place, page(1), "sim"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)
	if err := s.SetClosure(Closure{Place: place, By: "op1", At: at}); err != nil {
		t.Fatal(err)
	}
	files := listFiles(t, dir)
	var ce *ClosedError
	if _, _, err := s.Add(ctx, place, page(2), "sim"); !errors.As(err, &ce) || ce.Closure.By != "op1" {
		t.Fatalf("Add into a closed auditorium: %v, want ClosedError by op1", err)
	}
	if _, err := s.Replace(ctx, Ref{Place: place, Seq: 1}, page(3), "sim"); !errors.As(err, &ce) {
		t.Fatalf("Replace in a closed auditorium: %v", err)
	}
	if _, err := s.Delete(Ref{Place: place, Seq: 1}, "x"); !errors.As(err, &ce) {
		t.Fatalf("Delete in a closed auditorium: %v", err)
	}
	if err := s.SetClosure(Closure{Place: place, By: "op2", At: at}); !errors.As(err, &ce) || ce.Closure.By != "op1" {
		t.Fatalf("closing twice: %v, want the first closing kept", err)
	}
	if got := listFiles(t, dir); len(got) != len(files) {
		t.Fatalf("refused changes left files: %v, was %v", got, files)
	}
	pages, _ := s.Pages(place)
	if len(pages) != 1 || pages[0].Status != Active {
		t.Fatalf("pages after refusals: %+v", pages)
	}
	// Another auditorium is not affected.
	if _, _, err := s.Add(ctx, Place{PPE: "0101", Auditorium: "0013"}, page(4), "sim"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReopenClosure(Place{PPE: "0101", Auditorium: "0013"}, "head", "x", at); !errors.Is(err, ErrNotClosed) {
		t.Fatalf("reopening an open auditorium: %v", err)
	}
	r, err := s.ReopenClosure(place, "head", "лист 2 найден в коридоре", at.Add(time.Hour))
	if err != nil || r.Closed.By != "op1" {
		t.Fatalf("reopen: %+v, %v", r, err)
	}
	if _, _, err := s.Add(ctx, place, page(2), "sim"); err != nil {
		t.Fatalf("Add after reopening: %v", err)
	}
	s.Close()
	s = mustOpen(t, dir)
	hist, err := s.Reopens()
	if err != nil || len(hist[place]) != 1 || hist[place][0].Reason != "лист 2 найден в коридоре" {
		t.Fatalf("reopen history after restart: %+v, %v", hist, err)
	}
	if cl, _ := s.Closures(); len(cl) != 0 {
		t.Fatalf("closures after reopening: %+v", cl)
	}
}
