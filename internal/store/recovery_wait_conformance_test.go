package store_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"twostep/internal/store"
)

// TestRecoveryWaitConformance: on both engines, a recovery's links work
// once, an account has one open recovery (an unconfirmed one is
// replaced, a waiting one refuses a new one), only the confirming
// browser finishes it after ready_at, the user's mark follows it, and a
// sign-in's end clears the mark even with nothing open.
func TestRecoveryWaitConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-rw", "rw@example.com")
		create := func(id, hash string, now time.Time) error {
			return db.InTx(ctx(), func(tx *store.Tx) error {
				return tx.CreateRecoveryWait(ctx(), store.RecoveryWait{ID: id, UserID: u.ID, RequestedAt: now, ConfirmBy: now.Add(time.Hour)}, hash)
			})
		}
		must(t, create("r1", "confirm-1", at(0)))
		got, err := db.UserByID(ctx(), u.ID)
		must(t, err)
		if !got.RecoveryOpenAt.Equal(at(0)) {
			t.Fatalf("user's recovery mark = %v, want %v", got.RecoveryOpenAt, at(0))
		}
		// A second request replaces the unconfirmed first.
		must(t, create("r2", "confirm-2", at(time.Minute)))
		r1, err := db.RecoveryWaitByConfirm(ctx(), "confirm-1")
		must(t, err)
		if r1.Open() || r1.Outcome != store.RecoveryReplaced {
			t.Fatalf("replaced recovery = %+v, want ended as replaced", r1)
		}
		confirm := func(hash string, now time.Time) (store.RecoveryWait, error) {
			var r store.RecoveryWait
			err := db.InTx(ctx(), func(tx *store.Tx) error {
				var err error
				r, err = tx.ConfirmRecoveryWait(ctx(), hash, "cancel-"+hash, "browser-a", now, now.Add(4*time.Hour), now.Add(2*time.Hour))
				return err
			})
			return r, err
		}
		if _, err := confirm("confirm-1", at(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("confirm a replaced recovery: %v, want ErrNotFound", err)
		}
		r2, err := confirm("confirm-2", at(2*time.Minute))
		must(t, err)
		if !r2.Waiting() || !r2.ReadyAt.Equal(at(2*time.Minute+4*time.Hour)) || r2.BrowserHash != "browser-a" {
			t.Fatalf("confirmed = %+v", r2)
		}
		if _, err := confirm("confirm-2", at(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second confirm: %v, want ErrNotFound (single use)", err)
		}
		if err := create("r3", "confirm-3", at(4*time.Minute)); !errors.Is(err, store.ErrRecoveryUnderWay) {
			t.Fatalf("request while one waits: %v, want ErrRecoveryUnderWay", err)
		}
		open, err := db.OpenRecoveryWait(ctx(), u.ID)
		must(t, err)
		if open.ID != "r2" {
			t.Fatalf("open recovery = %s, want r2", open.ID)
		}

		// The reminder: due at halfway, claimed once of many.
		due, err := db.DueRecoveryReminders(ctx(), at(time.Hour), 10)
		must(t, err)
		if len(due) != 0 {
			t.Fatalf("reminders due before halfway: %v", due)
		}
		due, err = db.DueRecoveryReminders(ctx(), at(3*time.Hour), 10)
		must(t, err)
		if len(due) != 1 || due[0].ID != "r2" {
			t.Fatalf("reminders due at halfway = %+v, want r2", due)
		}
		var claimed atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := db.InTx(ctx(), func(tx *store.Tx) error {
					ok, err := tx.ClaimRecoveryReminder(ctx(), "r2", "remind-2", at(3*time.Hour))
					if ok {
						claimed.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := claimed.Load(); n != 1 {
			t.Fatalf("reminder claimed %d times, want once", n)
		}

		// Finishing: not before ready_at, not from another browser.
		finish := func(browser string, now time.Time) error {
			return db.InTx(ctx(), func(tx *store.Tx) error {
				_, err := tx.CompleteRecoveryWait(ctx(), u.ID, browser, now)
				return err
			})
		}
		if err := finish("browser-a", at(3*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish before ready_at: %v, want ErrNotFound", err)
		}
		if err := finish("browser-b", at(5*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish from another browser: %v, want ErrNotFound", err)
		}
		// The reminder's own cancel link works, once.
		cancel := func(hash string) error {
			return db.InTx(ctx(), func(tx *store.Tx) error {
				_, err := tx.CancelRecoveryWait(ctx(), hash, at(5*time.Hour))
				return err
			})
		}
		must(t, cancel("remind-2"))
		if err := cancel("cancel-confirm-2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cancel an ended recovery: %v, want ErrNotFound", err)
		}
		if err := finish("browser-a", at(5*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish a cancelled recovery: %v, want ErrNotFound", err)
		}
		got, err = db.UserByID(ctx(), u.ID)
		must(t, err)
		if !got.RecoveryOpenAt.IsZero() {
			t.Fatalf("mark after cancel = %v, want none", got.RecoveryOpenAt)
		}

		// A new one, finished by its browser after the wait.
		must(t, create("r4", "confirm-4", at(6*time.Hour)))
		_, err = confirm("confirm-4", at(6*time.Hour))
		must(t, err)
		must(t, finish("browser-a", at(10*time.Hour)))
		r4, err := db.RecoveryWaitByConfirm(ctx(), "confirm-4")
		must(t, err)
		if r4.Open() || r4.Outcome != store.RecoveryCompleted {
			t.Fatalf("finished recovery = %+v", r4)
		}

		// A sign-in's end clears a mark left by an expired request.
		must(t, create("r5", "confirm-5", at(11*time.Hour)))
		must(t, db.InTx(ctx(), func(tx *store.Tx) error {
			_, err := tx.EndRecoveryWait(ctx(), u.ID, store.RecoverySignedIn, at(12*time.Hour))
			return err
		}))
		err = db.InTx(ctx(), func(tx *store.Tx) error {
			_, err := tx.EndRecoveryWait(ctx(), u.ID, store.RecoverySignedIn, at(12*time.Hour))
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("end with none open: %v, want ErrNotFound", err)
		}
		got, err = db.UserByID(ctx(), u.ID)
		must(t, err)
		if !got.RecoveryOpenAt.IsZero() {
			t.Fatalf("mark after a sign-in = %v, want none", got.RecoveryOpenAt)
		}
	})
}
