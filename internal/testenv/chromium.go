package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium starts a fresh headless Chromium at exe — its own profile, a
// desktop-sized window, the flags every browser test uses, plus extra —
// and returns its first tab. The tab lives timeout and 30 s more (room to
// describe the page after the caller's own deadline of timeout); all of
// it stops when the test ends.
func Chromium(t testing.TB, exe string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	opts = append(opts, extra...)
	root, cancelRoot := context.WithTimeout(context.Background(), timeout+30*time.Second)
	alloc, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	// chromedp reports protocol errors from its own goroutines, which may
	// still run after the test ended, when t.Logf would panic.
	var mu sync.Mutex
	ended := false
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("chromedp: "+format, args...)
		}
	}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelRoot()
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	return tab
}
