// Package coordtest is the conformance suite every receiver.Coordinator
// passes.
package coordtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"giascan/transport/receiver"
)

// Run checks a coordinator made fresh by open.
func Run(t *testing.T, open func(t *testing.T) receiver.Coordinator) {
	ctx := context.Background()
	t.Run("limits", func(t *testing.T) {
		c := open(t)
		l := receiver.Limits{ActivePerStation: 2, DeclaredPerStation: 100}
		now := time.Now()
		if err := c.AddUpload(ctx, receiver.Pending{ID: "a1", Key: "A", Size: 40, Touched: now}, l); err != nil {
			t.Fatal(err)
		}
		var le *receiver.LimitError
		if err := c.AddUpload(ctx, receiver.Pending{ID: "a2", Key: "A", Size: 61, Touched: now}, l); !errors.As(err, &le) {
			t.Fatalf("declared over the limit: %v", err)
		}
		if err := c.AddUpload(ctx, receiver.Pending{ID: "a2", Key: "A", Size: 60, Touched: now}, l); err != nil {
			t.Fatal(err)
		}
		if err := c.AddUpload(ctx, receiver.Pending{ID: "a3", Key: "A", Size: 0, Touched: now}, l); !errors.As(err, &le) {
			t.Fatalf("a third upload: %v", err)
		}
		if err := c.AddUpload(ctx, receiver.Pending{ID: "b1", Key: "B", Size: 100, Touched: now}, l); err != nil {
			t.Fatalf("another station: %v", err)
		}
		if err := c.RemoveUpload(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := c.AddUpload(ctx, receiver.Pending{ID: "a3", Key: "A", Size: 40, Touched: now}, l); err != nil {
			t.Fatalf("after one finished: %v", err)
		}
	})
	t.Run("table", func(t *testing.T) {
		c := open(t)
		old := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
		if err := c.AddUpload(ctx, receiver.Pending{ID: "x", Key: "K", Size: 7, Touched: old}, receiver.Limits{}); err != nil {
			t.Fatal(err)
		}
		c.AddUpload(ctx, receiver.Pending{ID: "y", Key: "K", Size: 7, Touched: old}, receiver.Limits{})
		u, ok, err := c.Upload(ctx, "x")
		if err != nil || !ok || u.Key != "K" || u.Size != 7 || !u.Touched.Equal(old) {
			t.Fatalf("upload x: %+v %v %v", u, ok, err)
		}
		if _, ok, err := c.Upload(ctx, "nope"); ok || err != nil {
			t.Fatalf("unknown upload: %v %v", ok, err)
		}
		if err := c.Touch(ctx, "y", time.Now()); err != nil {
			t.Fatal(err)
		}
		idle, err := c.Idle(ctx, time.Now().Add(-time.Minute))
		if err != nil || len(idle) != 1 || idle[0] != "x" {
			t.Fatalf("idle: %v %v", idle, err)
		}
		c.RemoveUpload(ctx, "x")
		if _, ok, _ := c.Upload(ctx, "x"); ok {
			t.Fatal("removed upload still there")
		}
	})
	t.Run("locks", func(t *testing.T) {
		c := open(t)
		unlock, err := c.Lock(ctx, "n")
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := c.Lock(short, "n"); err == nil {
			t.Fatal("a held lock was taken twice")
		}
		other, err := c.Lock(ctx, "m")
		if err != nil {
			t.Fatalf("another name: %v", err)
		}
		other()
		got := make(chan func(), 1)
		go func() {
			u, err := c.Lock(ctx, "n")
			if err != nil {
				t.Error(err)
			}
			got <- u
		}()
		time.Sleep(50 * time.Millisecond)
		unlock()
		select {
		case u := <-got:
			u()
		case <-time.After(5 * time.Second):
			t.Fatal("a released lock was not handed to the waiter")
		}
	})
	t.Run("unlock twice", func(t *testing.T) {
		c := open(t)
		for range 3 { // taken and released again and again
			u, err := c.Lock(ctx, "n")
			if err != nil {
				t.Fatal(err)
			}
			u()
		}
		first, err := c.Lock(ctx, "n")
		if err != nil {
			t.Fatal(err)
		}
		first()
		later, err := c.Lock(ctx, "n")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { first(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a second unlock blocks")
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := c.Lock(short, "n"); err == nil {
			t.Fatal("a second unlock released the lock of a later holder")
		}
		later()
	})
}
