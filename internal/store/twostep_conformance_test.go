package store_test

// The two-step part of the store conformance suite: factors, recovery
// codes, server secrets, pending sign-ins, remembered devices and step-up
// times, with the same assertions on every engine in testenv.Engines.

import (
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/store"
	"twostep/internal/testenv"
)

// ---- comparisons: whole rows (rowDiff) ----

func factorEqual(a, b store.Factor) bool { return rowDiff(a, b) == "" }

func checkFactor(t *testing.T, what string, got store.Factor, err error, want store.Factor) {
	t.Helper()
	checkRow(t, what, got, err, want)
}

func factorIDs(fs []store.Factor) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	return ids
}

func pendingEqual(a, b store.Pending) bool { return rowDiff(a, b) == "" }

func deviceEqual(a, b store.Device) bool { return rowDiff(a, b) == "" }

func deviceIDs(ds []store.Device) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// ---- fixtures ----

// newFactor stores an active authenticator app created at created.
func newFactor(t *testing.T, db *store.DB, id, userID string, created time.Time) store.Factor {
	t.Helper()
	f := store.Factor{
		ID: id, UserID: userID, Kind: "totp", Label: "phone " + id, Role: "primary", Status: "active",
		Secret: "sealed-" + id, LastStep: 100, CreatedAt: created, ConfirmedAt: created,
		// Distinct values in every column, so a column read into the wrong
		// field shows in every comparison.
		RecipientHash: "hash-" + id, Masked: "•••" + id,
	}
	must(t, db.CreateFactor(ctx(), f))
	return f
}

// newPendingFactor stores a pending authenticator app that expires at expires.
func newPendingFactor(t *testing.T, db *store.DB, id, userID string, created, expires time.Time) store.Factor {
	t.Helper()
	f := store.Factor{
		ID: id, UserID: userID, Kind: "totp", Label: "new phone " + id, Role: "backup", Status: "pending",
		Secret: "sealed-" + id, CreatedAt: created, ExpiresAt: expires, RecipientHash: "hash-" + id, Masked: "•••" + id,
	}
	must(t, db.CreateFactor(ctx(), f))
	return f
}

func recoveryFactor(id, userID string, created time.Time) store.Factor {
	return store.Factor{ID: id, UserID: userID, Kind: "recovery_code", Label: "Recovery codes", Role: "backup",
		Status: "active", CreatedAt: created, ConfirmedAt: created}
}

func newPending(t *testing.T, db *store.DB, id, userID string, expires time.Time) store.Pending {
	t.Helper()
	p := store.Pending{ID: id, TokenHash: "ph-" + id, UserID: userID, CreatedAt: base, ExpiresAt: expires,
		IP: "192.0.2.9", UserAgent: "agent/" + id}
	must(t, db.CreatePending(ctx(), p))
	return p
}

func newDevice(t *testing.T, db *store.DB, id, userID string, lastUsed, expires time.Time) store.Device {
	t.Helper()
	d := store.Device{ID: id, UserID: userID, TokenHash: "dh-" + id, Label: "Firefox on " + id, UserAgent: "ua/" + id,
		CreatedAt: base, LastUsedAt: lastUsed, LastIP: "192.0.2.3", ExpiresAt: expires, MaxExpiresAt: expires.Add(24 * time.Hour)}
	must(t, db.CreateDevice(ctx(), d))
	return d
}

