package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"twostep/internal/store"
)

// reserveBurst runs n reservations of wants at once on dbs (round robin:
// several connections pools stand for several instances) and returns how
// many were granted.
func reserveBurst(t *testing.T, dbs []*store.DB, n int, now time.Time, wants ...store.Want) int {
	t.Helper()
	var granted atomic.Int64
	var wg sync.WaitGroup
	startLine := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(db *store.DB) {
			defer wg.Done()
			<-startLine
			r, err := db.Reserve(context.Background(), now, wants)
			if err != nil {
				t.Errorf("reserve: %v", err)
				return
			}
			if r == nil {
				granted.Add(1)
			}
		}(dbs[i%len(dbs)])
	}
	close(startLine)
	wg.Wait()
	return int(granted.Load())
}

func TestReserveHoldsUnderConcurrency(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		dbs := []*store.DB{open(t, url), open(t, url)}
		if _, err := dbs[0].Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}

		budget := store.Want{Key: "b", Window: time.Hour, Limit: 10}
		if got := reserveBurst(t, dbs, 60, at(0), budget); got != 10 {
			t.Fatalf("budget of 10: %d of 60 concurrent reservations granted", got)
		}
		// A refusal names the key and says when the window ends.
		r, err := dbs[0].Reserve(context.Background(), at(time.Minute), []store.Want{budget})
		if err != nil || r == nil || len(r.Keys) != 1 || r.Keys[0] != "b" || !r.Until.Equal(at(time.Hour)) {
			t.Fatalf("refusal = %+v, %v; want key b until the window's end", r, err)
		}
		// A refund gives exactly one unit back.
		if err := dbs[1].Refund(context.Background(), "b"); err != nil {
			t.Fatal(err)
		}
		if got := reserveBurst(t, dbs, 20, at(2*time.Minute), budget); got != 1 {
			t.Fatalf("after one refund: %d granted, want 1", got)
		}
		// A new window starts afresh.
		if got := reserveBurst(t, dbs, 20, at(time.Hour), budget); got != 10 {
			t.Fatalf("next window: %d granted, want 10", got)
		}

		// A growing-delay throttle: the free ones and the one that sets the
		// first delay; then one per delay.
		backoff := store.Want{Key: "d", Window: 12 * time.Hour, Free: 5, Delay: func(n int64) time.Duration { return time.Duration(n) * time.Second }}
		if got := reserveBurst(t, dbs, 60, at(0), backoff); got != 6 {
			t.Fatalf("backoff with 5 free: %d of 60 granted, want 6", got)
		}
		if got := reserveBurst(t, dbs, 60, at(time.Second), backoff); got != 1 {
			t.Fatalf("after the 1 s delay: %d of 60 granted, want 1", got)
		}
		if got := reserveBurst(t, dbs, 60, at(2*time.Second), backoff); got != 0 {
			t.Fatalf("within the 2 s delay: %d of 60 granted, want 0", got)
		}

		// All or nothing: when one want is spent, the others are not
		// charged.
		full := store.Want{Key: "full", Window: time.Hour, Limit: 1}
		other := store.Want{Key: "other", Window: time.Hour, Limit: 1}
		if got := reserveBurst(t, dbs, 1, at(0), full); got != 1 {
			t.Fatal("first unit of full refused")
		}
		if got := reserveBurst(t, dbs, 5, at(0), other, full); got != 0 {
			t.Fatalf("%d reservations granted with one want spent", got)
		}
		if got := reserveBurst(t, dbs, 5, at(0), other); got != 1 {
			t.Fatalf("other was charged by refused reservations: %d granted, want 1", got)
		}
		// One refund call gives a unit back to each key it names.
		if err := dbs[0].Refund(context.Background(), "full", "other"); err != nil {
			t.Fatal(err)
		}
		if got := reserveBurst(t, dbs, 5, at(0), full, other); got != 1 {
			t.Fatalf("after refunding both keys: %d granted, want 1", got)
		}
	})
}

