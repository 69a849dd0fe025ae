package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"twostep/internal/store"
)

// TestUserHolds: disabling and enabling report whether they changed
// anything; a demanded reset holds until a password is set after it.
func TestUserHolds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u1", "ada@example.com")
		h, err := db.UserHold(ctx(), u.ID)
		must(t, err)
		if h.Disabled() || h.ResetRequired() {
			t.Fatalf("a new account has holds: %+v", h)
		}
		for i, want := range []bool{true, false} {
			var changed bool
			must(t, db.InTx(ctx(), func(tx *store.Tx) (err error) {
				changed, err = tx.DisableUser(ctx(), u.ID, "fraud report", at(time.Minute))
				return err
			}))
			if changed != want {
				t.Errorf("disable #%d changed = %v, want %v", i+1, changed, want)
			}
		}
		h, _ = db.UserHold(ctx(), u.ID)
		if !h.Disabled() || h.DisabledReason != "fraud report" || !h.DisabledAt.Equal(at(time.Minute)) {
			t.Errorf("after disable: %+v", h)
		}
		var enabled bool
		must(t, db.InTx(ctx(), func(tx *store.Tx) (err error) { enabled, err = tx.EnableUser(ctx(), u.ID); return err }))
		if h, _ = db.UserHold(ctx(), u.ID); !enabled || h.Disabled() || h.DisabledReason != "" {
			t.Errorf("after enable (%v): %+v", enabled, h)
		}

		must(t, db.InTx(ctx(), func(tx *store.Tx) error { return tx.RequirePasswordReset(ctx(), u.ID, at(time.Hour)) }))
		if h, _ = db.UserHold(ctx(), u.ID); !h.ResetRequired() {
			t.Errorf("after RequirePasswordReset: %+v, want reset required", h)
		}
		must(t, db.SetPassword(ctx(), u.ID, "new-hash", at(2*time.Hour)))
		if h, _ = db.UserHold(ctx(), u.ID); h.ResetRequired() {
			t.Errorf("after a new password: %+v, want no reset required", h)
		}
		if _, err := db.UserHold(ctx(), "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserHold(nobody) = %v, want ErrNotFound", err)
		}
	})
}

// TestListUsers pages by e-mail (keyset and offset), filters by a
// substring with LIKE's wildcards taken literally, and counts methods.
func TestListUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		for i := range 5 {
			newUser(t, db, fmt.Sprintf("id%d", i), fmt.Sprintf("user%d@example.com", i))
		}
		newUser(t, db, "odd", "a_b%c@example.org")
		must(t, db.CreateFactor(ctx(), store.Factor{ID: "f1", UserID: "id1", Kind: "totp", Label: "phone", Role: "primary", Status: "active", CreatedAt: base}))
		newSession(t, db, "s1", "id1", at(time.Minute), at(time.Hour))

		page, err := db.ListUsers(ctx(), store.UserFilter{Limit: 2})
		must(t, err)
		if len(page) != 2 || page[0].Email != "a_b%c@example.org" || page[1].Email != "user0@example.com" {
			t.Fatalf("first page %+v", page)
		}
		next, err := db.ListUsers(ctx(), store.UserFilter{Limit: 2, After: page[1].Email})
		must(t, err)
		if len(next) != 2 || next[0].Email != "user1@example.com" || next[0].Methods != 1 || !next[0].LastSignIn.Equal(base) {
			t.Fatalf("after %s: %+v", page[1].Email, next)
		}
		third, err := db.ListUsers(ctx(), store.UserFilter{Limit: 2, Offset: 4})
		must(t, err)
		if len(third) != 2 || third[0].Email != "user3@example.com" {
			t.Fatalf("offset 4: %+v", third)
		}
		for filter, want := range map[string]int{"USER": 5, "_b%": 1, "%": 1, "_": 1, "example.": 6, "nope": 0} {
			got, err := db.ListUsers(ctx(), store.UserFilter{Contains: filter, Limit: 100})
			must(t, err)
			if len(got) != want {
				t.Errorf("filter %q: %d users, want %d", filter, len(got), want)
			}
		}
		ids, err := db.UserIDsAfter(ctx(), "id2", 10)
		must(t, err)
		if len(ids) != 3 || ids[0].ID != "id3" || ids[2].ID != "odd" {
			t.Errorf("UserIDsAfter(id2) = %+v", ids)
		}
	})
}