// rawExec runs one statement with plain SQL on the test database, for
// set-ups the store's API cannot make (failure-injecting triggers).
func rawExec(t *testing.T, engine, url, stmt string) {
	t.Helper()
	driver, dsn := "pgx", url
	if engine == "sqlite" {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(stmt); err != nil {
		t.Fatalf("raw exec %q: %v", stmt, err)
	}
}

// failDeletes makes every DELETE on table fail, on engine's terms.
func failDeletes(t *testing.T, engine, url, table string) {
	t.Helper()
	if engine == "sqlite" {
		rawExec(t, engine, url, `CREATE TRIGGER `+table+`_boom BEFORE DELETE ON `+table+` BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
		return
	}
	rawExec(t, engine, url, `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`)
	rawExec(t, engine, url, `CREATE TRIGGER `+table+`_boom BEFORE DELETE ON `+table+` FOR EACH ROW EXECUTE FUNCTION boom()`)
}

// concurrently runs fn n times at once and counts the true results; any
// error fails the test.
func concurrently(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	oks := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			oks[i], errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	count := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: %v", i, errs[i])
		}
		if oks[i] {
			count++
		}
	}
	return count
}

// ---- factors ----

func TestFactors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")

		t.Run("round trip", func(t *testing.T) {
			u := newUser(t, db, "u-rt", "rt@example.com")
			f := store.Factor{
				ID: "f-rt", UserID: u.ID, Kind: "totp", Label: "Pixel", Role: "backup", Status: "active",
				Secret: "v1:sealed", LastStep: 59_000_123, DriftSteps: -2,
				CreatedAt: base, ConfirmedAt: at(time.Minute), LastUsedAt: at(2 * time.Minute),
			}
			must(t, db.CreateFactor(ctx(), f))
			got, err := db.FactorByID(ctx(), u.ID, f.ID, at(time.Hour))
			checkFactor(t, "FactorByID", got, err, f)
			all, err := db.Factors(ctx(), u.ID, at(time.Hour))
			must(t, err)
			if len(all) != 1 || !factorEqual(all[0], f) {
				t.Errorf("Factors:\ngot  %+v\nwant [%+v]", all, f)
			}
		})

		t.Run("list active and live pending, ordered", func(t *testing.T) {
			now := at(30 * time.Minute)
			c := newFactor(t, db, "f-c", alice.ID, at(2*time.Minute))
			b := newPendingFactor(t, db, "f-b", alice.ID, at(time.Minute), at(time.Hour))
			a2 := newFactor(t, db, "f-a2", alice.ID, at(time.Minute)) // ties with f-b: by id
			x := newPendingFactor(t, db, "f-x", alice.ID, base, now)  // expires at now
			old := newPendingFactor(t, db, "f-old", alice.ID, base, at(time.Minute))
			newFactor(t, db, "f-bob", bob.ID, base)

			got, err := db.Factors(ctx(), alice.ID, now)
			must(t, err)
			want := []store.Factor{a2, b, c}
			if !reflect.DeepEqual(factorIDs(got), factorIDs(want)) {
				t.Fatalf("Factors ids: got %v, want %v", factorIDs(got), factorIDs(want))
			}
			for i := range want {
				if !factorEqual(got[i], want[i]) {
					t.Errorf("Factors[%d]:\ngot  %+v\nwant %+v", i, got[i], want[i])
				}
			}

			got, err = db.Factors(ctx(), alice.ID, now.Add(-time.Microsecond))
			must(t, err)
			if ids, want := factorIDs(got), factorIDs([]store.Factor{x, a2, b, c}); !reflect.DeepEqual(ids, want) {
				t.Errorf("Factors just before f-x expires: got %v, want %v", ids, want)
			}
			got, err = db.Factors(ctx(), alice.ID, base)
			must(t, err)
			if ids, want := factorIDs(got), factorIDs([]store.Factor{old, x, a2, b, c}); !reflect.DeepEqual(ids, want) {
				t.Errorf("Factors at base: got %v, want %v", ids, want)
			}

			none, err := db.Factors(ctx(), "u-nobody", now)
			if err != nil || len(none) != 0 {
				t.Errorf("Factors of an unknown user: got (%v, %v), want (empty, nil)", factorIDs(none), err)
			}
		})

		t.Run("FactorByID", func(t *testing.T) {
			now := at(30 * time.Minute)
			f := newFactor(t, db, "f-byid", alice.ID, base)
			p := newPendingFactor(t, db, "f-byid-p", alice.ID, base, at(time.Hour))
			exp := newPendingFactor(t, db, "f-byid-exp", alice.ID, base, now)
			bobs := newFactor(t, db, "f-byid-bob", bob.ID, base)

			got, err := db.FactorByID(ctx(), alice.ID, f.ID, now)
			checkFactor(t, "FactorByID active", got, err, f)
			got, err = db.FactorByID(ctx(), alice.ID, p.ID, now)
			checkFactor(t, "FactorByID live pending", got, err, p)
			_, err = db.FactorByID(ctx(), alice.ID, bobs.ID, now)
			wantNotFound(t, "FactorByID of another user's factor", err)
			_, err = db.FactorByID(ctx(), alice.ID, exp.ID, now)
			wantNotFound(t, "FactorByID of a pending factor at its expiry", err)
			_, err = db.FactorByID(ctx(), alice.ID, exp.ID, now.Add(time.Hour))
			wantNotFound(t, "FactorByID of an expired pending factor", err)
			got, err = db.FactorByID(ctx(), alice.ID, exp.ID, now.Add(-time.Microsecond))
			checkFactor(t, "FactorByID just before expiry", got, err, exp)
			_, err = db.FactorByID(ctx(), alice.ID, "f-nope", now)
			wantNotFound(t, "FactorByID unknown", err)
			// An active factor does not expire.
			got, err = db.FactorByID(ctx(), alice.ID, f.ID, at(1000*time.Hour))
			checkFactor(t, "FactorByID active, much later", got, err, f)
		})

		t.Run("ActivateFactor", func(t *testing.T) {
			p := newPendingFactor(t, db, "f-act", alice.ID, base, at(time.Hour))
			now := at(10 * time.Minute)
			must(t, db.ActivateFactor(ctx(), alice.ID, p.ID, 500, -1, now))
			want := p
			want.Status, want.ConfirmedAt, want.LastStep, want.DriftSteps, want.ExpiresAt = "active", now, 500, -1, time.Time{}
			got, err := db.FactorByID(ctx(), alice.ID, p.ID, at(2*time.Hour)) // past the pending expiry
			checkFactor(t, "after ActivateFactor", got, err, want)

			wantNotFound(t, "ActivateFactor of an active factor", db.ActivateFactor(ctx(), alice.ID, p.ID, 600, 0, at(11*time.Minute)))
			got, err = db.FactorByID(ctx(), alice.ID, p.ID, now)
			checkFactor(t, "after second ActivateFactor", got, err, want)

			// The confirming code's step is used up.
			ok, err := db.AcceptStep(ctx(), p.ID, 500, 0, at(11*time.Minute))
			if err != nil || ok {
				t.Errorf("AcceptStep of the confirming step: got (%v, %v), want (false, nil)", ok, err)
			}

			exp := newPendingFactor(t, db, "f-act-exp", alice.ID, base, at(time.Hour))
			wantNotFound(t, "ActivateFactor at expiry", db.ActivateFactor(ctx(), alice.ID, exp.ID, 1, 0, at(time.Hour)))
			wantNotFound(t, "ActivateFactor after expiry", db.ActivateFactor(ctx(), alice.ID, exp.ID, 1, 0, at(2*time.Hour)))

			bobs := newPendingFactor(t, db, "f-act-bob", bob.ID, base, at(time.Hour))
			wantNotFound(t, "ActivateFactor of another user's factor", db.ActivateFactor(ctx(), alice.ID, bobs.ID, 1, 0, now))
			got, err = db.FactorByID(ctx(), bob.ID, bobs.ID, now)
			checkFactor(t, "bob's factor after alice tried to activate it", got, err, bobs)

			wantNotFound(t, "ActivateFactor unknown", db.ActivateFactor(ctx(), alice.ID, "f-nope", 1, 0, now))
		})

		t.Run("UpdateFactor", func(t *testing.T) {
			f := newFactor(t, db, "f-upd", alice.ID, base)
			bobs := newFactor(t, db, "f-upd-bob", bob.ID, base)
			must(t, db.UpdateFactor(ctx(), alice.ID, f.ID, "work phone", "backup"))
			want := f
			want.Label, want.Role = "work phone", "backup"
			got, err := db.FactorByID(ctx(), alice.ID, f.ID, base)
			checkFactor(t, "after UpdateFactor", got, err, want)

			wantNotFound(t, "UpdateFactor of another user's factor", db.UpdateFactor(ctx(), alice.ID, bobs.ID, "mine", "primary"))
			got, err = db.FactorByID(ctx(), bob.ID, bobs.ID, base)
			checkFactor(t, "bob's factor after alice tried to update it", got, err, bobs)
			wantNotFound(t, "UpdateFactor unknown", db.UpdateFactor(ctx(), alice.ID, "f-nope", "x", "primary"))
		})

		t.Run("DeleteFactor", func(t *testing.T) {
			f := newFactor(t, db, "f-del", alice.ID, base)
			bobs := newFactor(t, db, "f-del-bob", bob.ID, base)
			wantNotFound(t, "DeleteFactor of another user's factor", db.DeleteFactor(ctx(), alice.ID, bobs.ID))
			got, err := db.FactorByID(ctx(), bob.ID, bobs.ID, base)
			checkFactor(t, "bob's factor after alice tried to delete it", got, err, bobs)

			must(t, db.DeleteFactor(ctx(), alice.ID, f.ID))
			_, err = db.FactorByID(ctx(), alice.ID, f.ID, base)
			wantNotFound(t, "FactorByID after DeleteFactor", err)
			wantNotFound(t, "DeleteFactor twice", db.DeleteFactor(ctx(), alice.ID, f.ID))

			// Deleting a set of recovery codes deletes the codes.
			u := newUser(t, db, "u-delrc", "delrc@example.com")
			rf := recoveryFactor("f-del-rc", u.ID, base)
			must(t, db.ReplaceRecoveryCodes(ctx(), rf, []string{"h1", "h2"}))
			must(t, db.DeleteFactor(ctx(), u.ID, rf.ID))
			if n, err := db.RecoveryCodesLeft(ctx(), rf.ID); err != nil || n != 0 {
				t.Errorf("RecoveryCodesLeft after DeleteFactor: got (%d, %v), want (0, nil)", n, err)
			}
		})

		t.Run("unknown user refused", func(t *testing.T) {
			if err := db.CreateFactor(ctx(), store.Factor{ID: "f-ghost", UserID: "u-nobody", Kind: "totp", Label: "x", Role: "primary", Status: "active", CreatedAt: base}); err == nil {
				t.Errorf("CreateFactor for an unknown user: got nil error, want a foreign-key error")
			}
		})
	})
}

// ---- the replay guard ----

func TestAcceptStep(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-step", "step@example.com")
		f := newFactor(t, db, "f-step", u.ID, base) // last step 100

		read := func() store.Factor {
			t.Helper()
			got, err := db.FactorByID(ctx(), u.ID, f.ID, base)
			must(t, err)
			return got
		}
		want := f
		for _, tt := range []struct {
			step, drift int64
			ok          bool
		}{
			{100, 0, false}, // the step already accepted
			{99, 0, false},  // an earlier one
			{101, 1, true},  // a later one
			{101, 1, false}, // the same code twice
			{100, 0, false},
			{105, -1, true},
			{103, 0, false},
		} {
			now := at(time.Duration(tt.step) * time.Second)
			ok, err := db.AcceptStep(ctx(), f.ID, tt.step, tt.drift, now)
			if err != nil || ok != tt.ok {
				t.Errorf("AcceptStep(step %d) after step %d: got (%v, %v), want (%v, nil)", tt.step, want.LastStep, ok, err, tt.ok)
			}
			if tt.ok {
				want.LastStep, want.DriftSteps, want.LastUsedAt = tt.step, tt.drift, now
			}
			if got := read(); !factorEqual(got, want) {
				t.Errorf("factor after AcceptStep(step %d):\ngot  %+v\nwant %+v", tt.step, got, want)
			}
		}

		p := newPendingFactor(t, db, "f-step-p", u.ID, base, at(time.Hour))
		if ok, err := db.AcceptStep(ctx(), p.ID, 1000, 0, base); err != nil || ok {
			t.Errorf("AcceptStep of a pending factor: got (%v, %v), want (false, nil)", ok, err)
		}
		if ok, err := db.AcceptStep(ctx(), "f-nope", 1000, 0, base); err != nil || ok {
			t.Errorf("AcceptStep of an unknown factor: got (%v, %v), want (false, nil)", ok, err)
		}
	})
}

func TestAcceptStepConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-race", "race@example.com")
		f := newFactor(t, db, "f-race", u.ID, base)
		ok := concurrently(t, 20, func(int) (bool, error) {
			return db.AcceptStep(ctx(), f.ID, 200, 0, at(time.Minute))
		})
		if ok != 1 {
			t.Errorf("concurrent AcceptStep of one step: %d accepted, want 1", ok)
		}
		got, err := db.FactorByID(ctx(), u.ID, f.ID, base)
		must(t, err)
		if got.LastStep != 200 {
			t.Errorf("last step after concurrent AcceptStep: got %d, want 200", got.LastStep)
		}
	})
}

// ---- turning two-step on and off, the default method ----

func TestSetTwoStep(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		now := at(time.Minute)
		af := newFactor(t, db, "f-alice", alice.ID, base)
		newPendingFactor(t, db, "f-alice-p", alice.ID, base, at(time.Hour))
		must(t, db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-alice-rc", alice.ID, base), []string{"a1", "a2"}))
		newDevice(t, db, "d-alice", alice.ID, base, at(time.Hour))
		bf := newFactor(t, db, "f-bob", bob.ID, base)
		must(t, db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-bob-rc", bob.ID, base), []string{"b1", "b2"}))
		bd := newDevice(t, db, "d-bob", bob.ID, base, at(time.Hour))

		must(t, db.SetTwoStep(ctx(), alice.ID, true, af.ID))
		must(t, db.SetTwoStep(ctx(), bob.ID, true, bf.ID))
		want := alice
		want.TwoStepEnabled, want.DefaultFactorID = true, af.ID
		got, err := db.UserByID(ctx(), alice.ID)
		checkUser(t, "after SetTwoStep(true)", got, err, want)
		if got.DefaultFactorID != af.ID {
			t.Errorf("DefaultFactorID after SetTwoStep(true): got %q, want %q", got.DefaultFactorID, af.ID)
		}
		if fs, err := db.Factors(ctx(), alice.ID, now); err != nil || len(fs) != 3 {
			t.Errorf("alice's factors after SetTwoStep(true): got (%v, %v), want 3", factorIDs(fs), err)
		}

		must(t, db.SetTwoStep(ctx(), alice.ID, false, ""))
		got, err = db.UserByID(ctx(), alice.ID)
		checkUser(t, "after SetTwoStep(false)", got, err, alice)
		if got.DefaultFactorID != "" {
			t.Errorf("DefaultFactorID after SetTwoStep(false): got %q, want empty", got.DefaultFactorID)
		}
		if fs, err := db.Factors(ctx(), alice.ID, now); err != nil || len(fs) != 0 {
			t.Errorf("alice's factors after SetTwoStep(false): got (%v, %v), want none", factorIDs(fs), err)
		}
		if ds, err := db.Devices(ctx(), alice.ID, now); err != nil || len(ds) != 0 {
			t.Errorf("alice's devices after SetTwoStep(false): got (%v, %v), want none", deviceIDs(ds), err)
		}
		if n, err := db.RecoveryCodesLeft(ctx(), "f-alice-rc"); err != nil || n != 0 {
			t.Errorf("alice's recovery codes after SetTwoStep(false): got (%d, %v), want (0, nil)", n, err)
		}

		// Bob is untouched.
		bu, err := db.UserByID(ctx(), bob.ID)
		if err != nil || !bu.TwoStepEnabled || bu.DefaultFactorID != bf.ID {
			t.Errorf("bob after alice turned two-step off: got (%+v, %v), want enabled with default %s", bu, err, bf.ID)
		}
		if fs, err := db.Factors(ctx(), bob.ID, now); err != nil || !reflect.DeepEqual(factorIDs(fs), []string{"f-bob", "f-bob-rc"}) {
			t.Errorf("bob's factors after alice turned two-step off: got (%v, %v), want [f-bob f-bob-rc]", factorIDs(fs), err)
		}
		if d, err := db.DeviceByTokenHash(ctx(), bob.ID, bd.TokenHash, now); err != nil || !deviceEqual(d, bd) {
			t.Errorf("bob's device after alice turned two-step off:\ngot  %+v, %v\nwant %+v", d, err, bd)
		}
		if n, err := db.RecoveryCodesLeft(ctx(), "f-bob-rc"); err != nil || n != 2 {
			t.Errorf("bob's recovery codes after alice turned two-step off: got (%d, %v), want (2, nil)", n, err)
		}
	})
}

// TestSetTwoStepAtomic makes the last step of turning two-step off (deleting
// devices) fail: nothing before it may stay done.
func TestSetTwoStepAtomic(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, url := openMigrated(t, engine)
			u := newUser(t, db, "u-atomic", "atomic@example.com")
			f := newFactor(t, db, "f-atomic", u.ID, base)
			d := newDevice(t, db, "d-atomic", u.ID, base, at(time.Hour))
			must(t, db.SetTwoStep(ctx(), u.ID, true, f.ID))
			failDeletes(t, engine, url, "devices")

			if err := db.SetTwoStep(ctx(), u.ID, false, ""); err == nil {
				t.Fatalf("SetTwoStep(false) with failing device deletion: got nil error, want one")
			}
			got, err := db.UserByID(ctx(), u.ID)
			if err != nil || !got.TwoStepEnabled || got.DefaultFactorID != f.ID {
				t.Errorf("user after failed SetTwoStep(false): got (%+v, %v), want still enabled with default %s", got, err, f.ID)
			}
			gf, err := db.FactorByID(ctx(), u.ID, f.ID, base)
			checkFactor(t, "factor after failed SetTwoStep(false)", gf, err, f)
			if gd, err := db.DeviceByTokenHash(ctx(), u.ID, d.TokenHash, base); err != nil || !deviceEqual(gd, d) {
				t.Errorf("device after failed SetTwoStep(false):\ngot  %+v, %v\nwant %+v", gd, err, d)
			}
		})
	}
}

func TestDefaultFactor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		for _, u := range []store.User{alice, bob} {
			got, err := db.UserByID(ctx(), u.ID)
			if err != nil || got.DefaultFactorID != "" {
				t.Errorf("DefaultFactorID of a new user: got (%q, %v), want (\"\", nil)", got.DefaultFactorID, err)
			}
		}
		must(t, db.SetTwoStep(ctx(), alice.ID, true, "f-one"))
		must(t, db.SetTwoStep(ctx(), bob.ID, true, "f-bob"))
		must(t, db.SetDefaultFactor(ctx(), alice.ID, "f-two"))

		got, err := db.UserByID(ctx(), alice.ID)
		if err != nil || got.DefaultFactorID != "f-two" || !got.TwoStepEnabled {
			t.Errorf("UserByID after SetDefaultFactor: got (%+v, %v), want enabled with default f-two", got, err)
		}
		got, err = db.UserByEmail(ctx(), alice.Email)
		if err != nil || got.DefaultFactorID != "f-two" {
			t.Errorf("UserByEmail after SetDefaultFactor: got (%q, %v), want f-two", got.DefaultFactorID, err)
		}
		got, err = db.UserByID(ctx(), bob.ID)
		if err != nil || got.DefaultFactorID != "f-bob" {
			t.Errorf("other user after SetDefaultFactor: got (%q, %v), want f-bob", got.DefaultFactorID, err)
		}
	})
}

// ---- recovery codes ----

func TestRecoveryCodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		first := recoveryFactor("f-rc1", alice.ID, base)
		must(t, db.ReplaceRecoveryCodes(ctx(), first, []string{"h-a", "h-b", "h-c"}))
		bobs := recoveryFactor("f-rc-bob", bob.ID, base)
		must(t, db.ReplaceRecoveryCodes(ctx(), bobs, []string{"h-a", "h-x"}))

		left := func(what, factorID string, want int) {
			t.Helper()
			if n, err := db.RecoveryCodesLeft(ctx(), factorID); err != nil || n != want {
				t.Errorf("%s: RecoveryCodesLeft(%s) got (%d, %v), want (%d, nil)", what, factorID, n, err, want)
			}
		}
		consume := func(what, factorID, hash string, now time.Time, want bool) {
			t.Helper()
			if ok, err := db.ConsumeRecoveryCode(ctx(), factorID, hash, now); err != nil || ok != want {
				t.Errorf("%s: ConsumeRecoveryCode(%s, %s) got (%v, %v), want (%v, nil)", what, factorID, hash, ok, err, want)
			}
		}

		got, err := db.FactorByID(ctx(), alice.ID, first.ID, base)
		checkFactor(t, "recovery factor", got, err, first)
		left("new set", first.ID, 3)

		consume("first use", first.ID, "h-a", at(time.Minute), true)
		consume("second use", first.ID, "h-a", at(2*time.Minute), false)
		consume("unknown code", first.ID, "h-zzz", at(2*time.Minute), false)
		consume("code of another set", first.ID, "h-x", at(2*time.Minute), false)
		consume("unknown set", "f-nope", "h-b", at(2*time.Minute), false)
		left("after one use", first.ID, 2)
		want := first
		want.LastUsedAt = at(time.Minute)
		got, err = db.FactorByID(ctx(), alice.ID, first.ID, base)
		checkFactor(t, "recovery factor after a use", got, err, want)
		// Bob's set has its own h-a.
		left("bob's set after alice used h-a", bobs.ID, 2)

		second := recoveryFactor("f-rc2", alice.ID, at(time.Hour))
		must(t, db.ReplaceRecoveryCodes(ctx(), second, []string{"h-d", "h-e"}))
		_, err = db.FactorByID(ctx(), alice.ID, first.ID, at(time.Hour))
		wantNotFound(t, "FactorByID of the replaced set", err)
		consume("old code after replacement", first.ID, "h-b", at(2*time.Hour), false)
		consume("old code against the new set", second.ID, "h-b", at(2*time.Hour), false)
		left("replaced set", first.ID, 0)
		left("new set", second.ID, 2)
		fs, err := db.Factors(ctx(), alice.ID, at(time.Hour))
		if err != nil || !reflect.DeepEqual(factorIDs(fs), []string{second.ID}) {
			t.Errorf("Factors after replacement: got (%v, %v), want [%s]", factorIDs(fs), err, second.ID)
		}
		consume("new code", second.ID, "h-d", at(2*time.Hour), true)
		left("new set after a use", second.ID, 1)
		left("bob's set after alice's replacement", bobs.ID, 2)
		consume("bob's code", bobs.ID, "h-x", at(2*time.Hour), true)

		// A replacement that fails keeps the earlier set.
		if err := db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-rc3", alice.ID, at(3*time.Hour)), []string{"h-f", "h-f"}); err == nil {
			t.Errorf("ReplaceRecoveryCodes with a repeated code: got nil error, want one")
		}
		_, err = db.FactorByID(ctx(), alice.ID, "f-rc3", at(3*time.Hour))
		wantNotFound(t, "FactorByID of the failed set", err)
		left("set kept by the failed replacement", second.ID, 1)
		consume("code of the set kept by the failed replacement", second.ID, "h-e", at(3*time.Hour), true)

		// Replacing keeps the user's other factors.
		u := newUser(t, db, "u-keep", "keep@example.com")
		app := newFactor(t, db, "f-keep-app", u.ID, base)
		must(t, db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-keep-rc1", u.ID, base), []string{"k1"}))
		must(t, db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-keep-rc2", u.ID, at(time.Minute)), []string{"k2"}))
		fs, err = db.Factors(ctx(), u.ID, base)
		if err != nil || !reflect.DeepEqual(factorIDs(fs), []string{app.ID, "f-keep-rc2"}) {
			t.Errorf("Factors after two replacements: got (%v, %v), want [%s f-keep-rc2]", factorIDs(fs), err, app.ID)
		}
	})
}

func TestConsumeRecoveryCodeConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-race", "race@example.com")
		f := recoveryFactor("f-race", u.ID, base)
		must(t, db.ReplaceRecoveryCodes(ctx(), f, []string{"h-race", "h-other"}))
		ok := concurrently(t, 20, func(int) (bool, error) {
			return db.ConsumeRecoveryCode(ctx(), f.ID, "h-race", at(time.Minute))
		})
		if ok != 1 {
			t.Errorf("concurrent ConsumeRecoveryCode of one code: %d succeeded, want 1", ok)
		}
		if n, err := db.RecoveryCodesLeft(ctx(), f.ID); err != nil || n != 1 {
			t.Errorf("RecoveryCodesLeft after the race: got (%d, %v), want (1, nil)", n, err)
		}
	})
}

// ---- sealed secrets ----

func TestServerSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		got, err := db.ServerSecret(ctx(), "pepper", func() string { return "sealed-1" })
		if err != nil || got != "sealed-1" {
			t.Errorf("first ServerSecret: got (%q, %v), want (sealed-1, nil)", got, err)
		}
		got, err = db.ServerSecret(ctx(), "pepper", func() string { return "sealed-2" })
		if err != nil || got != "sealed-1" {
			t.Errorf("second ServerSecret: got (%q, %v), want the first writer's (sealed-1, nil)", got, err)
		}
		got, err = db.ServerSecret(ctx(), "other", func() string { return "other-1" })
		if err != nil || got != "other-1" {
			t.Errorf("ServerSecret of another name: got (%q, %v), want (other-1, nil)", got, err)
		}

	})
}

// TestServerSecretConcurrent has ten instances (separate store.DBs) start
// at once on one database: all must read the same secret.
func TestServerSecretConcurrent(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		first := open(t, url)
		if _, err := first.Migrate(ctx()); err != nil {
			t.Fatal(err)
		}
		const n = 10
		dbs := make([]*store.DB, n)
		for i := range dbs {
			dbs[i] = open(t, url)
		}
		values := make([]string, n)
		concurrently(t, n, func(i int) (bool, error) {
			var err error
			values[i], err = dbs[i].ServerSecret(ctx(), "pepper", func() string { return fmt.Sprintf("sealed-by-%d", i) })
			return true, err
		})
		for i, v := range values {
			if v != values[0] || !strings.HasPrefix(v, "sealed-by-") {
				t.Errorf("instance %d read %q; instance 0 read %q: want one value made by one instance", i, v, values[0])
			}
		}
		got, err := first.ServerSecret(ctx(), "pepper", func() string { return "late" })
		if err != nil || got != values[0] {
			t.Errorf("ServerSecret afterwards: got (%q, %v), want (%q, nil)", got, err, values[0])
		}
	})
}

// TestSealedSecrets lists every sealed value with where it lives — factor
// secrets of every kind, sent codes, server secrets, queued mail — and
// replaces each only while it is unchanged.
func TestSealedSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		a := newFactor(t, db, "f-a", alice.ID, base)
		p := newPendingFactor(t, db, "f-p", alice.ID, base, at(time.Hour))
		b := newFactor(t, db, "f-b", bob.ID, base)
		phone := store.Factor{ID: "f-sms", UserID: alice.ID, Kind: "sms", Label: "Phone", Role: "backup", Status: "active",
			Secret: "sealed-f-sms", CreatedAt: base, ConfirmedAt: base, RecipientHash: "ph-1", Masked: "•••678"}
		must(t, db.CreateFactor(ctx(), phone))
		mail := store.Factor{ID: "f-mail", UserID: bob.ID, Kind: "email", Label: "E-mail", Role: "backup", Status: "pending",
			Secret: "sealed-f-mail", CreatedAt: base, ExpiresAt: at(time.Hour), RecipientHash: "eh-1", Masked: "b•••b@example.com"}
		must(t, db.CreateFactor(ctx(), mail))
		must(t, db.ReplaceRecoveryCodes(ctx(), recoveryFactor("f-rc", alice.ID, base), []string{"h1"})) // no secret
		code := store.SentCode{ID: "c-1", FactorID: phone.ID, CodeHash: "ch-1", SealedCode: "sealed-c-1",
			CreatedAt: base, ExpiresAt: at(10 * time.Minute)}
		_, err := db.IssueSentCode(ctx(), code, base, 5)
		must(t, err)
		pepper, err := db.ServerSecret(ctx(), "pepper", func() string { return "sealed-pepper" })
		must(t, err)
		mailRow := store.Mail{ID: "m-1", UserID: alice.ID, Kind: "verification", Channel: "email", To: alice.Email,
			Sealed: "sealed-m-1", CreatedAt: base, DueAt: base}
		must(t, db.QueueMail(ctx(), mailRow))

		want := []store.SealedSecret{
			{Table: store.SealedFactor, ID: a.ID, Kind: "totp", Sealed: a.Secret},
			{Table: store.SealedFactor, ID: b.ID, Kind: "totp", Sealed: b.Secret},
			{Table: store.SealedFactor, ID: mail.ID, Kind: "email", Sealed: mail.Secret},
			{Table: store.SealedFactor, ID: p.ID, Kind: "totp", Sealed: p.Secret},
			{Table: store.SealedFactor, ID: phone.ID, Kind: "sms", Sealed: phone.Secret},
			{Table: store.SealedServer, ID: "pepper", Sealed: pepper},
			{Table: store.SealedSentCode, ID: code.ID, Sealed: code.SealedCode},
			{Table: store.SealedMail, ID: mailRow.ID, Sealed: mailRow.Sealed},
		}
		sortSealed := func(ss []store.SealedSecret) {
			sort.Slice(ss, func(i, j int) bool { return ss[i].Table+"\x00"+ss[i].ID < ss[j].Table+"\x00"+ss[j].ID })
		}
		all, err := db.AllSealedSecrets(ctx())
		sortSealed(all)
		sortSealed(want)
		checkRows(t, "AllSealedSecrets", all, err, want)

		for _, r := range []struct {
			what   string
			s      store.SealedSecret
			sealed string
			want   bool
		}{
			{"a factor", want[0], "v2:" + a.ID, true},
			{"a phone factor", store.SealedSecret{Table: store.SealedFactor, ID: phone.ID, Sealed: phone.Secret}, "v2:" + phone.ID, true},
			{"a sent code", store.SealedSecret{Table: store.SealedSentCode, ID: code.ID, Sealed: code.SealedCode}, "v2:" + code.ID, true},
			{"a server secret", store.SealedSecret{Table: store.SealedServer, ID: "pepper", Sealed: pepper}, "v2:pepper", true},
			{"queued mail", store.SealedSecret{Table: store.SealedMail, ID: mailRow.ID, Sealed: mailRow.Sealed}, "v2:" + mailRow.ID, true},
			{"stale queued mail", store.SealedSecret{Table: store.SealedMail, ID: mailRow.ID, Sealed: mailRow.Sealed}, "v3:wrong", false},
			// Changed meanwhile (another instance rotated it): left alone.
			{"a stale factor", store.SealedSecret{Table: store.SealedFactor, ID: b.ID, Sealed: "stale"}, "v2:wrong", false},
			{"a stale sent code", store.SealedSecret{Table: store.SealedSentCode, ID: code.ID, Sealed: code.SealedCode}, "v3:wrong", false},
			{"a stale server secret", store.SealedSecret{Table: store.SealedServer, ID: "pepper", Sealed: pepper}, "v3:wrong", false},
			// The old value of another row does not match.
			{"another factor's value", store.SealedSecret{Table: store.SealedFactor, ID: p.ID, Sealed: a.Secret}, "v2:wrong", false},
			{"a missing server secret", store.SealedSecret{Table: store.SealedServer, ID: "missing", Sealed: pepper}, "ghost", false},
		} {
			if got, err := db.ReplaceSealedSecret(ctx(), r.s, r.sealed); err != nil || got != r.want {
				t.Errorf("ReplaceSealedSecret of %s: got (%v, %v), want (%v, nil)", r.what, got, err, r.want)
			}
		}
		if _, err := db.ReplaceSealedSecret(ctx(), store.SealedSecret{Table: "users", ID: alice.ID}, "x"); err == nil {
			t.Errorf("ReplaceSealedSecret in an unknown table: got nil error, want one")
		}

		for i, s := range want {
			switch s.ID {
			case a.ID, phone.ID, code.ID, "pepper", mailRow.ID:
				want[i].Sealed = "v2:" + s.ID
			}
		}
		all, err = db.AllSealedSecrets(ctx())
		sortSealed(all)
		checkRows(t, "AllSealedSecrets after ReplaceSealedSecret", all, err, want)
		wa, wp := a, phone
		wa.Secret, wp.Secret = "v2:"+a.ID, "v2:"+phone.ID
		got, err := db.FactorByID(ctx(), alice.ID, a.ID, base)
		checkFactor(t, "factor after ReplaceSealedSecret", got, err, wa)
		got, err = db.FactorByID(ctx(), alice.ID, phone.ID, base)
		checkFactor(t, "phone factor after ReplaceSealedSecret", got, err, wp)
		got, err = db.FactorByID(ctx(), bob.ID, b.ID, base)
		checkFactor(t, "factor after a stale ReplaceSealedSecret", got, err, b)
		got, err = db.FactorByID(ctx(), bob.ID, mail.ID, base)
		checkFactor(t, "e-mail factor (untouched)", got, err, mail)
		live, err := db.LiveSentCode(ctx(), phone.ID, base, 5)
		if err != nil || live.SealedCode != "v2:"+code.ID {
			t.Errorf("sent code after ReplaceSealedSecret: got (%+v, %v), want sealed_code v2:%s", live, err, code.ID)
		}
		if got, err := db.ServerSecret(ctx(), "pepper", func() string { return "new" }); err != nil || got != "v2:pepper" {
			t.Errorf("ServerSecret after ReplaceSealedSecret: got (%q, %v), want (v2:pepper, nil)", got, err)
		}
		queued, err := db.MailQueue(ctx(), 10)
		wm := mailRow
		wm.Sealed = "v2:" + mailRow.ID
		checkRows(t, "queued mail after ReplaceSealedSecret", queued, err, []store.Mail{wm})
		if got, err := db.ServerSecret(ctx(), "missing", func() string { return "made" }); err != nil || got != "made" {
			t.Errorf("ServerSecret after replacing a missing secret: got (%q, %v), want (made, nil)", got, err)
		}
	})
}

// ---- pending sign-ins ----

func TestPendingSignins(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-pend", "pend@example.com")
		const max = 3

		t.Run("read back and expiry", func(t *testing.T) {
			exp := at(10 * time.Minute)
			p := newPending(t, db, "p-read", u.ID, exp)
			got, err := db.PendingByTokenHash(ctx(), p.TokenHash, exp.Add(-time.Microsecond), max)
			if err != nil || !pendingEqual(got, p) {
				t.Errorf("PendingByTokenHash:\ngot  %+v, %v\nwant %+v", got, err, p)
			}
			for _, now := range []time.Time{exp, exp.Add(time.Hour)} {
				_, err := db.PendingByTokenHash(ctx(), p.TokenHash, now, max)
				wantNotFound(t, fmt.Sprintf("PendingByTokenHash at expiry%+v", now.Sub(exp)), err)
			}
			_, err = db.PendingByTokenHash(ctx(), "ph-unknown", base, max)
			wantNotFound(t, "PendingByTokenHash unknown", err)
		})

		t.Run("attempts", func(t *testing.T) {
			p := newPending(t, db, "p-fail", u.ID, at(time.Hour))
			for want := 1; want <= max; want++ {
				got, err := db.ReservePendingByToken(ctx(), p.TokenHash, base, max)
				if err != nil || got.Failures != want || got.ID != p.ID {
					t.Errorf("ReservePendingByToken #%d: got (%+v, %v), want failures %d", want, got, err, want)
				}
				got, err = db.PendingByTokenHash(ctx(), p.TokenHash, base, max)
				if want < max {
					if err != nil || got.Failures != want {
						t.Errorf("PendingByTokenHash after %d attempts: got (%+v, %v), want failures %d", want, got, err, want)
					}
				} else {
					wantNotFound(t, fmt.Sprintf("PendingByTokenHash after %d attempts (max %d)", want, max), err)
				}
			}
			_, err := db.ReservePendingByToken(ctx(), p.TokenHash, base, max)
			wantNotFound(t, "ReservePendingByToken past the last attempt", err)
			got, err := db.PendingByTokenHash(ctx(), p.TokenHash, base, 5)
			if err != nil || got.Failures != max {
				t.Errorf("PendingByTokenHash with a larger budget: got (%+v, %v), want failures %d", got, err, max)
			}
			// Attempts are per sign-in.
			other := newPending(t, db, "p-fail-other", u.ID, at(time.Hour))
			if got, err := db.ReservePendingByToken(ctx(), other.TokenHash, base, max); err != nil || got.Failures != 1 {
				t.Errorf("ReservePendingByToken of another sign-in: got (%+v, %v), want failures 1", got, err)
			}
			_, err = db.ReservePendingByToken(ctx(), "ph-nope", base, max)
			wantNotFound(t, "ReservePendingByToken of an unknown sign-in", err)
		})

		t.Run("complete once", func(t *testing.T) {
			p := newPending(t, db, "p-done", u.ID, at(time.Hour))
			if ok, err := db.CompletePending(ctx(), p.ID, at(time.Minute)); err != nil || !ok {
				t.Errorf("CompletePending: got (%v, %v), want (true, nil)", ok, err)
			}
			if ok, err := db.CompletePending(ctx(), p.ID, at(2*time.Minute)); err != nil || ok {
				t.Errorf("second CompletePending: got (%v, %v), want (false, nil)", ok, err)
			}
			_, err := db.PendingByTokenHash(ctx(), p.TokenHash, at(2*time.Minute), max)
			wantNotFound(t, "PendingByTokenHash of a finished sign-in", err)
			if ok, err := db.CompletePending(ctx(), "p-nope", at(time.Minute)); err != nil || ok {
				t.Errorf("CompletePending unknown: got (%v, %v), want (false, nil)", ok, err)
			}
		})

		t.Run("unknown user refused", func(t *testing.T) {
			err := db.CreatePending(ctx(), store.Pending{ID: "p-ghost", TokenHash: "ph-ghost", UserID: "u-nobody", CreatedAt: base, ExpiresAt: at(time.Hour)})
			if err == nil {
				t.Errorf("CreatePending for an unknown user: got nil error, want a foreign-key error")
			}
		})
	})
}

func TestCompletePendingConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-race", "race@example.com")
		p := newPending(t, db, "p-race", u.ID, at(time.Hour))
		ok := concurrently(t, 20, func(int) (bool, error) {
			return db.CompletePending(ctx(), p.ID, at(time.Minute))
		})
		if ok != 1 {
			t.Errorf("concurrent CompletePending: %d succeeded, want 1", ok)
		}
	})
}

// ---- remembered devices ----

func TestDevices(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		now := at(time.Hour)
		life := at(30 * 24 * time.Hour)

		t.Run("lookup by token", func(t *testing.T) {
			d := newDevice(t, db, "d-look", alice.ID, base, now)
			got, err := db.DeviceByTokenHash(ctx(), alice.ID, d.TokenHash, now.Add(-time.Microsecond))
			if err != nil || !deviceEqual(got, d) {
				t.Errorf("DeviceByTokenHash:\ngot  %+v, %v\nwant %+v", got, err, d)
			}
			_, err = db.DeviceByTokenHash(ctx(), bob.ID, d.TokenHash, base)
			wantNotFound(t, "DeviceByTokenHash as another user", err)
			_, err = db.DeviceByTokenHash(ctx(), alice.ID, d.TokenHash, now)
			wantNotFound(t, "DeviceByTokenHash at expiry", err)
			_, err = db.DeviceByTokenHash(ctx(), alice.ID, "dh-unknown", base)
			wantNotFound(t, "DeviceByTokenHash unknown", err)
		})

		t.Run("UseDevice slides expiry", func(t *testing.T) {
			d := newDevice(t, db, "d-use", alice.ID, base, now)
			other := newDevice(t, db, "d-use-other", alice.ID, base, now)
			use := at(50 * time.Minute)
			must(t, db.UseDevice(ctx(), d.ID, "198.51.100.7", use, at(3*time.Hour)))
			want := d
			want.LastUsedAt, want.LastIP, want.ExpiresAt = use, "198.51.100.7", at(3*time.Hour)
			got, err := db.DeviceByTokenHash(ctx(), alice.ID, d.TokenHash, at(2*time.Hour)) // past the old expiry
			if err != nil || !deviceEqual(got, want) {
				t.Errorf("after UseDevice:\ngot  %+v, %v\nwant %+v", got, err, want)
			}
			got, err = db.DeviceByTokenHash(ctx(), alice.ID, other.TokenHash, base)
			if err != nil || !deviceEqual(got, other) {
				t.Errorf("another device after UseDevice:\ngot  %+v, %v\nwant %+v", got, err, other)
			}
		})

		t.Run("list, most recently used first", func(t *testing.T) {
			u := newUser(t, db, "u-list", "list@example.com")
			a := newDevice(t, db, "d-a", u.ID, at(time.Minute), life)
			c := newDevice(t, db, "d-c", u.ID, at(3*time.Minute), life)
			b := newDevice(t, db, "d-b", u.ID, at(3*time.Minute), life) // ties with d-c: by id
			e := newDevice(t, db, "d-e", u.ID, at(2*time.Minute), life)
			newDevice(t, db, "d-expired", u.ID, at(4*time.Minute), now)
			newDevice(t, db, "d-bob", bob.ID, at(5*time.Minute), life)

			got, err := db.Devices(ctx(), u.ID, now)
			must(t, err)
			want := []store.Device{b, c, e, a}
			if !reflect.DeepEqual(deviceIDs(got), deviceIDs(want)) {
				t.Fatalf("Devices ids: got %v, want %v", deviceIDs(got), deviceIDs(want))
			}
			for i := range want {
				if !deviceEqual(got[i], want[i]) {
					t.Errorf("Devices[%d]:\ngot  %+v\nwant %+v", i, got[i], want[i])
				}
			}
			must(t, db.UseDevice(ctx(), a.ID, "192.0.2.50", at(10*time.Minute), life))
			got, err = db.Devices(ctx(), u.ID, now)
			if want := []string{"d-a", "d-b", "d-c", "d-e"}; err != nil || !reflect.DeepEqual(deviceIDs(got), want) {
				t.Errorf("Devices after UseDevice: got (%v, %v), want %v", deviceIDs(got), err, want)
			}
			none, err := db.Devices(ctx(), "u-nobody", now)
			if err != nil || len(none) != 0 {
				t.Errorf("Devices of an unknown user: got (%v, %v), want (empty, nil)", deviceIDs(none), err)
			}
		})

		t.Run("DeleteDevice", func(t *testing.T) {
			d := newDevice(t, db, "d-del", alice.ID, base, life)
			wantNotFound(t, "DeleteDevice of another user's device", db.DeleteDevice(ctx(), bob.ID, d.ID))
			if got, err := db.DeviceByTokenHash(ctx(), alice.ID, d.TokenHash, now); err != nil || !deviceEqual(got, d) {
				t.Errorf("device after another user tried to delete it:\ngot  %+v, %v\nwant %+v", got, err, d)
			}
			must(t, db.DeleteDevice(ctx(), alice.ID, d.ID))
			_, err := db.DeviceByTokenHash(ctx(), alice.ID, d.TokenHash, now)
			wantNotFound(t, "DeviceByTokenHash after DeleteDevice", err)
			wantNotFound(t, "DeleteDevice twice", db.DeleteDevice(ctx(), alice.ID, d.ID))
		})

		t.Run("DeleteDevices", func(t *testing.T) {
			u := newUser(t, db, "u-many", "many@example.com")
			newDevice(t, db, "d-m1", u.ID, base, life)
			newDevice(t, db, "d-m2", u.ID, base, life)
			newDevice(t, db, "d-m3", u.ID, base, life)
			keep := newDevice(t, db, "d-m-bob", bob.ID, base, life)
			n, err := db.DeleteDevices(ctx(), u.ID)
			if err != nil || n != 3 {
				t.Errorf("DeleteDevices: got (%d, %v), want (3, nil)", n, err)
			}
			if ds, err := db.Devices(ctx(), u.ID, now); err != nil || len(ds) != 0 {
				t.Errorf("Devices after DeleteDevices: got (%v, %v), want none", deviceIDs(ds), err)
			}
			if got, err := db.DeviceByTokenHash(ctx(), bob.ID, keep.TokenHash, now); err != nil || !deviceEqual(got, keep) {
				t.Errorf("another user's device after DeleteDevices:\ngot  %+v, %v\nwant %+v", got, err, keep)
			}
			n, err = db.DeleteDevices(ctx(), u.ID)
			if err != nil || n != 0 {
				t.Errorf("DeleteDevices with none left: got (%d, %v), want (0, nil)", n, err)
			}
		})

		t.Run("unknown user refused", func(t *testing.T) {
			err := db.CreateDevice(ctx(), store.Device{ID: "d-ghost", UserID: "u-nobody", TokenHash: "dh-ghost", CreatedAt: base, LastUsedAt: base, ExpiresAt: life, MaxExpiresAt: life})
			if err == nil {
				t.Errorf("CreateDevice for an unknown user: got nil error, want a foreign-key error")
			}
		})
	})
}

// ---- step-up on sessions ----

func TestSessionStepUp(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-step", "step@example.com")
		life := at(24 * time.Hour)

		t.Run("CreateSession round trip", func(t *testing.T) {
			s := store.Session{
				ID: "s-rt", TokenHash: "th-s-rt", UserID: u.ID, AAL: 2,
				CreatedAt: base, AuthenticatedAt: base, LastSeenAt: base, ExpiresAt: life,
				IP: "192.0.2.1", UserAgent: "agent", StepUpAt: at(time.Second), StepUpKind: "second_factor",
				AMR: []string{"pwd", "otp", "mfa"},
			}
			must(t, db.CreateSession(ctx(), s))
			got, _, err := db.SessionByTokenHash(ctx(), s.TokenHash)
			if err != nil || !sessionEqual(got, s) {
				t.Errorf("SessionByTokenHash:\ngot  %+v, %v\nwant %+v", got, err, s)
			}
			all, err := db.ActiveSessions(ctx(), u.ID, at(time.Minute), time.Hour)
			if err != nil || len(all) != 1 || !sessionEqual(all[0], s) {
				t.Errorf("ActiveSessions:\ngot  %+v, %v\nwant [%+v]", all, err, s)
			}
			// A session without a step-up or amr reads back without them.
			plain := newSession(t, db, "s-plain", u.ID, base, life)
			got, _, err = db.SessionByTokenHash(ctx(), plain.TokenHash)
			if err != nil || !sessionEqual(got, plain) || !got.StepUpAt.IsZero() || got.StepUpKind != "" || got.AMR != nil {
				t.Errorf("session without step-up:\ngot  %+v, %v\nwant %+v", got, err, plain)
			}
		})

		t.Run("MarkStepUp raises but never lowers aal, replaces amr only when given", func(t *testing.T) {
			s := store.Session{
				ID: "s-mark", TokenHash: "th-s-mark", UserID: u.ID, AAL: 1,
				CreatedAt: base, AuthenticatedAt: base, LastSeenAt: base, ExpiresAt: life,
				IP: "192.0.2.1", UserAgent: "agent", AMR: []string{"pwd"},
			}
			must(t, db.CreateSession(ctx(), s))
			other := newSession(t, db, "s-mark-other", u.ID, base, life)
			want := s
			for _, step := range []struct {
				kind         string
				aal, wantAAL int
				amr, wantAMR []string
				at           time.Duration
			}{
				{"password", 1, 1, nil, []string{"pwd"}, time.Minute},
				{"second_factor", 2, 2, []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}, 2 * time.Minute},
				{"password", 1, 2, nil, []string{"pwd", "otp", "mfa"}, 3 * time.Minute}, // a password does not lower aal 2
				{"second_factor", 2, 2, []string{}, []string{"pwd", "otp", "mfa"}, 4 * time.Minute},
				{"second_factor", 2, 2, []string{"pwd", "sms", "mfa"}, []string{"pwd", "sms", "mfa"}, 5 * time.Minute},
			} {
				must(t, db.MarkStepUp(ctx(), s.ID, step.kind, step.aal, step.amr, at(step.at)))
				want.StepUpAt, want.StepUpKind, want.AAL, want.AMR = at(step.at), step.kind, step.wantAAL, step.wantAMR
				got, _, err := db.SessionByTokenHash(ctx(), s.TokenHash)
				if err != nil || !sessionEqual(got, want) {
					t.Errorf("after MarkStepUp(%s, aal %d, amr %q):\ngot  %+v, %v\nwant %+v", step.kind, step.aal, step.amr, got, err, want)
				}
			}
			got, _, err := db.SessionByTokenHash(ctx(), other.TokenHash)
			if err != nil || !sessionEqual(got, other) {
				t.Errorf("another session after MarkStepUp:\ngot  %+v, %v\nwant %+v", got, err, other)
			}
		})
	})
}

// ---- purge ----

func TestPurgeExpiredTwoStep(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, url := openMigrated(t, engine)
			u := newUser(t, db, "u-purge", "purge@example.com")
			now := at(time.Hour)
			gone, later := now.Add(-time.Microsecond), now.Add(time.Hour)

			newPending(t, db, "p-expired", u.ID, gone)
			lp := newPending(t, db, "p-live", u.ID, later)
			newDevice(t, db, "d-expired", u.ID, base, gone)
			ld := newDevice(t, db, "d-live", u.ID, base, later)
			newPendingFactor(t, db, "f-pending-expired", u.ID, base, gone)
			lpf := newPendingFactor(t, db, "f-pending-live", u.ID, base, later)
			active := newFactor(t, db, "f-active", u.ID, base)
			// Active with a past expires_at (as written by CreateFactor): kept.
			odd := store.Factor{ID: "f-active-old-expiry", UserID: u.ID, Kind: "totp", Label: "odd", Role: "backup",
				Status: "active", Secret: "s", CreatedAt: base, ExpiresAt: gone}
			must(t, db.CreateFactor(ctx(), odd))
			// Activated from pending: its old expiry must not matter.
			activated := newPendingFactor(t, db, "f-activated", u.ID, base, at(30*time.Minute))
			must(t, db.ActivateFactor(ctx(), u.ID, activated.ID, 7, 0, at(time.Minute)))
			rc := recoveryFactor("f-rc", u.ID, base)
			must(t, db.ReplaceRecoveryCodes(ctx(), rc, []string{"h1", "h2"}))

			must(t, db.PurgeExpired(ctx(), now))

			for _, tt := range []struct {
				table, where, arg string
				want              int
			}{
				{"pending_signins", "id = ?", "p-expired", 0},
				{"pending_signins", "id = ?", "p-live", 1},
				{"devices", "id = ?", "d-expired", 0},
				{"devices", "id = ?", "d-live", 1},
				{"factors", "id = ?", "f-pending-expired", 0},
				{"factors", "id = ?", "f-pending-live", 1},
				{"factors", "id = ?", "f-active", 1},
				{"factors", "id = ?", "f-active-old-expiry", 1},
				{"factors", "id = ?", "f-activated", 1},
				{"factors", "id = ?", "f-rc", 1},
				{"recovery_codes", "factor_id = ?", "f-rc", 2},
			} {
				if got := rawCount(t, engine, url, tt.table, tt.where, tt.arg); got != tt.want {
					t.Errorf("%s rows with %s %q after purge: got %d, want %d", tt.table, tt.where, tt.arg, got, tt.want)
				}
			}
			if got, err := db.PendingByTokenHash(ctx(), lp.TokenHash, now, 5); err != nil || !pendingEqual(got, lp) {
				t.Errorf("live pending sign-in after purge:\ngot  %+v, %v\nwant %+v", got, err, lp)
			}
			if got, err := db.DeviceByTokenHash(ctx(), u.ID, ld.TokenHash, now); err != nil || !deviceEqual(got, ld) {
				t.Errorf("live device after purge:\ngot  %+v, %v\nwant %+v", got, err, ld)
			}
			fs, err := db.Factors(ctx(), u.ID, now)
			want := []string{"f-activated", "f-active", "f-active-old-expiry", "f-pending-live", "f-rc"}
			if err != nil || !reflect.DeepEqual(factorIDs(fs), want) {
				t.Errorf("Factors after purge: got (%v, %v), want %v", factorIDs(fs), err, want)
			}
			got, err := db.FactorByID(ctx(), u.ID, lpf.ID, now)
			checkFactor(t, "live pending factor after purge", got, err, lpf)
			got, err = db.FactorByID(ctx(), u.ID, active.ID, now)
			checkFactor(t, "active factor after purge", got, err, active)
		})
	}
}