func TestReservePendingByToken(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := store.User{ID: store.NewID(), Email: "p@example.com", PasswordHash: "x", CreatedAt: at(0), PasswordChangedAt: at(0)}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		p := store.Pending{ID: store.NewID(), TokenHash: "h", UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}
		if err := db.CreatePending(ctx, p); err != nil {
			t.Fatal(err)
		}
		var granted atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.ReservePendingByToken(ctx, p.TokenHash, at(time.Minute), 5); err == nil {
					granted.Add(1)
				}
			}()
		}
		wg.Wait()
		if granted.Load() != 5 {
			t.Fatalf("%d of 30 concurrent attempts granted, want 5", granted.Load())
		}
		if err := db.RefundPendingAttempt(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ReservePendingByToken(ctx, p.TokenHash, at(time.Minute), 5); err != nil || got.Failures != 5 || got.ID != p.ID || got.UserID != u.ID {
			t.Fatalf("after a refund: (%+v, %v), want the sign-in with 5 failures", got, err)
		}
		if _, err := db.ReservePendingByToken(ctx, p.TokenHash, at(11*time.Minute), 6); err != store.ErrNotFound {
			t.Fatalf("an expired pending sign-in granted an attempt: %v", err)
		}
	})
}

func TestReserveSentCodeAttempt(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		one := open(t, url)
		if _, err := one.Migrate(ctx()); err != nil {
			t.Fatal(err)
		}
		two := open(t, url)
		dbs := []*store.DB{one, two}
		u := newUser(t, one, "u-try", "try@example.com")
		f := newFactor(t, one, "f-try", u.ID, base)
		code := store.SentCode{ID: "c-try", FactorID: f.ID, CodeHash: "h", SealedCode: "s", CreatedAt: base, ExpiresAt: at(10 * time.Minute)}
		if _, err := one.IssueSentCode(ctx(), code, base, 5); err != nil {
			t.Fatal(err)
		}
		var granted atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func(db *store.DB) {
				defer wg.Done()
				c, err := db.ReserveSentCodeAttempt(ctx(), f.ID, at(time.Minute), 5)
				switch {
				case err == nil && c.ID == code.ID:
					granted.Add(1)
				case err != nil && err != store.ErrNotFound:
					t.Error(err)
				}
			}(dbs[i%2])
		}
		wg.Wait()
		if granted.Load() != 5 {
			t.Fatalf("%d of 30 concurrent guesses at one sent code were compared, want its 5 attempts", granted.Load())
		}
		// The last attempt may carry the right code: it can still be used.
		if ok, err := one.UseSentCode(ctx(), code.ID, at(time.Minute), 5); err != nil || !ok {
			t.Fatalf("UseSentCode on the last attempt = %v, %v; want true", ok, err)
		}
		if _, err := two.ReserveSentCodeAttempt(ctx(), f.ID, at(time.Minute), 6); err != store.ErrNotFound {
			t.Fatalf("a used code granted an attempt: %v", err)
		}
	})
}

// TestReserveAndRefundNeverDeadlock runs reservations and refunds of the
// same two keys at once on two pools: both lock the rows in key order, so
// PostgreSQL never has to break a deadlock (an error here).
func TestReserveAndRefundNeverDeadlock(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		dbs := []*store.DB{open(t, url), open(t, url)}
		if _, err := dbs[0].Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		a := store.Want{Key: "dl:a", Window: time.Hour, Limit: 1 << 30}
		b := store.Want{Key: "dl:b", Window: time.Hour, Free: 1 << 30, Delay: func(int64) time.Duration { return time.Second }}
		var wg sync.WaitGroup
		var failures atomic.Int64
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func(db *store.DB) {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					if _, err := db.Reserve(context.Background(), at(0), []store.Want{b, a}); err != nil {
						failures.Add(1)
						t.Errorf("reserve: %v", err)
						return
					}
					if err := db.Refund(context.Background(), "dl:b", "dl:a"); err != nil {
						failures.Add(1)
						t.Errorf("refund: %v", err)
						return
					}
				}
			}(dbs[g%2])
		}
		wg.Wait()
		if failures.Load() > 0 {
			t.Fatalf("%d goroutines failed", failures.Load())
		}
	})
}