// TestAdminJobs: a run is found until finished, with its cursor.
func TestAdminJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		if _, err := db.UnfinishedJob(ctx(), "force_password_reset"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no job yet: %v", err)
		}
		must(t, db.CreateJob(ctx(), store.Job{ID: "j1", Kind: "force_password_reset", Reason: "breach", Operator: "root", StartedAt: base}))
		must(t, db.InTx(ctx(), func(tx *store.Tx) error { return tx.AdvanceJob(ctx(), "j1", "id42", 500) }))
		must(t, db.InTx(ctx(), func(tx *store.Tx) error { return tx.AdvanceJob(ctx(), "j1", "id99", 20) }))
		j, err := db.UnfinishedJob(ctx(), "force_password_reset")
		must(t, err)
		if j.Cursor != "id99" || j.Done != 520 || j.Reason != "breach" || !j.StartedAt.Equal(base) {
			t.Errorf("job %+v", j)
		}
		must(t, db.FinishJob(ctx(), "j1", at(time.Minute)))
		if _, err := db.UnfinishedJob(ctx(), "force_password_reset"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finished job still unfinished: %v", err)
		}
	})
}

// TestPolicySince records the first time only.
func TestPolicySince(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		first, err := db.PolicySince(ctx(), "two_step_required", base)
		must(t, err)
		again, err := db.PolicySince(ctx(), "two_step_required", at(time.Hour))
		must(t, err)
		if !first.Equal(base) || !again.Equal(base) {
			t.Errorf("PolicySince = %v then %v, want %v both times", first, again, base)
		}
	})
}

// TestDeleteUser erases the account and what hangs off it, and keeps its
// events without anything that names the person.
func TestDeleteUser(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		db := open(t, url)
		_, err := db.Migrate(ctx())
		must(t, err)
		u := newUser(t, db, "gone", "gone@example.com")
		keep := newUser(t, db, "kept", "kept@example.com")
		newSession(t, db, "s1", u.ID, at(time.Minute), at(time.Hour))
		must(t, db.AddEvent(ctx(), store.Event{ID: "e1", UserID: u.ID, Kind: "signin", Outcome: "success", IP: "192.0.2.7", UserAgent: "Firefox", Detail: "gone@example.com", CreatedAt: base}))
		must(t, db.AddEvent(ctx(), store.Event{ID: "e2", UserID: keep.ID, Kind: "signin", Outcome: "success", IP: "192.0.2.8", UserAgent: "Safari", CreatedAt: base}))
		must(t, db.QueueMail(ctx(), store.Mail{ID: "m1", UserID: u.ID, Kind: "notification", Channel: "email", To: u.Email, Sealed: "x", CreatedAt: base, DueAt: base}))
		must(t, db.InTx(ctx(), func(tx *store.Tx) error { return tx.DeleteUser(ctx(), u) }))

		if _, err := db.UserByID(ctx(), u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted user still found: %v", err)
		}
		for table, where := range map[string]string{"sessions": "user_id = 'gone'", "mail_queue": "user_id = 'gone'", "events": "user_id = 'gone'"} {
			if n := rawCount(t, engine, url, table, where); n != 0 {
				t.Errorf("%s: %d rows of the deleted user left", table, n)
			}
		}
		if n := rawCount(t, engine, url, "events", "id = 'e1' AND user_id IS NULL AND ip = '' AND user_agent = '' AND detail = '' AND kind = 'signin'"); n != 1 {
			t.Errorf("the deleted user's event is not kept anonymised")
		}
		if n := rawCount(t, engine, url, "events", "id = 'e2' AND user_id = 'kept' AND ip = '192.0.2.8'"); n != 1 {
			t.Errorf("another user's event was touched")
		}
		if err := db.InTx(ctx(), func(tx *store.Tx) error { return tx.DeleteUser(ctx(), u) }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting again: %v, want ErrNotFound", err)
		}
	})
}
