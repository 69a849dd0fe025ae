package api_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// TestHashingIsAdmittedNotQueuedForever: with one hashing slot and a
// max_wait shorter than one hash, a sign-in that finds the slot taken
// cannot be served in time, so a burst gets some 503 + Retry-After answers
// instead of an unbounded queue (and unbounded memory) — and gets them at
// once: a refusal does not wait for the slot, so at least one comes before
// the first sign-in that hashed is answered.
func TestHashingIsAdmittedNotQueuedForever(t *testing.T) {
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	// Real cost here: each hash must take long enough to overlap.
	cfg.Password.MemoryKiB, cfg.Password.Iterations = 64*1024, 3
	cfg.Password.MaxConcurrent, cfg.Password.MaxWait = 1, 1e6 // 1 ms
	srv := testenv.Start(t, cfg, app.Options{})
	e := &env{t: t, srv: srv, clock: testenv.NewClock()}

	statuses := map[int]int{}
	var answers []int // statuses in the order they came
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Eight accounts, so no per-account throttle (reserved before
			// hashing) answers first.
			email := "nobody" + strconv.Itoa(i) + "@example.com"
			r := e.call(srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": email, "password": "whatever it is"})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			answers = append(answers, r.Status)
			if r.Status == http.StatusServiceUnavailable && (r.str("code") != "busy" || r.Header.Get("Retry-After") == "") {
				t.Errorf("503 without code busy and Retry-After: %s %v", r.Body, r.Header)
			}
		}()
	}
	close(start)
	wg.Wait()
	if statuses[401]+statuses[503] != 8 || statuses[503] == 0 || statuses[401] == 0 {
		t.Fatalf("statuses = %v, want only 401 and 503, some of each", statuses)
	}
	if answers[0] != http.StatusServiceUnavailable {
		t.Errorf("answers in order = %v, want a 503 first: refused at once, not after the slot's hash", answers)
	}
}
