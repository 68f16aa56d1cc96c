package pgstate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"giascan/transport/receiver"
	"giascan/transport/receiver/coordtest"
	"giascan/transport/receiver/pgstate"
	"giascan/transport/receiver/pgstate/pgtest"
)

func open(t *testing.T, url string) *pgstate.DB {
	t.Helper()
	db, err := pgstate.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestConformance(t *testing.T) {
	url := pgtest.Start(t)
	ctx := context.Background()
	coordtest.Run(t, func(t *testing.T) receiver.Coordinator {
		db := open(t, url)
		// Each subtest starts from an empty table.
		if err := db.RemoveAll(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// A lock held by a receiver that dies is released with its connections,
// and the table is shared between receivers.
func TestLockDiesWithItsReceiver(t *testing.T) {
	url := pgtest.Start(t)
	ctx := context.Background()
	a, b := open(t, url), open(t, url)
	if _, err := a.Lock(ctx, "upload/x"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddUpload(ctx, receiver.Pending{ID: "x", Key: "K", Size: 1, Touched: time.Now()}, receiver.Limits{}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short, "upload/x"); err == nil {
		t.Fatal("the other receiver took a held lock")
	}
	a.Close()
	unlock, err := b.Lock(ctx, "upload/x")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	unlock()
	if u, ok, err := b.Upload(ctx, "x"); err != nil || !ok || u.Key != "K" {
		t.Fatalf("the upload as the other receiver sees it: %+v %v %v", u, ok, err)
	}
}

// Two receivers admitting uploads of one station at the same moment
// never let it past its limit together.
func TestLimitsHoldAcrossReceivers(t *testing.T) {
	url := pgtest.Start(t)
	ctx := context.Background()
	dbs := []*pgstate.DB{open(t, url), open(t, url)}
	l := receiver.Limits{ActivePerStation: 3, DeclaredPerStation: 1 << 30}
	var wg sync.WaitGroup
	var admitted atomic.Int64
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := dbs[i%2].AddUpload(ctx, receiver.Pending{ID: fmt.Sprint("u", i), Key: "K", Size: 1, Touched: time.Now()}, l)
			var le *receiver.LimitError
			switch {
			case err == nil:
				admitted.Add(1)
			case !errors.As(err, &le):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 3 {
		t.Fatalf("%d uploads admitted, the limit is 3", admitted.Load())
	}
}
